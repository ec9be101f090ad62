// The plan's three renderings: text for people, JSON for machines, T-SQL per replica.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Plan } from '../../engine/plan-types.js';
import { renderPlanText } from '../../engine/plan-render-text.js';
import { parsePlanJson, renderPlanJson } from '../../engine/plan-render-json.js';
import { renderPlanSql } from '../../engine/plan-render-sql.js';
import { makeStyle } from '../../engine/output.js';

const plan: Plan = {
  format: 'runbook-plan',
  version: 1,
  runbook: { name: 'forced-failover', description: 'Forced failover.', file: 'runbooks/forced.yml', sha256: 'a'.repeat(64) },
  inventory: { link: 'dag1', database: 'salesdb', file: 'inv.yml' },
  inputs: { direction: 'toMI' },
  steps: [
    { index: 1, id: 'roles', type: 'assertRole', plugin: false, impact: 'read', with: { exactlyOnePrimary: true }, decision: 'run', plan: { summary: 'check roles' } },
    {
      index: 2, id: 'sync', type: 'sqlExec', plugin: false, target: 'sqlServer', impact: 'change', decision: 'decided at run time',
      when: { expression: "{{eq steps.roles.outputs.primary 'sqlServer'}}", dependsOn: 'steps.roles.outputs.primary' },
      with: { sql: 'ALTER AVAILABILITY GROUP [dag1]\n  SET (ROLE = SECONDARY);' },
      plan: { summary: 'demote', sql: [{ target: 'sqlServer', text: 'ALTER AVAILABILITY GROUP [dag1]\n  SET (ROLE = SECONDARY);' }] },
    },
    {
      index: 3, id: 'old', type: 'sqlExec', plugin: false, target: 'managedInstance', impact: 'change', decision: 'skip',
      when: { expression: "{{eq inputs.direction 'toSQL'}}", rendered: 'false' },
      with: { sql: 'SELECT 1;' }, plan: { summary: 'skip me', sql: [{ target: 'managedInstance', text: 'SELECT 1;' }] },
    },
    {
      index: 4, id: 'force', type: 'sqlExec', plugin: false, target: 'managedInstance', impact: 'dataLoss', decision: 'run',
      with: { sql: 'ALTER AVAILABILITY GROUP [dag1] FORCE_FAILOVER_ALLOW_DATA_LOSS;', note: { unknown: true, from: 'steps.roles.outputs.secondary' } },
      plan: { summary: 'force failover', sql: [{ target: 'managedInstance', text: 'ALTER AVAILABILITY GROUP [dag1] FORCE_FAILOVER_ALLOW_DATA_LOSS;' }], guards: ['data loss acknowledged'] },
    },
  ],
};

test('text: numbered steps, impact marked, data loss flagged, unknowns and skips explained', () => {
  const text = renderPlanText(plan);
  assert.match(text, /^ 1\. roles  assertRole  \[read\]/m);
  assert.match(text, /^ 2\. sync  sqlExec -> sqlServer  \[change\]/m);
  assert.match(text, /^ 3\. old .*SKIPPED/m);
  assert.match(text, /skipped: when: \{\{eq inputs.direction 'toSQL'\}\} -> false/);
  assert.match(text, /decided at run time \(needs steps.roles.outputs.primary\)/);
  assert.match(text, /^ 4\. force .*\[DATA LOSS\]/m);
  assert.match(text, /!! DATA LOSS/);
  assert.match(text, /--allow-data-loss dag1/);
  assert.match(text, /guard: data loss acknowledged/);
  assert.match(text, /note: \(known after apply\) \(from steps.roles.outputs.secondary\)/);
  assert.match(text, /ALTER AVAILABILITY GROUP \[dag1\]\n\s+SET \(ROLE = SECONDARY\);/);
  assert.not.match(text, /\u001b\[/);
});

test('text: colour only when asked for', () => {
  assert.match(renderPlanText(plan, makeStyle(true)), /\u001b\[31m/);
});

test('json: parses back to the same plan; foreign JSON is rejected with a reason', () => {
  const parsed = parsePlanJson(renderPlanJson(plan));
  assert.equal(parsed, plan);
  assert.type(parsePlanJson('{"x":1}'), 'string');
  assert.match(String(parsePlanJson('{oops')), /not valid JSON/);
  assert.match(String(parsePlanJson(JSON.stringify({ ...plan, version: 99 }))), /version 99/);
});

test('sql: a script per replica with GO, comments for run-time and skipped steps', () => {
  const sql = renderPlanSql(plan);
  assert.match(sql, /-- Replica: sqlServer/);
  assert.match(sql, /-- Replica: managedInstance/);
  assert.ok(sql.indexOf('-- Replica: sqlServer') < sql.indexOf('-- Replica: managedInstance'));
  assert.match(sql, /ALTER AVAILABILITY GROUP \[dag1\] FORCE_FAILOVER_ALLOW_DATA_LOSS;\nGO/);
  assert.match(sql, /decided at run time/);
  // A run-time step's SQL is commented out so running the script cannot run it blindly.
  assert.match(sql, /-- ALTER AVAILABILITY GROUP \[dag1\]\n--   SET \(ROLE = SECONDARY\);\n-- GO/);
  assert.match(sql, /Step 3: old .* skipped/);
  assert.match(sql, /Step 1: roles .*no T-SQL on this replica/);
});

test.run();
