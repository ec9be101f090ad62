// The server-wide DMVs a runbook's lock check reads, as one replica shows them: its connections
// (sys.dm_exec_connections) and its application locks (sys.dm_tran_locks). Only what the lab knows
// is filled; the other documented columns are NULL or a constant.
//
// MicrosoftDocs/sql-docs, sys-dm-exec-connections-transact-sql.md: one row per connection, with
// session_id and connection_id ("Identifies each connection uniquely"); parent_connection_id is
// set only for a MARS session's logical connections, which the lab has none of.
// sys-dm-tran-locks-transact-sql.md: one row per lock request; an application lock is
// resource_type APPLICATION, resource_database_id the database it was taken in, and
// resource_description `<DbPrincipalId>:<upto 32 characters>:(<hash_value>)` ("up to 32
// characters from the resource string ... The hash value represents a hash of the full resource
// string"). The lab writes the 32 characters in brackets, `0:[runbook:link:dag1]:(1a2b3c4d)`, as
// servers show them; the principal is always public (0): the lab checks no @DbPrincipal.
// request_mode is the abbreviation (X for Exclusive), request_status GRANTED (the lab never
// queues a request: a lock held elsewhere is refused at once), request_owner_type SESSION (the
// lab grants no transaction-owned app locks).
import { createHash } from 'node:crypto';
import type { CellValue } from '../sql/contract.js';
import type { AppLockRow, LockMode } from './applocks.js';
import type { SessionMeta } from './replica-context.js';

type Row = Record<string, CellValue>;

const MODE_ABBREVIATION: Record<LockMode, string> = { Shared: 'S', Update: 'U', IntentShared: 'IS', IntentExclusive: 'IX', Exclusive: 'X' };

/** System databases' ids as every SQL Server numbers them. */
const SYSTEM_DATABASE_IDS: Record<string, number> = { master: 1, tempdb: 2, model: 3, msdb: 4 };

export function connectionRows(sessions: Iterable<SessionMeta>): Row[] {
  return [...sessions].map((s) => ({
    session_id: s.sessionId, most_recent_session_id: s.sessionId, connect_time: s.connectedAt, net_transport: 'TCP',
    protocol_type: 'TSQL', encrypt_option: 'TRUE', auth_scheme: 'SQL', client_net_address: '127.0.0.1',
    connection_id: s.connectionId, parent_connection_id: null,
  }));
}

/** `userDatabaseId`: the id of a user database by name (the link's), for locks taken there. */
export function appLockRows(locks: AppLockRow[], serverName: string, userDatabaseId: (name: string) => number | null): Row[] {
  return locks
    .filter((l) => l.replica === serverName)
    .map((l) => ({
      resource_type: 'APPLICATION', resource_subtype: null,
      resource_database_id: SYSTEM_DATABASE_IDS[l.database.toLowerCase()] ?? userDatabaseId(l.database),
      resource_description: appLockDescription(l.resource), resource_associated_entity_id: 0, resource_lock_partition: 0,
      request_mode: MODE_ABBREVIATION[l.holder.mode], request_type: 'LOCK', request_status: 'GRANTED',
      request_reference_count: l.holder.count, request_session_id: l.holder.sessionId, request_owner_type: 'SESSION',
    }));
}

function appLockDescription(resource: string): string {
  const hash = createHash('sha1').update(resource).digest('hex').slice(0, 8);
  return `0:[${resource.slice(0, 32)}]:(${hash})`;
}
