// What the lab's engine does about transactions beyond counting them. The lab keeps no undo log:
// instead, nothing it carries out inside a user transaction is something SQL Server would undo on
// ROLLBACK, so a rolled-back change can never be read as applied.
//  - The statements that change the link refuse to run inside a transaction, as SQL Server's do:
//    "The BACKUP statement is not allowed in an explicit or implicit transaction" (sql-docs,
//    relational-databases/backup-restore/create-a-full-database-backup-sql-server.md, Limitations
//    and Restrictions), error 3021; ALTER DATABASE "must run in auto-commit mode ... and is not
//    allowed in an explicit or implicit transaction" (t-sql/statements/alter-database-transact-sql.md),
//    error 226; CREATE/ALTER/DROP AVAILABILITY GROUP "cannot be executed within transactions"
//    (database-engine/availability-groups/windows/transact-sql-statements-for-always-on-
//    availability-groups.md, Restrictions), here error 574 "%ls statement cannot be used inside a
//    user transaction" (the errors page names no number of its own for them); KILL, error 6115
//    "KILL command cannot be used inside user transactions" (database-engine-events-and-errors).
//  - What else the lab changes is not transactional on SQL Server either: session-owned app locks
//    ("released when the session is logged out", sp-getapplock-transact-sql.md) and the session
//    context (sp_set_session_context; the sources are silent, and a description is all the lab
//    keeps there). Transaction-owned app locks are never granted (-999), so none is held to release.
//  - SET XACT_ABORT ON: "if a Transact-SQL statement raises a run-time error, the entire
//    transaction is terminated and rolled back"; compile errors are not affected
//    (t-sql/statements/set-xact-abort-transact-sql.md). With nothing to undo, the rollback is
//    @@TRANCOUNT back to 0, and the batch ends.
//  - SET IMPLICIT_TRANSACTIONS ON is refused: the lab does not open a transaction on each
//    statement, and a BACKUP it let through would be one SQL Server refuses.
import { SqlError } from './contract.js';

const REFUSED: Array<{ test: RegExp; error: (verb: string) => SqlError }> = [
  { test: /^\s*BACKUP\s+(DATABASE|LOG)\b/i, error: () => new SqlError(3021, 'Cannot perform a backup or restore operation within a transaction.') },
  { test: /^\s*ALTER\s+DATABASE\b/i, error: () => new SqlError(226, 'ALTER DATABASE statement not allowed within multi-statement transaction.') },
  { test: /^\s*(CREATE|ALTER|DROP)\s+AVAILABILITY\s+GROUP\b/i, error: (verb) => new SqlError(574, `${verb} statement cannot be used inside a user transaction.`) },
  { test: /^\s*KILL\b/i, error: () => new SqlError(6115, 'KILL command cannot be used inside user transactions.') },
];

/** The error SQL Server answers `statement` with inside a user transaction, if it refuses it there. */
export function refusedInTransaction(statement: string): SqlError | undefined {
  for (const rule of REFUSED) {
    const m = rule.test.exec(statement);
    if (m) return rule.error(m[0].trim().toUpperCase().replace(/\s+/g, ' '));
  }
  return undefined;
}
