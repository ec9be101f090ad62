// The command line itself: help, version, flag errors, colour, validate and plan output.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, noStack, root, runCli, tempDir } from '../../helpers/cli.js';
import { parseArgs } from '../../../engine/cli/args.js';
import { LINK_API_VERSION } from '../../../engine/drivers/arm/link-ids.js';

const inventory = fixture('inventory.yml');

test('--help and --version', async () => {
  const help = await runCli(['--help']);
  assert.is(help.code, 0);
  for (const cmd of ['validate', 'plan', 'apply', 'list-steps', 'lab up']) assert.match(help.stdout, new RegExp(`runbook ${cmd}`));
  const version = await runCli(['--version']);
  assert.is(version.code, 0);
  assert.is(version.stdout.split('\n')[0], JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version, 'the first line is the bare version');
  for (const cmd of ['validate', 'plan', 'apply', 'list-steps', 'lab']) {
    const r = await runCli([cmd, '--help']);
    assert.is(r.code, 0, cmd);
    assert.match(r.stdout, /^Usage: runbook /, cmd);
  }
  const none = await runCli([]);
  assert.is(none.code, 2);
});

test('--version: Node, the drivers as installed, and the ARM api-version the driver sends', async () => {
  const r = await runCli(['--version']);
  assert.is(r.code, 0, r.stderr);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const installed = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version as string;
  const modules = join(root, 'node_modules');
  assert.match(r.stdout, new RegExp(`^${pkg.name} ${pkg.version} \\(`, 'm'));
  const rows: Array<[string, string]> = [
    ['node', process.versions.node],
    ['mssql', installed(join(modules, 'mssql'))],
    // tedious as mssql loads it: its own copy if it has one.
    ['tedious', installed(existsSync(join(modules, 'mssql', 'node_modules', 'tedious')) ? join(modules, 'mssql', 'node_modules', 'tedious') : join(modules, 'tedious'))],
    ['@azure/arm-sql', installed(join(modules, '@azure', 'arm-sql'))],
    ['@azure/identity', installed(join(modules, '@azure', 'identity'))],
    ['ARM api-version', LINK_API_VERSION],
  ];
  for (const [name, value] of rows) assert.match(r.stdout, new RegExp(`^  ${name.replace(/[/@]/g, '\\$&')} +${value.replace(/\./g, '\\.')}$`, 'm'), `${name} ${value}\n${r.stdout}`);
});

