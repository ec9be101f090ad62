// Ctrl-C or SIGTERM of a drill (engine/drill/interrupt.ts): the runs in progress are stopped and
// their folders removed, and the drill says it was interrupted, with no verdict, exit 130 (attack
// r7drill #5: it ended silently, a run's folder left in /tmp).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { startCli, tempDir, waitFor } from '../helpers/cli.js';
import { FAST_PLANNED } from '../helpers/drill-cli.js';

test('SIGINT while runs are in progress: they stop, their folders go, "interrupted after N of M runs; no verdict", exit 130', async () => {
  // The drill's temporary folders (each run's, the certificates) land here, where the test can count them.
  const tmp = tempDir('runbook-drill-interrupt-');
  const drillFolders = () => readdirSync(tmp).filter((f) => f.startsWith('runbook-drill-'));
  const { child, done } = startCli(['drill', 'planned-failover', '--scenarios', 'healthy', '--runs', '2', '--jobs', '3', ...FAST_PLANNED], { env: { TMPDIR: tmp }, cwd: tmp, timeoutMs: 60_000 });
  // A run is in progress once its own folder exists (the certificates' is made before any run).
  await waitFor(() => drillFolders().some((f) => !f.startsWith('runbook-drill-certs-')), 45_000);
  child.kill('SIGINT');
  const r = await done;
  assert.is(r.code, 130, r.stderr);
  const planned = /^drill: (\d+) run\(s\) planned/m.exec(r.stderr)?.[1];
  assert.ok(planned, r.stderr);
  const said = new RegExp(`^drill: interrupted \\(SIGINT\\) after (\\d+) of ${planned} runs; no verdict$`, 'm').exec(r.stderr);
  assert.ok(said, r.stderr);
  assert.ok(Number(said![1]) < Number(planned));
  assert.is(r.stdout, '', 'an interrupted drill printed a verdict');
  assert.equal(drillFolders(), [], 'the interrupted drill left its folders behind');
});

test.run();
