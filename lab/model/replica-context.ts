// What a replica's statement hooks and SQL backend need from the rest of the lab.
import type { AppLocks } from './applocks.js';
import type { LinkModel } from './link.js';
import type { Side } from './types.js';

export interface SessionMeta {
  sessionId: number;
  login: string;
  hostName: string;
  programName: string;
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
  /** Ends the TDS sessions of these replicas of this link, after the current reply is out. */
  dropSessions(sides: Side[]): void;
}
