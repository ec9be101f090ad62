// ctx.impact: a step whose impact is a function of its arguments is told, in plan() and run(),
// what this use resolved to (through the real CLI, with a test-only step type as a plugin).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { fixture, runCli, tempDir } from '../../helpers/cli.js';
import { planImpact } from '../../../engine/step-api/impact.js';
import sqlExec from '../../../steps/sqlExec.js';
import armSetRole from '../../../steps/armSetRole.js';

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

const later = (from: string) => ({ unknown: true, from });

test('planImpact: an impact function that reads an argument known only at run time may still be dataLoss', () => {
  assert.equal(planImpact(sqlExec, { sql: 'SELECT 1', impact: later('steps.q.outputs.first.impact') }, []), { impact: 'change', dataLossAtRunTime: true });
  // Known arguments, or an unknown the function never reads, decide it now.
  assert.equal(planImpact(sqlExec, { sql: 'SELECT 1', impact: 'read' }, []), { impact: 'read', dataLossAtRunTime: false });
  assert.equal(planImpact(sqlExec, { sql: later('inputs.sql'), impact: 'change' }, []), { impact: 'change', dataLossAtRunTime: false });
  assert.equal(planImpact(sqlExec, { sql: 'SELECT 1' }, []), { impact: 'change', dataLossAtRunTime: false });
  // Already dataLoss: nothing more to decide; a fixed impact never rests on arguments.
  assert.equal(planImpact(armSetRole, { instanceRole: later('inputs.role'), roleChangeType: 'Forced' }, []), { impact: 'dataLoss', dataLossAtRunTime: false });
  assert.equal(planImpact({ impact: 'change' }, { x: later('inputs.x') }, []), { impact: 'change', dataLossAtRunTime: false });
  // Read through `in`, Object.keys, or inside a nested value: still an unknown it depends on.
  assert.equal(planImpact({ impact: (a) => ('force' in a ? 'change' : 'read') }, { force: later('inputs.f') }, []), { impact: 'change', dataLossAtRunTime: true });
  assert.equal(planImpact({ impact: (a) => (Object.keys(a).length ? 'change' : 'read') }, { opts: { force: later('inputs.f') } }, []), { impact: 'change', dataLossAtRunTime: true });
  assert.equal(planImpact({ impact: (a) => (String(a.opts) ? 'change' : 'read') }, { opts: [1, later('inputs.f')] }, []), { impact: 'change', dataLossAtRunTime: true });
});

test('plan shows a step whose data loss is decided at run time as such, not as a change, in its label and its totals', async () => {
  const dir = tempDir();
  const file = join(dir, 'runtime-impact.yml');
  writeFileSync(file, `name: runtime-impact
description: The second step's impact is what the first reads.
inputs: {}
steps:
  - id: q
    type: sqlExec
    target: sqlServer
    with:
      impact: read
      sql: SELECT N'dataLoss' AS impact;
  - id: force
    type: sqlExec
    target: sqlServer
    with:
      impact: "{{steps.q.outputs.first.impact}}"
      sql: ALTER AVAILABILITY GROUP {{ident link.name}} FORCE_FAILOVER_ALLOW_DATA_LOSS;
`);
  const r = await runCli(['plan', file, '--lab'], { cwd: dir });
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, / 2\. force  sqlExec -> sqlServer  \[change; data loss decided at run time\]\n {6}!! DATA LOSS DECIDED AT RUN TIME: /);
  assert.match(r.stdout, /\n2 steps: 1 read, 0 change, 0 data loss, 1 data loss decided at run time; 0 skipped, 0 decided at run time\.\n/);
  assert.match(r.stdout, /!! 1 step\(s\) whose data loss is decided at run time: force\. Apply refuses any that turns out data loss unless given --allow-data-loss dag1\./);
  const sql = await runCli(['plan', file, '--lab', '--format', 'sql'], { cwd: dir });
  assert.match(sql.stdout, /Step 2: force \(sqlExec, change; data loss decided at run time\)/);
  const json = await runCli(['plan', file, '--lab', '--format', 'json'], { cwd: dir });
  const steps = (JSON.parse(json.stdout) as { steps: Array<Record<string, unknown>> }).steps;
  assert.equal(steps.map((s) => s.dataLossAtRunTime), [undefined, true]);
});

test.run();
