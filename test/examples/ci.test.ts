// examples/ci/: the GitHub Actions workflow and the Azure Pipelines definition parse as YAML, and
// every `runbook` command line in them parses with the CLI's own flag table (engine/cli/flags.ts);
// the files they name exist, the fleet inventory validates, production waits for an approval and
// every wave job uploads its journals.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { parseCommandLine } from '../../engine/cli/flags.js';
import { validateInventory } from '../../engine/validate/runbook.js';
import { root } from '../helpers/cli.js';

const dir = join(root, 'examples', 'ci');
const files = { github: join(dir, 'github-actions', 'fleet-failover.yml'), azure: join(dir, 'azure-pipelines', 'fleet-failover.yml') };

/** Every string under a key that holds shell script (GitHub `run`, Azure `script`/`bash`/`inlineScript`). */
function scripts(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => scripts(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (['run', 'script', 'bash', 'inlineScript'].includes(k) && typeof v === 'string') out.push(v);
      else scripts(v, out);
    }
  }
  return out;
}

/**
 * Shell words of one command, up to a redirection, pipe or list operator; quotes removed. A CI
 * expression (`${{ matrix.links }}`) is one word: the runner substitutes it before the shell runs.
 */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /(\$\{\{.*?\}\})|"([^"]*)"|'([^']*)'|(\|\||&&|[|;>]|2>)|([^\s"'|;>&]+)/g;
  for (const m of line.matchAll(re)) {
    if (m[4]) break;
    out.push(m[1] ?? m[2] ?? m[3] ?? m[5]!);
  }
  return out;
}

/** `runbook ...` command lines in a script: continuations joined, `npx` dropped. */
function runbookCommands(script: string): string[][] {
  const lines = script.replace(/\\\n\s*/g, ' ').split('\n');
  return lines.flatMap((line) => {
    const w = words(line.trim());
    const at = w.indexOf('runbook');
    return at >= 0 && (at === 0 || w[at - 1] === 'npx') ? [w.slice(at + 1)] : [];
  });
}

for (const [name, file] of Object.entries(files)) {
  test(`${name}: every runbook command line parses with the CLI's flag table and names files that exist`, () => {
    const doc = yaml.load(readFileSync(file, 'utf8'));
    const commands = scripts(doc).flatMap(runbookCommands);
    assert.ok(commands.length >= 3, `${name} runs status, plan and apply`);
    assert.equal([...new Set(commands.map((c) => c[0]))].sort(), ['apply', 'plan', 'status']);
    for (const argv of commands) {
      const parsed = parseCommandLine(argv);
      assert.not.ok('error' in parsed, `${argv.join(' ')}: ${'error' in parsed ? parsed.error : ''}`);
      if ('error' in parsed) continue;
      for (const p of [...parsed.args.positionals, parsed.args.flags.inventory]) {
        if (typeof p === 'string' && /\.ya?ml$/.test(p)) assert.ok(existsSync(join(root, p)), `${p} exists`);
      }
      if (parsed.command === 'apply') {
        assert.ok(parsed.args.flags.links !== undefined, 'a wave per matrix job: --links');
        assert.is(parsed.args.flags.format, 'json');
        assert.ok(parsed.args.flags.yes, 'CI has no terminal: --yes');
      }
    }
  });
}

test('the checker itself: a wrong flag or a second runbook is an error', () => {
  assert.ok('error' in parseCommandLine(['apply', 'a.yml', '--paralel', '3']));
  assert.ok('error' in parseCommandLine(['plan', 'a.yml', 'b.yml']));
  assert.ok('error' in parseCommandLine(['status', '-i']));
  assert.not.ok('error' in parseCommandLine(['apply', 'a.yml', '-i', 'f.yml', '--all', '--parallel', '5']));
  assert.equal(runbookCommands('npx runbook status -i f.yml --format json > s.json || test $? -eq 1'), [['status', '-i', 'f.yml', '--format', 'json']]);
});

test('the approval gate and the journals: GitHub waits on the production environment, Azure on a manual validation; both upload .runbook', () => {
  const gh = yaml.load(readFileSync(files.github, 'utf8')) as { jobs: Record<string, { environment?: string; steps: Array<{ uses?: string; if?: string; with?: { path?: string } }> }> };
  assert.is(gh.jobs.failover!.environment, 'production');
  const upload = gh.jobs.failover!.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'));
  assert.is(upload?.if, 'always()');
  assert.match(upload!.with!.path!, '.runbook/runs/');
  const az = readFileSync(files.azure, 'utf8');
  assert.match(az, 'task: ManualValidation@1');
  assert.match(az, /dependsOn: Approve/);
  assert.match(az, /targetPath: \.runbook/);
  assert.equal(validateInventory(join(dir, 'fleet.yml')).diagnostics, []);
});

test.run();
