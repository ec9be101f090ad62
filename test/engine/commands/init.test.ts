// `runbook init [dir]` (issue 15, point 2): the shipped runbooks and a commented inventory in a
// folder the operator owns, schema lines pointing at this installation's schemas, nothing
// overwritten without --force (and then nothing written at all).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { noStack, root, runInProcess, tempDir } from '../../helpers/cli.js';

const shipped = readdirSync(join(root, 'runbooks')).filter((f) => f.endsWith('.yml')).sort();
const schemaLine = /^# yaml-language-server: \$schema=(.+)$/m;

test('init copies every shipped runbook and an inventory template, with schema lines to the installed schemas', async () => {
  const cwd = tempDir();
  const r = await runInProcess(['init', 'ops'], { cwd });
  assert.is(r.code, 0, r.stderr);
  const dir = join(cwd, 'ops');
  assert.equal(readdirSync(dir).sort(), [...shipped, 'inventory.yml'].sort());
  for (const name of [...shipped, 'inventory.yml']) {
    const text = readFileSync(join(dir, name), 'utf8');
    const schema = schemaLine.exec(text)?.[1];
    assert.ok(schema && isAbsolute(schema), `${name}: ${schema}`);
    assert.ok(existsSync(schema!), `${name}: the schema it names exists (${schema})`);
    assert.ok(schema!.startsWith(join(root, 'schemas') + '/'), `${name}: ${schema} is in the package's schemas/`);
    if (name !== 'inventory.yml') {
      // Only the schema line differs from the shipped file.
      const original = readFileSync(join(root, 'runbooks', name), 'utf8');
      assert.is(text.replace(schemaLine, ''), original.replace(schemaLine, ''), name);
    }
  }
  assert.match(readFileSync(join(dir, 'inventory.yml'), 'utf8'), /^# yaml-language-server: \$schema=.*\/schemas\/inventory\.schema\.json$/m);
  // The copies are the real thing: they validate, the template included, and plan from there.
  const valid = await runInProcess(['validate', ...readdirSync(dir).map((f) => join(dir, f))], { cwd });
  assert.is(valid.code, 0, valid.stdout + valid.stderr);
  const plan = await runInProcess(['plan', 'ops/planned-failover.yml', '-i', 'ops/inventory.yml'], { cwd });
  assert.is(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /Link: dag-sales {2}database salesdb/);
});

test('init refuses to overwrite (exit 3, nothing written) unless --force', async () => {
  const cwd = tempDir();
  writeFileSync(join(cwd, 'inventory.yml'), 'mine\n');
  const r = await runInProcess(['init'], { cwd });
  assert.is(r.code, 3, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^runbook: init: refusing to overwrite inventory\.yml in .*; nothing was written\. Use --force/);
  noStack(r.stderr);
  assert.equal(readdirSync(cwd), ['inventory.yml'], 'no runbook was copied either');
  assert.is(readFileSync(join(cwd, 'inventory.yml'), 'utf8'), 'mine\n');
  const forced = await runInProcess(['init', '--force'], { cwd });
  assert.is(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /replaced inventory\.yml/);
  assert.match(readFileSync(join(cwd, 'inventory.yml'), 'utf8'), /^# yaml-language-server/);
  assert.equal(readdirSync(cwd).sort(), [...shipped, 'inventory.yml'].sort());
});

test('init: a file where the folder should be, or two folders, is exit 2 in one line', async () => {
  const cwd = tempDir();
  writeFileSync(join(cwd, 'taken'), '');
  for (const args of [['init', 'taken'], ['init', 'a', 'b'], ['init', '--frobnicate']]) {
    const r = await runInProcess(args, { cwd });
    assert.is(r.code, 2, args.join(' '));
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    noStack(r.stderr);
  }
  assert.equal(readdirSync(cwd), ['taken']);
});

test.run();
