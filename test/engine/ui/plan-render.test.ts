// The plan's three renderings: text for people, JSON for machines, T-SQL per replica.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Plan } from '../../../engine/plan/types.js';
import { renderPlanText } from '../../../engine/ui/plan-text.js';
import { parsePlanJson, renderPlanJson } from '../../../engine/plan/json.js';
import { digestProblem, jsonPosition, planDifferences, planDigest } from '../../../engine/plan/file.js';
import { renderPlanSql } from '../../../engine/ui/plan-sql.js';
import { makeStyle } from '../../../engine/ui/style.js';

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

test('text: a literal object that only looks like a run-time value ({ unknown: true }, no from) is shown as written, as the step receives it', () => {
  const step = { ...plan.steps[0], with: { options: { unknown: true } } } as unknown as Plan['steps'][number];
  const text = renderPlanText({ ...plan, steps: [step] });
  assert.match(text, /^\s+options:\n\s+unknown: true$/m);
  assert.not.match(text, /known after apply/);
});

test('json: parses back to the same plan, plus a digest over all of it; foreign JSON is rejected with a reason', () => {
  const parsed = parsePlanJson(renderPlanJson(plan));
  assert.type(parsed, 'object');
  const { digest, ...rest } = parsed as typeof plan;
  assert.equal(rest, plan);
  assert.match(String(digest), /^sha256:[0-9a-f]{64}$/);
  assert.is(digestProblem(parsed as typeof plan), undefined);
  assert.is(digest, planDigest(plan), 'the digest does not depend on key order or layout');
  const probed: Plan & { observed: unknown } = { ...plan, observed: { fingerprint: { 'sqlServer role': 'PRIMARY' } } };
  const saved = parsePlanJson(renderPlanJson(probed)) as typeof probed;
  assert.is(digestProblem(saved), undefined, 'extra fields (a probed plan\'s observation) round-trip under the digest');
  assert.match(String(digestProblem({ ...saved, observed: { fingerprint: { 'sqlServer role': 'SECONDARY' } } } as Plan)), /does not match its content/);
  assert.match(String(digestProblem(plan)), /has no digest/);
  assert.type(parsePlanJson('{"x":1}'), 'string');
  assert.match(String(parsePlanJson('{oops')), /not valid JSON/);
  assert.match(String(parsePlanJson(JSON.stringify({ ...plan, version: 99 }))), /version 99/);
  assert.match(String(parsePlanJson(JSON.stringify({ ...plan, runbook: { ...plan.runbook, file: 42 } }))), /plan is incomplete/);
  assert.match(String(parsePlanJson(JSON.stringify({ ...plan, inputs: 'x' }))), /inputs is not an object/);
});

test('planDifferences: steps missing, added, repeated or moved, and each field that differs, in words', () => {
  const steps = plan.steps;
  assert.equal(planDifferences(plan, plan), []);
  const [first, second, ...others] = steps;
  assert.equal(planDifferences({ ...plan, steps: [first!, ...others] }, plan), [`step ${second!.id} (${second!.type}) of the runbook is missing from the plan`]);
  assert.equal(planDifferences({ ...plan, steps: [first!, second!, second!, ...others] }, plan), [`step ${second!.id} appears 2 times in the plan; the runbook has it once`]);
  assert.match(planDifferences({ ...plan, steps: [second!, first!, ...others] }, plan)[0]!, /^the steps are in another order than in the runbook \(plan: /);
  const lowered = steps.map((s) => (s.impact === 'dataLoss' ? { ...s, impact: 'change' as const } : s));
  const risky = steps.find((s) => s.impact === 'dataLoss')!;
  assert.equal(planDifferences({ ...plan, steps: lowered }, plan), [`step ${risky.id}: impact is "change" in the plan, but the runbook makes it "dataLoss"`]);
  const sql = steps.map((s) => (s.id === risky.id ? { ...s, with: { ...s.with, sql: 'SELECT 1;' } } : s));
  assert.match(planDifferences({ ...plan, steps: sql }, plan).join('\n'), new RegExp(`^step ${risky.id}: with\\.sql is "SELECT 1;" in the plan, but the runbook makes it "ALTER AVAILABILITY GROUP`));
  assert.equal(planDifferences({ ...plan, inputs: { ...plan.inputs, extra: 1 } }, plan), ['inputs.extra is 1 in the plan, but resolves to (absent)']);
});

test('jsonPosition points into a plan file however it is laid out, or at the nearest enclosing value', () => {
  const pretty = renderPlanJson(plan);
  const line = pretty.split('\n').findIndex((l) => l.includes('"direction": "toMI"')) + 1;
  assert.equal(jsonPosition(pretty, ['inputs', 'direction']), { line, column: pretty.split('\n')[line - 1]!.indexOf('"toMI"') + 1 });
  const compact = JSON.stringify({ steps: [{ id: 'a"}{' }], inputs: { x: 1, direction: 'y' } });
  assert.equal(jsonPosition(compact, ['inputs', 'direction']), { line: 1, column: compact.indexOf('"y"') + 1 });
  assert.equal(jsonPosition(compact, ['inputs', 'missing']), { line: 1, column: compact.indexOf('{"x"') + 1 });
  assert.equal(jsonPosition('{oops', ['inputs']), { line: 1, column: 1 });
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
