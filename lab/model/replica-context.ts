// What a replica's statement hooks and SQL backend need from the rest of the lab.
import type { AppLocks } from './applocks.js';
import type { LinkModel } from './link.js';
import type { Side } from './types.js';

export interface SessionMeta {
  sessionId: number;
  login: string;
  hostName: string;
  programName: string;
  /** sys.dm_exec_connections.connection_id: unique per connection, unlike a session id, which a later connection may get again. */
  connectionId: string;
  connectedAt: Date;
  /** The session's current database: the login's initial database, then whatever `USE` chose. */
  readonly database: string;
  /** sp_set_session_context values (the lock description is read from key `description`). */
  context: Map<string, string>;
}

export interface ReplicaContext {
  link: LinkModel;
  linkIndex: number;
  side: Side;
  serverName: string;
  applocks: AppLocks;
  sessions: Map<number, SessionMeta>;
  clock(): number;
  /**
   * When the request now running arrived, if it was held as a long statement (a BACKUP's start
   * time in msdb is when it was sent, its finish when it ends); undefined otherwise.
   */
  requestArrivedAt?: number;
  /**
   * A role change on these replicas of this link: ends, after the current reply is out, the
   * sessions whose current database is the link's (availability) database at this moment.
   * Sessions in master, msdb or tempdb stay, as on a real server (see lab-model.ts).
   */
  dropLinkDatabaseSessions(sides: Side[]): void;
  /** KILL: ends one session of this replica now (its app locks go at once), its socket after the reply. */
  endSession(sessionId: number): void;
}
