// The lab's own tables, as every replica shows them: lab.statement_log (what each replica received),
// lab.ledger (each link's committed and lost transactions, and its primary) and lab.applocks (who
// holds which application lock, with the holder's host, program and description).
import type { CellValue } from '../sql/contract.js';
import type { AppLockRow } from './applocks.js';
import type { LinkModel } from './link.js';
import type { StatementLogEntry } from './statement-log.js';
import type { Side } from './types.js';

type Row = Record<string, CellValue>;

export function statementLogRows(entries: StatementLogEntry[]): Row[] {
  return entries.map((e) => ({
    seq: BigInt(e.id), at: e.at, replica: e.replica, login: e.login, session_id: e.sessionId,
    statement: e.statement, error_number: e.errorNumber,
  }));
}

/** One row per link of the lab, brought up to `now` first. */
export function ledgerRows(links: LinkModel[], now: number): Row[] {
  return links.map((l) => {
    l.advance(now);
    const primaries = (['sqlServer', 'managedInstance'] as Side[]).filter((s) => l.replicas[s].role === 'PRIMARY');
    return {
      link_name: l.name, database_name: l.id.database, committed: BigInt(l.ledger.committed), lost: BigInt(l.ledger.lost),
      last_committed_lsn: l.ledger.lastCommittedLsn,
      primary_replica: primaries.map((s) => l.replicas[s].serverName).join(',') || null,
      updated_at: new Date(now),
    };
  });
}

export function labAppLockRows(locks: AppLockRow[]): Row[] {
  return locks.map((r) => ({
    replica: r.replica, database_name: r.database, resource: r.resource, lock_mode: r.holder.mode,
    session_id: r.holder.sessionId, login: r.holder.login, host_name: r.holder.hostName,
    program_name: r.holder.programName, description: r.holder.description, lock_count: r.holder.count,
    acquired_at: r.holder.acquiredAt,
  }));
}
