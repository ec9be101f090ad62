// sqlExec with `params:` sends each batch as its own sp_executesql call, and on SQL Server a USE or a
// SET option there lasts only to the end of that call (MicrosoftDocs/sql-docs: sp-executesql-
// transact-sql.md, set-statements-transact-sql.md). A script relying on one carrying to a later
// batch is refused: at validate (file:line:col, exit 2) and, once rendered, at apply (nothing sent).
// The lab follows the documentation: the session is back in its database after the call.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reservedSqlProblems } from '../../engine/drivers/sql/change-sql-rules.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { connect, run } from '../helpers/lab.js';
import { ChildLab } from '../helpers/child-runs.js';

test('with params, a USE or SET option in a batch before the last is a problem at its line and column; in the last batch, without params, SET NOCOUNT and SET @variable are not', () => {
  const script = ['USE [SalesDb];', 'GO', '  SET NOCOUNT ON; set xact_abort on;', 'DECLARE @x int; SET @x = 1;', 'GO', 'USE [SalesDb]; UPDATE t SET a = @a;'].join('\n');
  const found = reservedSqlProblems(script, true, true);
  assert.equal(found.map((p) => [p.line, p.column]), [[1, 1], [3, 19]]);
  assert.match(found[0]!.message, /^USE would not reach the batches after this one: with `params:` each batch is sent as its own sp_executesql call/);
  assert.match(found[1]!.message, /^SET XACT_ABORT would not reach/);
  assert.equal(reservedSqlProblems(script, true, false), [], 'plain batches keep their session context');
  assert.equal(reservedSqlProblems('USE [SalesDb]; UPDATE t SET a = @a;', true, true), [], 'one batch: the USE holds for its own call');
});

test('with params, EXECUTE AS, EXEC AS, SETUSER and REVERT in a batch before the last are problems too; in the last batch they are not (attack r6safety finding 7)', () => {
  const script = ["EXECUTE AS USER = 'limited';", 'GO', "exec as login = 'x'; SETUSER 'y';", 'GO', 'REVERT;', 'GO', "EXECUTE AS USER = 'limited'; UPDATE t SET a = @a; REVERT;"].join('\n');
  const found = reservedSqlProblems(script, true, true);
  assert.equal(found.map((p) => [p.line, p.column, p.message.split(' may not')[0]]), [[1, 1, 'EXECUTE AS'], [3, 1, 'EXEC AS'], [3, 22, 'SETUSER'], [5, 1, 'REVERT']]);
  assert.equal(reservedSqlProblems(script, true, false), []);
  assert.equal(reservedSqlProblems("EXEC dbo.p @as = 1;\nGO\nSELECT 1", true, true), [], 'EXEC of a procedure is not EXECUTE AS');
});

/** A runbook of one sqlExec change step with `params: { note: ready }` and `sql` (lines under `sql:` or a scalar); returns its path. */
function paramsRunbook(file: string, sql: string[], head: string[] = []): string {
  const lines = ['name: params-context', 'description: Built by a test.', ...head, 'steps:', '  - id: mark', '    type: sqlExec', '    target: sqlServer', '    with:', '      impact: change', '      params: { note: ready }'];
  writeFileSync(file, [...lines, ...sql, ''].join('\n'));
  return file;
}

test('validate refuses such a script at file:line:col (exit 2); apply refuses one rendered from an input, nothing sent (exit 3)', async () => {
  const dir = tempDir('runbook-params-context-');
  const file = paramsRunbook(join(dir, 'params-use.yml'), ['      sql: |', '        USE [SalesDb];', '        GO', '        UPDATE dbo.Orders SET note = @note;']);
  const r = await runCli(['validate', file]);
  assert.is(r.code, 2, r.stdout + r.stderr);
  const errors = r.stderr.split('\n').filter((l) => l.includes('reserved-sql'));
  assert.equal(errors.map((l) => l.split(': error')[0]), [`${file}:11:9`], r.stderr);
  assert.match(errors[0]!, /Step `mark`: USE would not reach the batches after this one/);

  const lab = await ChildLab.start();
  try {
    const rendered = paramsRunbook(join(lab.dir, 'rendered.yml'), ['      sql: "USE {{ident inputs.db}};\\nGO\\nSELECT @note AS note_seen;"'], ['inputs:', '  db: { type: string, default: SalesDb, description: a database }']);
    const a = await lab.apply(rendered).done;
    const out = a.stdout + a.stderr;
    assert.is(a.code, 3, out);
    assert.match(out, /Refused to run the script: line 1, column 1: USE would not reach the batches after this one/);
    assert.is(lab.count(/note_seen/), 0, 'nothing sent');
  } finally {
    await lab.stop();
  }
});

test('the lab: a USE inside sp_executesql lasts only to the end of that call; in a plain batch it stays', async () => {
  const lab = await ChildLab.start();
  const pool = await connect(lab.lab, 'sqlServer');
  try {
    const inside = await pool.request().input('x', 1).query('USE [SalesDb]; SELECT DB_NAME() AS db, @x AS x;');
    assert.is(inside.recordset[0]!.db, 'SalesDb');
    const [[after]] = await run(pool, 'SELECT DB_NAME() AS db;');
    // Old lab: SalesDb, as if the call's USE had been the session's.
    assert.is(after!.db, 'master', 'back in the login\'s database after the call');
    await run(pool, 'USE [SalesDb];');
    const [[stays]] = await run(pool, 'SELECT DB_NAME() AS db;');
    assert.is(stays!.db, 'SalesDb');
  } finally {
    await pool.close().catch(() => undefined);
    await lab.stop();
  }
});

test.run();