test('package.json: the runbook bin is the built CLI, Node 20 or later, a fresh clone\'s npm start and npm pack build', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.is(pkg.bin.runbook, 'dist/engine/cli/bin.js');
  assert.match(readFileSync(join(root, pkg.bin.runbook), 'utf8'), /^#!\/usr\/bin\/env node\n/);
  assert.is(pkg.engines.node, '>=20');
  assert.is(pkg.type, 'module');
  // Not \`prepare\`: a tarball's prepare is an install script under npm's allowScripts policy (README "Install it for real").
  assert.is(pkg.scripts.prepare, undefined);
  assert.match(pkg.scripts.prepack, /npm run build/);
  // A fresh clone's `npm start` builds first; one with dist/ does not rebuild (the suite runs npm start while other tests use dist/).
  assert.match(pkg.scripts.prestart, /existsSync\('dist\/engine\/cli\/bin\.js'\).*\|\| npm run build$/);
  assert.match(pkg.scripts.build, /tsc -p tsconfig.json/);
  assert.match(pkg.scripts.test, /build.*dist\/test\/run\.js/);
  assert.ok(JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')).compilerOptions.strict);
});

test('unknown flags, missing values, unknown commands: one plain line, exit 2', async () => {
  for (const args of [
    ['plan', fixture('flow.yml'), '-i', inventory, '--frobnicate'],
    ['plan', fixture('flow.yml'), '-i'],
    ['apply', fixture('flow.yml'), '-i', inventory, '--allow-data-loss'],
    ['plan', fixture('flow.yml'), '-i', inventory, '--format', 'yaml'],
    ['plan', fixture('flow.yml'), '-i', inventory, '--lab'],
    ['plan', fixture('flow.yml')],
    ['frobnicate'],
    ['validate'],
    ['validate', '--frobnicate', fixture('flow.yml')],
    ['apply', fixture('flow.yml'), '-i', inventory, '--frobnicate'],
    ['apply', fixture('flow.yml'), '-i', inventory, '--yes=please'],
    ['list-steps', '--frobnicate'],
    ['lab', 'up', '--frobnicate'],
  ]) {
    const r = await runCli(args);
    assert.is(r.code, 2, args.join(' '));
    assert.is(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^runbook: /);
    noStack(r.stderr);
  }
  for (const cmd of ['plan', 'apply', 'validate', 'list-steps']) {
    const r = await runCli(cmd === 'list-steps' ? [cmd, '--frobnicate'] : [cmd, '--frobnicate', fixture('flow.yml')]);
    assert.match(r.stderr, new RegExp(`^runbook: ${cmd}: unknown option --frobnicate`), cmd);
  }
});

test('the argument parser: --lab with and without a scenario, --flag=value, repeats', () => {
  const specs = { lab: { kind: 'optional' as const }, set: { kind: 'repeat' as const }, inventory: { kind: 'string' as const, short: 'i' } };
  assert.equal(parseArgs('plan', ['rb.yml', '--lab'], specs, 1).flags.lab, true);
  assert.equal(parseArgs('plan', ['--lab', 'rb.yml'], specs, 1), { positionals: ['rb.yml'], flags: { lab: true } });
  assert.equal(parseArgs('plan', ['--lab', 'lagging', 'rb.yml'], specs, 1), { positionals: ['rb.yml'], flags: { lab: 'lagging' } });
  assert.equal(parseArgs('plan', ['rb.yml', '--lab', 'scenario.yml'], specs, 1).flags.lab, 'scenario.yml');
  assert.equal(parseArgs('plan', ['rb.yml', '--lab=x.yml'], specs, 1).flags.lab, 'x.yml');
  assert.equal(parseArgs('plan', ['--set', 'a=1', '--set=b=2', '-i', 'inv.yml', 'rb.yml'], specs, 1).flags, { set: ['a=1', 'b=2'], inventory: 'inv.yml' });
});

test('validate: exit 0 for good files, 2 with file:line:col for bad ones, json on request', async () => {
  const ok = await runCli(['validate', fixture('flow.yml'), inventory]);
  assert.is(ok.code, 0, ok.stderr);
  const dir = tempDir();
  const bad = join(dir, 'bad.yml');
  writeFileSync(bad, 'name: bad\ndescription: x\nsteps:\n  - id: a\n    type: nosuchstep\n    with: {}\n');
  const r = await runCli(['validate', bad]);
  assert.is(r.code, 2);
  assert.match(r.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:\\d+`));
  noStack(r.stderr);
  const json = await runCli(['validate', bad, '--format', 'json']);
  assert.is(json.code, 2);
  const diags = JSON.parse(json.stdout);
  assert.ok(Array.isArray(diags) ? diags.length > 0 : diags.diagnostics.length > 0);
});

test('plan: text by default, json and sql on request, --out writes the plan', async () => {
  const text = await runCli(['plan', fixture('flow.yml'), '-i', inventory, '--full']);
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, /\(known after apply\)/);
  assert.match(text.stdout, /^ 1\. first  echo \(plugin\)  \[read\]$/m, 'plugin step types are marked in the text plan');
  const compact = await runCli(['plan', fixture('flow.yml'), '-i', inventory]);
  assert.match(compact.stdout, /^ 1\. first +echo \(plugin\) +\[read\] +\S/m, 'and in the compact one');
  const json = await runCli(['plan', fixture('flow.yml'), '-i', inventory, '--format', 'json']);
  const plan = JSON.parse(json.stdout);
  assert.is(plan.format, 'runbook-plan');
  assert.is(plan.steps.length, 5);
  assert.is(plan.steps[0].plugin, true);
  const sql = await runCli(['plan', fixture('builtins.yml'), '-i', inventory, '--format', 'sql', '--replica', 'primary']);
  assert.match(sql.stdout, /ALTER AVAILABILITY GROUP \[dag-test\] FAILOVER;\nGO/);
  const dir = tempDir();
  const out = join(dir, 'plan.json');
  const saved = await runCli(['plan', fixture('flow.yml'), '-i', inventory, '--out', out]);
  assert.is(saved.code, 0);
  assert.equal(JSON.parse(readFileSync(out, 'utf8')), plan);
});

test('NO_COLOR and no TTY: no escape codes anywhere', async () => {
  for (const env of [{ NO_COLOR: '1' }, { NO_COLOR: undefined, FORCE_COLOR: '1' }]) {
    const r = await runCli(['plan', fixture('danger.yml'), '-i', inventory, '--set', 'trace=/dev/null'], { env });
    assert.is(r.code, 0);
    assert.match(r.stdout, /DATA LOSS/);
    assert.not.match(r.stdout + r.stderr, /\u001b\[/);
  }
});

test('list-steps: every registered type, as text and JSON', async () => {
  const r = await runCli(['list-steps', '--format', 'json']);
  assert.is(r.code, 0, r.stderr);
  const steps = JSON.parse(r.stdout) as Array<{ type: string; with: unknown[]; impact: string }>;
  const { stepModules } = await import('../../../steps/index.js');
  assert.equal(steps.map((s) => s.type), Object.keys(stepModules));
  const text = await runCli(['list-steps']);
  for (const s of steps) assert.match(text.stdout, new RegExp(`^${s.type} `, 'm'));
  // The with: fields come from each type's schema, with their descriptions.
  const { loadAllBuiltins } = await import('../../../engine/step-api/registry.js');
  for (const def of await loadAllBuiltins(stepModules)) {
    const listed = steps.find((s) => s.type === def.type) as unknown as { description: string; with: Array<{ name: string; description: string; required?: boolean }> };
    const props = (def.with.properties ?? {}) as Record<string, { description?: string }>;
    assert.equal(listed.with.map((w) => w.name), Object.keys(props), def.type);
    for (const w of listed.with) {
      assert.is(w.description, props[w.name]!.description, `${def.type}.${w.name}`);
      assert.is(w.required === true, ((def.with.required as string[] | undefined) ?? []).includes(w.name), `${def.type}.${w.name} required`);
      assert.match(text.stdout, new RegExp(`^    ${w.name}\\??: `, 'm'));
    }
    assert.is(listed.description, def.description);
  }
  // Defaults come from the definitions' `defaults`.
  const wait = steps.find((s) => s.type === 'waitLsnStable') as unknown as { with: Array<{ name: string; default?: unknown }> };
  assert.equal(wait.with.map((w) => [w.name, w.default]), [['demoted', undefined], ['stableFor', '30s'], ['pollInterval', '1s'], ['timeout', '10m']]);
  assert.match(text.stdout, /^    stableFor\?: string \(default "30s"\) {2}How long the LSNs must stay equal/m);
});

test.run();
