// The plan's three renderings: text for people, JSON for machines, T-SQL per replica.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Plan } from '../../../engine/plan/types.js';
import { renderPlanText } from '../../../engine/ui/plan-text.js';
import { parsePlanJson, renderPlanJson } from '../../../engine/plan/json.js';
import { digestProblem, jsonPosition, planDifferences, planDigest } from '../../../engine/plan/file.js';
import { renderPlanSql, sqlReplicas } from '../../../engine/ui/plan-sql.js';
import { closingLine, planVerdict } from '../../../engine/plan/verdict.js';
import { makeStyle, plainStyle } from '../../../engine/ui/style.js';

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

test('text --full: numbered steps, impact marked, data loss flagged, unknowns and skips explained', () => {
  const text = renderPlanText(plan, plainStyle, { full: true });
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

test('text, compact (the default): one line per step with impact, target and summary, then the closing line', () => {
  const text = renderPlanText(plan);
  const lines = text.split('\n');
  const steps = lines.filter((l) => /^ \d\. /.test(l));
  assert.equal(steps, [
    ' 1. roles  assertRole                  [read]       check roles',
    ' 2. sync   sqlExec -> sqlServer        [change]     (decided at run time) demote: ALTER AVAILABILITY GROUP [dag1] ...',
    " 3. old    sqlExec -> managedInstance  [change]     SKIPPED (when: {{eq inputs.direction 'toSQL'}} -> false)",
    ' 4. force  sqlExec -> managedInstance  [DATA LOSS]  force failover: ALTER AVAILABILITY GROUP [dag1] FORCE_FAILOVER_ALLOW_DATA_LOSS;',
  ]);
  assert.not.match(text, /with:|guard:/, 'arguments and guards are for --full');
  assert.match(text, /^Plan: 1 change, 1 data-loss step, 1 read \(1 skipped, 1 decided at run time\)\.$/m);
  assert.match(text, /^!! 1 data-loss step\(s\): force\. Apply needs --allow-data-loss dag1/m);
  // On a terminal, a line is cut to its width rather than wrapped.
  const narrow = renderPlanText(plan, plainStyle, { width: 72 }).split('\n').filter((l) => /^ \d\. /.test(l));
  assert.ok(narrow.every((l) => l.length <= 72), narrow.join('\n'));
  assert.match(narrow[3]!, /\.\.\.$/);
  // Too narrow for columns to leave the summary room: each step on its own lines, what it does
  // broken between words on up to two, nothing past the width.
  const stacked = renderPlanText(plan, plainStyle, { width: 40 }).split('\n');
  const force = stacked.indexOf(' 4. force  sqlExec -> ma...  [DATA LOSS]');
  assert.ok(force >= 0, stacked.join('\n'));
  assert.equal(stacked.slice(force + 1, force + 3), ['    force failover: ALTER AVAILABILITY', '    GROUP [dag1] FORCE_FAILOVER_ALLOW...']);
  const rows = stacked.slice(stacked.indexOf(' 1. roles  assertRole  [read]'), force + 3);
  assert.is(rows.length, 11, rows.join('\n'));
  assert.ok(rows.every((l) => l.length <= 40), rows.join('\n'));
});

test('the closing line says where the run is already known to stop, and counts data loss decided at run time', () => {
  const refusing: Plan = {
    ...plan,
    steps: [
      plan.steps[0]!,
      { ...plan.steps[0]!, index: 2, id: 'version', type: 'assert', plan: { summary: 'check', guards: ['Needs SQL Server 2022 CU13 (16.0.4125) or later'], refusal: 'SQL Server is older than 2022 CU13 (16.0.4125), so the link cannot fail over with T-SQL and nothing was changed. Use break-link.yml.' } },
      { ...plan.steps[3]!, index: 3, impact: 'change', runTimeImpacts: ['dataLoss'] },
    ],
  };
  const v = planVerdict(refusing);
  assert.equal({ changes: v.changes, dataLoss: v.dataLoss, dataLossAtRunTime: v.dataLossAtRunTime, reads: v.reads, exitCode: v.exitCode }, { changes: 0, dataLoss: 0, dataLossAtRunTime: 1, reads: 2, exitCode: 3 });
  assert.is(closingLine(v), 'Plan: 0 changes, 0 data-loss steps, 1 step with data loss decided at run time, 2 reads; will refuse at step 2 (SQL Server is older than 2022 CU13 (16.0.4125)).');
  const text = renderPlanText(refusing);
  assert.match(text, /^ 2\. version .*\(REFUSES\)/m);
  assert.match(text, /^ 3\. force .*\(data loss decided at run time\)/m);
  assert.match(text, /Step 2 \(version\) would refuse: SQL Server is older .* Use break-link\.yml\./);
  assert.match(renderPlanText(refusing, plainStyle, { full: true }), /!! Whether this step can lose data is decided at run time/);
  // A refusal in a step that may not run (decided at run time, skipped) decides nothing.
  const maybe: Plan = { ...refusing, steps: refusing.steps.map((s) => (s.id === 'version' ? { ...s, decision: 'decided at run time' as const } : s)) };
  assert.is(planVerdict(maybe).stop, undefined);
  assert.is(planVerdict(maybe).exitCode, 2, 'changes');
  const readsOnly: Plan = { ...plan, steps: [plan.steps[0]!, plan.steps[2]!] };
  assert.is(planVerdict(readsOnly).exitCode, 0, 'a read and a skipped change: nothing to change');
});

test('text: colour only when asked for', () => {
  assert.match(renderPlanText(plan, makeStyle(true)), /\u001b\[31m/);
});

test('text: a literal object that only looks like a run-time value ({ unknown: true }, no from) is shown as written, as the step receives it', () => {
  const step = { ...plan.steps[0], with: { options: { unknown: true } } } as unknown as Plan['steps'][number];
  const text = renderPlanText({ ...plan, steps: [step] }, plainStyle, { full: true });
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

test('sql: one replica\'s script, only its own steps, GO after each batch, run-time steps commented out', () => {
  const mi = renderPlanSql(plan, 'managedInstance');
  assert.match(mi, /^-- T-SQL for managedInstance/m);
  assert.match(mi, /ALTER AVAILABILITY GROUP \[dag1\] FORCE_FAILOVER_ALLOW_DATA_LOSS;\nGO/);
  assert.match(mi, /Step 3: old .* skipped/);
  assert.not.match(mi, /Step 1: roles|Step 2: sync|SET \(ROLE = SECONDARY\)/, 'no other replica\'s step');
  assert.match(mi, /Other replicas have scripts of their own \(--replica <name>\): sqlServer \(step 2\)\./);
  const sql = renderPlanSql(plan, 'sqlServer');
  // A run-time step's SQL is commented out so running the script cannot run it blindly.
  assert.match(sql, /decided at run time/);
  assert.match(sql, /-- ALTER AVAILABILITY GROUP \[dag1\]\n--   SET \(ROLE = SECONDARY\);\n-- GO/);
  assert.not.match(sql, /FORCE_FAILOVER/);
  assert.equal(sqlReplicas(plan), ['sqlServer', 'managedInstance'], 'the skipped step\'s replica counts only through the steps that may run');
});

test('sql: each batch declares the parameters it reads; a value known after apply is a placeholder and the script says it cannot run as is', () => {
  const withParams: Plan = {
    ...plan,
    steps: [
      {
        index: 1, id: 'q', type: 'sqlExec', plugin: false, target: 'sqlServer', impact: 'read', decision: 'run', with: {},
        plan: { summary: 'read', sql: [{ target: 'sqlServer', text: "SELECT @name AS n, '@count' AS not_a_variable;\nGO\nSELECT @count AS c, @flag AS f, @ratio AS r, @none AS z, @big AS b -- @name in a comment\nGO 2", params: { name: "it's\nGO", count: 3, flag: true, ratio: 0.5, none: null, big: 2 ** 40 } }] },
      },
    ],
  };
  const script = renderPlanSql(withParams, 'sqlServer');
  assert.match(script, /DECLARE @name nvarchar\(max\) = \(N'it''s' \+ NCHAR\(10\) \+ N'GO'\);\nSELECT @name AS n, '@count' AS not_a_variable;\nGO\n/);
  assert.match(script, /DECLARE @count int = 3;\nDECLARE @flag bit = 1;\nDECLARE @ratio float = 0\.5;\nDECLARE @none nvarchar\(max\) = NULL;\nDECLARE @big bigint = 1099511627776;\nSELECT @count AS c/);
  assert.match(script, /\nGO 2\n/);
  assert.not.match(script, /NOEXEC|cannot run as is/);
  assert.is(script.match(/DECLARE @name /g)!.length, 1, 'declared only in the batch that reads it');

  const later: Plan = { ...withParams, steps: [{ ...withParams.steps[0]!, plan: { summary: 'read', sql: [{ target: 'sqlServer', text: 'SELECT @primary AS p;', params: { primary: { unknown: true, from: 'steps.before.outputs.primary' } } }] } }] };
  const waiting = renderPlanSql(later, 'sqlServer');
  assert.match(waiting, /!! This script cannot run as is: @primary of step 1 \(q\) is only known after apply/);
  assert.match(waiting, /^SET NOEXEC ON;\nGO$/m);
  assert.match(waiting, /DECLARE @primary nvarchar\(max\) = <known after apply: steps\.before\.outputs\.primary>;/);
  assert.ok(waiting.indexOf('SET NOEXEC ON') < waiting.indexOf('DECLARE @primary'), 'NOEXEC comes before any batch');
});

test.run();
