import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OutcomeUnknown } from '../../engine/core/errors.js';
import { checkExpectation, expectationText } from '../../engine/drivers/sql/results.js';
import { StepFailure } from '../../engine/core/errors.js';
import { startLab, type Lab } from '../../lab/index.js';
import sqlExec from '../../steps/sqlExec.js';
import { definitelyNotApplied } from '../../engine/core/errors.js';
import { rejection, stepHarness, type StepHarness } from '../helpers/steps.js';
import { stepTester, unknown } from '../helpers/step-tester.js';

let lab: Lab;
let h: StepHarness;

test.before(async () => {
  lab = await startLab({ scenario: 'healthy' });
  h = stepHarness(lab.inventory, lab.env);
});
test.after(async () => {
  await h?.close();
  await lab?.stop();
});

const statementsOn = (side: string, since: number) =>
  lab.statements().filter((s) => s.side === side && s.id > since).map((s) => s.statement);
const lastId = () => lab.statements().at(-1)?.id ?? 0;

stepTester.run(sqlExec, {
  valid: [
    { with: { sql: 'ALTER AVAILABILITY GROUP {{ident link.name}} FAILOVER;', impact: 'change', verify: 'SELECT 1 AS done' }, target: 'primary' },
    { with: { sql: 'SELECT name FROM sys.databases WHERE name = @db;', params: { db: 'SalesDb' }, impact: 'read', expect: { rows: 1, column: 'name', equals: 'SalesDb' } }, target: 'sqlServer' },
    { with: { sql: 'USE master\nGO\nSELECT 1;\nGO 2', impact: 'change', verifyTarget: 'managedInstance' }, target: 'secondary' },
  ],
  invalid: [
    { name: 'no target', with: { sql: 'SELECT 1', impact: 'read' }, target: undefined, errors: [{ code: 'target-required', message: 'needs a `target:`' }] },
    // No impact: the author's to say; the message says what the scanner makes of the SQL.
    { name: 'no impact, a plain SELECT', with: { sql: 'SELECT 1' }, errors: [{ code: 'missing-required', path: '/with', message: 'probably `impact: read`' }] },
    { name: 'no impact, a change', with: { sql: 'DROP AVAILABILITY GROUP [dag1]' }, errors: [{ code: 'missing-required', path: '/with', message: 'not a plain read: `impact: change`' }] },
    { with: { sql: 'SELECT 1', impact: 'maybe' }, errors: [{ code: 'bad-enum', path: '/with/impact' }] },
    { with: { sql: 'SELECT 1', impact: 'read', expect: { column: 'x' } }, errors: [{ code: 'bad-value', path: '/with/expect', message: 'equals' }] },
    { with: { sql: 'SELECT 1', impact: 'read', params: { '1bad': 1 } }, errors: [{ code: 'bad-value', path: '/with/params/1bad' }] },
    { with: { sql: '', impact: 'change' }, errors: [{ code: 'bad-value', path: '/with/sql' }] },
  ],
  plan: [
    {
      name: 'the full SQL for its target, the batch count, parameters and the expectation',
      with: { sql: 'USE master\nGO\nALTER AVAILABILITY GROUP [dag1] FAILOVER;\nGO 2', params: { db: 'SalesDb' }, expect: { rows: 1 } },
      target: 'primary',
      impact: 'change',
      summary: 'Run 3 batches of T-SQL on primary with @db',
      sql: [{ target: 'primary', text: 'USE master\nGO\nALTER AVAILABILITY GROUP [dag1] FAILOVER;\nGO 2', params: { db: 'SalesDb' } }],
      guards: [/^apply sends each batch behind the run's lock check \(THROW 59317 .*\), at the head of the batch$/, 'First result set has exactly 1 row'],
    },
    {
      name: 'a script known only after apply',
      with: { sql: unknown('steps.x.outputs.sql') },
      target: 'sqlServer',
      summary: 'Run T-SQL on sqlServer',
      sql: [{ target: 'sqlServer', text: '(known after apply)', params: null }],
    },
    {
      name: 'parameters known only after apply are not shown as values',
      with: { sql: 'SELECT name FROM sys.databases WHERE name = @db;', params: unknown('steps.x.outputs.params'), impact: 'read' },
      target: 'sqlServer',
      sql: [{ target: 'sqlServer', text: 'SELECT name FROM sys.databases WHERE name = @db;', params: null }],
    },
  ],
  impact: [
    { with: { sql: 'x' }, impact: 'change' },
    { with: { sql: 'x', impact: 'read' }, impact: 'read' },
    { with: { sql: 'x', impact: 'dataLoss' }, impact: 'dataLoss' },
  ],
});

test('a target is required; the impact is the runbook\'s to declare', () => {
  assert.is(sqlExec.target, 'required');
  assert.type(sqlExec.impact, 'function');
});

test('the first result set becomes rows, rowCount and first; parameters reach the server', async () => {
  const out = await h.run(
    sqlExec,
    { sql: 'SELECT name, database_id FROM sys.databases WHERE name = @db OR name = @other ORDER BY database_id;', params: { db: lab.inventory.link.database, other: 'master' }, impact: 'read' },
    { target: 'primary' },
  );
  assert.is(out.replica, 'sqlServer');
  assert.is(out.rowCount, 2);
  assert.equal(out.first, { name: 'master', database_id: 1 });
  assert.equal((out.rows as Array<{ name: string }>).map((r) => r.name), ['master', lab.inventory.link.database]);
});

test('GO splits batches (GO 2 runs one twice); a variable does not survive GO', async () => {
  const since = lastId();
  const out = await h.run(sqlExec, { sql: 'SELECT 1 AS a;\ngo 2\nSELECT 2 AS b; -- second\nGO -- end', impact: 'read' }, { target: 'managedInstance' });
  assert.equal(out.first, { a: 1 });
  const seen = statementsOn('managedInstance', since).filter((s) => /^SELECT [12] AS/.test(s));
  assert.equal(seen, ['SELECT 1 AS a', 'SELECT 1 AS a', 'SELECT 2 AS b']);
  const error = await rejection(() => h.run(sqlExec, { sql: 'DECLARE @x int = 1;\nGO\nSELECT @x AS x;' }, { target: 'sqlServer' }));
  assert.instance(error, StepFailure);
  assert.is(error.messageId, 'sqlError');
  assert.is((error.data as { number: number }).number, 137);
  assert.is((error.data as { line: number }).line, 3);
});

test('a SQL error gives number, state, severity and the line in the whole script, with the text around it', async () => {
  const sql = ['USE master;', 'GO', 'SELECT 1 AS one;', '', 'SELECT * FROM dbo.no_such_table;', 'SELECT 3;'].join('\n');
  const error = await rejection(() => h.run(sqlExec, { sql }, { target: 'secondary' }));
  assert.instance(error, StepFailure);
  assert.equal(error.data, { number: 208, state: 1, severity: 16, side: 'managedInstance', line: 5, error: "Invalid object name 'dbo.no_such_table'" });
  const [headline, ...context] = error.message.split('\n');
  assert.is(headline, "SQL error 208 (state 1, severity 16) on managedInstance at line 5 of the script: Invalid object name 'dbo.no_such_table'.");
  assert.equal(context, ['  3 | SELECT 1 AS one;', '  4 | ', '> 5 | SELECT * FROM dbo.no_such_table;', '  6 | SELECT 3;']);
  assert.is(error.batchesCompleted, 1);
});

// USE is not a plain SELECT, so these scripts are not declared `impact: read` (a read must be one).
test('the batches of one script share a session (USE holds for the next batch)', async () => {
  const out = await h.run(sqlExec, { sql: `USE ${lab.inventory.link.database};\nGO\nSELECT DB_NAME() AS db;` }, { target: 'sqlServer' });
  assert.equal(out.first, { db: lab.inventory.link.database });
  await h.run(sqlExec, { sql: 'USE master;' }, { target: 'sqlServer' });
});

test('expect passes when the first result set matches', async () => {
  const out = await h.run(
    sqlExec,
    { sql: 'SELECT name FROM sys.databases WHERE name = @db;', params: { db: lab.inventory.link.database }, impact: 'read', expect: { rows: 1, column: 'name', equals: lab.inventory.link.database } },
    { target: 'sqlServer' },
  );
  assert.is(out.rowCount, 1);
});

test('expect failures say what was expected and what came back', async () => {
  const run = (expect: object, sql = "SELECT name FROM sys.databases WHERE name = 'master';") =>
    rejection(() => h.run(sqlExec, { sql, ...(/^SELECT/.test(sql) ? { impact: 'read' as const } : {}), expect }, { target: 'sqlServer' }));
  let e = await run({ rows: 2 });
  assert.is(e.message, 'Expected 2 rows in the first result set, got 1.');
  e = await run({ column: 'name', equals: 'msdb' });
  assert.is(e.message, "Expected name = 'msdb' in the first row, got 'master'.");
  e = await run({ empty: true });
  assert.is(e.messageId, 'expectEmpty');
  e = await run({ column: 'nope', equals: 1 });
  assert.is(e.message, 'Expected a column nope in the first row; its columns are name.');
  e = await run({ empty: false }, "SELECT name FROM sys.databases WHERE name = 'nothing';");
  assert.is(e.message, 'Expected at least one row in the first result set, got none.');
  e = await run({ rows: 0 }, 'USE master;');
  assert.is(e.message, 'Expected a result set to check, but the script returned none.');
});

test('expectations are pure: bit and 0/1 agree, NULL only equals null', () => {
  const set = { columns: ['ok', 'v'], rows: [{ ok: true, v: null }] };
  assert.is(checkExpectation({ column: 'ok', equals: 1 }, set), undefined);
  assert.is(checkExpectation({ column: 'v', equals: null }, set), undefined);
  assert.equal(checkExpectation({ column: 'v', equals: 'x' }, set), { id: 'expectEquals', data: { column: 'v', expected: "'x'", actual: 'NULL' } });
  assert.is(expectationText({ empty: false, column: 'role', equals: 'PRIMARY' }), "First result set has at least one row and role = 'PRIMARY' in the first row");
});

test('r5conn-4: a change script that leaves a transaction open fails its step, and the transaction is rolled back on its own session', async () => {
  const e = await rejection(() => h.run(sqlExec, { sql: 'BEGIN TRANSACTION;\nSELECT 1 AS inside;', impact: 'change' }, { target: 'sqlServer' }));
  assert.match(e.message, /^The script left 1 transaction\(s\) open on sqlServer at its end; it was rolled back/);
  assert.is(definitelyNotApplied(e), false, 'what it did outside the transaction may have taken effect');
  // The run's one session (a single run keeps it for the next step) holds no transaction now.
  const after = await h.run(sqlExec, { sql: 'SELECT @@TRANCOUNT AS open_transactions;', impact: 'read' }, { target: 'sqlServer' });
  assert.equal(after.first, { open_transactions: 0 });
  // A script that commits what it begins passes.
  await h.run(sqlExec, { sql: 'BEGIN TRANSACTION;\nSELECT 1 AS inside;\nCOMMIT TRANSACTION;', impact: 'change' }, { target: 'sqlServer' });
});

test('a bad GO count fails before anything is sent', async () => {
  const since = lastId();
  const e = await rejection(() => h.run(sqlExec, { sql: 'SELECT 1;\nGO 0' }, { target: 'sqlServer' }));
  assert.is(e.message, "Cannot split the script into batches: Line 2: GO takes a positive count, got '0'.");
  assert.equal(statementsOn('sqlServer', since), []);
});

test('verify: a plain read answers done/not-done; a verify that is not a plain read is never sent', async () => {
  const ctx = h.context({ stepId: 'v', target: 'sqlServer' });
  assert.is(await sqlExec.verify!(ctx, { sql: 'x', verify: "SELECT CASE WHEN N'--' = N'--' THEN 1 ELSE 0 END AS done" }), 'done');
  assert.is(await sqlExec.verify!(ctx, { sql: 'x', verify: 'SELECT 0 AS done' }), 'not-done');
  const since = lastId();
  const e = await rejection(() => sqlExec.verify!(ctx, { sql: 'x', verify: "SELECT '--' AS done; DELETE FROM msdb.dbo.backupset" }));
  assert.match(e.message, /^the verify query of v was not sent: it is not a plain read \(it contains DELETE/);
  assert.equal(statementsOn('sqlServer', since), []);
});

test('a change step that loses its connection mid-batch reports an unknown outcome', async () => {
  const faulty = await startLab({
    scenario: 'healthy',
    overrides: { faults: [{ kind: 'dropConnection', replica: 'sqlServer', match: 'lab_marker', nth: 1, count: 1 }] },
  });
  const fh = stepHarness(faulty.inventory, faulty.env);
  try {
    const error = await rejection(() => fh.run(sqlExec, { sql: "SELECT 'lab_marker' AS m;" }, { target: 'sqlServer' }));
    assert.instance(error, OutcomeUnknown);
    assert.match(error.message, /^The connection to sqlServer was lost during batch 1 of 1, so whether it took effect is unknown/);
    // The same run can go on: the pool reconnects.
    const out = await fh.run(sqlExec, { sql: 'SELECT 1 AS ok;', impact: 'read' }, { target: 'sqlServer' });
    assert.equal(out.first, { ok: 1 });
  } finally {
    await fh.close();
    await faulty.stop();
  }
});

test("request timeouts: a read keeps the connection's (requestTimeoutMs), a change has none of the driver's, with.requestTimeout sets one", async () => {
  // Each batch holding lab_slow takes 1.5 s; the connection's request timeout is 400 ms.
  const slow = await startLab({ scenario: 'healthy', overrides: { faults: [{ kind: 'slow', replica: 'sqlServer', match: 'lab_slow', delayMs: 1500 }] } });
  const connection = { ...slow.inventory.link.sqlServer.connection, requestTimeoutMs: 400 };
  const inventory = { ...slow.inventory, link: { ...slow.inventory.link, sqlServer: { ...slow.inventory.link.sqlServer, connection } } };
  const sh = stepHarness(inventory, slow.env);
  try {
    const read = await rejection(() => sh.run(sqlExec, { sql: "SELECT 'lab_slow' AS m;", impact: 'read' }, { target: 'sqlServer' }));
    assert.match(read.message, /Timeout: Request failed to complete in 400ms/);

    // A change runs to its end: cancelling a BACKUP or FAILOVER mid-way is worse than waiting.
    const started = Date.now();
    const change = await sh.run(sqlExec, { sql: "SELECT 'lab_slow' AS m;" }, { target: 'sqlServer' });
    assert.equal(change.first, { m: 'lab_slow' });
    assert.ok(Date.now() - started >= 1400, `took ${Date.now() - started} ms`);

    // Unless the runbook gives it a limit of its own.
    const limited = await rejection(() => sh.run(sqlExec, { sql: "SELECT 'lab_slow' AS m;", requestTimeout: '300ms' }, { target: 'sqlServer' }));
    assert.match(limited.message, /Timeout: Request failed to complete in 300ms/);
    // And a read may be given a longer one.
    const longRead = await sh.run(sqlExec, { sql: "SELECT 'lab_slow' AS m;", impact: 'read', requestTimeout: '5s' }, { target: 'sqlServer' });
    assert.equal(longRead.first, { m: 'lab_slow' });
  } finally {
    await sh.close();
    await slow.stop();
  }
});

test.run();
