// ctx.impact: a step whose impact is a function of its arguments is told, in plan() and run(),
// what this use resolved to (through the real CLI, with a test-only step type as a plugin).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, runCli, tempDir } from '../../helpers/cli.js';

const inventory = fixture('inventory.yml');

test('plan shows each use with the impact it resolved to', async () => {
  const dir = tempDir();
  const r = await runCli(['plan', fixture('impact.yml'), '-i', inventory, '--set', `out=${join(dir, 'out')}`], { cwd: dir });
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /weigh as change/);
  assert.match(r.stdout, /weigh as dataLoss/);
});

test('apply runs each use with the impact it resolved to', async () => {
  const dir = tempDir();
  const out = join(dir, 'out');
  const r = await runCli(['apply', fixture('impact.yml'), '-i', inventory, '--set', `out=${out}`, '--allow-data-loss', 'dag-test', '--yes'], { cwd: dir });
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(readFileSync(out, 'utf8'), 'soft: change\nhard: dataLoss\n');
});

test('the same step is a change when the input says so at run time', async () => {
  const dir = tempDir();
  const out = join(dir, 'out');
  const r = await runCli(['apply', fixture('impact.yml'), '-i', inventory, '--set', `out=${out}`, '--set', 'force=false', '--yes'], { cwd: dir });
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(readFileSync(out, 'utf8'), 'soft: change\nhard: change\n');
});

test.run();
