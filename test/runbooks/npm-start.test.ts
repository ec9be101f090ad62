// `npm start` (after a build) is the product's main job on its default: a planned failover of the
// embedded lab's link to the managed instance, with the summary naming where applications go now.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { root, tempDir } from '../helpers/cli.js';

test('the start script is the planned failover against the embedded lab', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.start, /^node dist\/engine\/cli\/bin\.js apply runbooks\/planned-failover\.yml --lab --yes\b/);
});

test('npm start: exit 0, the roles swapped, and the summary names the new primary and its endpoint', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', RUNBOOK_JOURNAL_DIR: tempDir('runbook-start-') };
  delete env.CI;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const child = spawn(npm, ['start', '--silent'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.is(code, 0, out);
  const summary = out.slice(out.indexOf('Summary of run'));
  assert.match(summary, /ok\s+\d+\. failover\s+sqlExec \[change\]/);
  assert.match(summary, /ok\s+\d+\. after\s+assertRole \[read\]/);
  assert.match(summary, /Attention:\n(.*\n)*\s+repoint-applications: .*Point the applications at sqlmi1\.lab\.database\.windows\.net \(managed instance sqlmi1, now the primary of link dag1\)/);
  assert.match(out, /Roles of link dag1: sqlServer says SECONDARY; managedInstance says PRIMARY\./);
  assert.match(summary, /Exit 0: done/);
});

test.run();
