// The lab keeps no undo log, so nothing it carries out inside a user transaction may be something
// SQL Server would undo on ROLLBACK (lab/sql/transaction-rules.ts): the statements that change the
// link are refused inside a transaction with SQL Server's numbers, whether the transaction was
// begun in T-SQL or by the protocol's transaction request (mssql's Transaction); XACT_ABORT ON
// ends the transaction on a run-time error; IMPLICIT_TRANSACTIONS ON is refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sql from 'mssql';
import { startLab, type Lab } from '../../lab/index.js';
import { connect, errorNumber, linkRole, run } from '../helpers/lab.js';

let lab: Lab;
let pool: sql.ConnectionPool;
test.before(async () => {
  lab = await startLab({ scenario: 'healthy' });
  pool = await connect(lab, 'sqlServer');
});
test.after(async () => {
  await pool.close();
  await lab.stop();
});

const backups = () => lab.link().backups.filter((b) => b.side === 'sqlServer').length;
const trancount = async () => (await run(pool, 'SELECT @@TRANCOUNT AS n'))[0]![0]!.n;

test('inside BEGIN TRAN: BACKUP 3021, ALTER AVAILABILITY GROUP 574, ALTER DATABASE 226, KILL 6115; none acts; ROLLBACK ends it', async () => {
  const before = backups();
  const refused: Array<[string, number]> = [
    ["BACKUP LOG [SalesDb] TO DISK = N'/var/opt/mssql/backup/in_tran.trn'", 3021],
    ['ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY)', 574],
    ['ALTER DATABASE [SalesDb] SET HADR OFF', 226],
    ['KILL 99', 6115],
  ];
  for (const [statement, number] of refused) {
    assert.is(await errorNumber(pool, `BEGIN TRAN; ${statement}`), number, statement);
    assert.is(await trancount(), 1, 'the transaction stays open after the refusal');
    await run(pool, 'ROLLBACK');
  }
  assert.is(backups(), before, 'no backup');
  assert.is(await linkRole(pool), 'PRIMARY', 'no demotion');
  // Outside a transaction the same BACKUP runs.
  await run(pool, "BACKUP LOG [SalesDb] TO DISK = N'/var/opt/mssql/backup/no_tran.trn'");
  assert.is(backups(), before + 1);
});

test("mssql's Transaction (the protocol's transaction request) counts: @@TRANCOUNT 1, BACKUP refused with 3021, nothing backed up", async () => {
  const before = backups();
  const tx = new sql.Transaction(pool);
  await tx.begin();
  try {
    assert.is((await tx.request().query('SELECT @@TRANCOUNT AS n')).recordset[0].n, 1);
    const err = await tx.request().query("BACKUP LOG [SalesDb] TO DISK = N'/var/opt/mssql/backup/tm.trn'").then(() => undefined, (e: sql.RequestError) => e);
    assert.is((err?.originalError as { info?: { number?: number } } | undefined)?.info?.number ?? err?.number, 3021);
  } finally {
    await tx.rollback();
  }
  assert.is(await trancount(), 0);
  assert.is(backups(), before);
});

test('SET XACT_ABORT ON: a run-time error ends the transaction and the batch; RAISERROR does not; OFF again keeps it open', async () => {
  assert.is(await errorNumber(pool, "SET XACT_ABORT ON; BEGIN TRAN; EXEC no_such_procedure; SELECT 1 AS after_it"), 2812);
  assert.is(await trancount(), 0, 'rolled back');
  assert.is(await errorNumber(pool, "BEGIN TRAN; RAISERROR('mine', 16, 1)"), 50000);
  assert.is(await trancount(), 1, 'RAISERROR does not honour XACT_ABORT');
  await run(pool, 'ROLLBACK; SET XACT_ABORT OFF');
  assert.is(await errorNumber(pool, 'BEGIN TRAN; EXEC no_such_procedure'), 2812);
  assert.is(await trancount(), 1);
  await run(pool, 'ROLLBACK');
});

test('SET IMPLICIT_TRANSACTIONS ON is refused (the lab does not open a transaction per statement); OFF is accepted', async () => {
  assert.is(await errorNumber(pool, 'SET IMPLICIT_TRANSACTIONS ON'), 50000);
  await run(pool, 'SET IMPLICIT_TRANSACTIONS OFF');
  assert.is(await trancount(), 0);
});

test.run();
