// The boundary between the TDS protocol layer (lab/tds/) and whatever answers the SQL
// (lab/sql/ over the link model). The protocol layer knows bytes, TLS and sessions; the
// backend knows T-SQL. Neither imports the other's insides.

/** Column types the lab emits; enough for the DMVs and the runbooks' queries. */
export type SqlType =
  | { type: 'int' }
  | { type: 'bigint' }
  | { type: 'smallint' }
  | { type: 'tinyint' }
  | { type: 'bit' }
  | { type: 'float' }
  | { type: 'nvarchar'; length: number | 'max' }
  | { type: 'varbinary'; length: number | 'max' }
  | { type: 'numeric'; precision: number; scale: number }
  | { type: 'uniqueidentifier' }
  | { type: 'datetime' }
  | { type: 'datetime2'; scale: number };

export interface Column {
  name: string;
  sqlType: SqlType;
  nullable: boolean;
}

/**
 * A value in a row. numeric is given as a bigint (scale 0) or a decimal string so it is encoded
 * exactly; bigint as a bigint; uniqueidentifier as a string; datetime* as a Date.
 */
export type CellValue = null | number | bigint | string | boolean | Date | Buffer;

/** An error or message as SQL Server sends it (ERROR / INFO tokens). */
export interface SqlMessage {
  number: number;
  state: number;
  /** Severity. >= 11 is an error; <= 10 is informational. */
  class: number;
  message: string;
  /** 1-based line within the batch. */
  line: number;
  procName?: string;
}

/** One item of a reply, in order. The protocol layer turns them into tokens. */
export type ReplyItem =
  | { kind: 'rows'; columns: Column[]; rows: CellValue[][] }
  /** A statement that returned no rows; rowCount set when it affected rows. */
  | { kind: 'done'; rowCount?: number }
  | { kind: 'info'; info: SqlMessage }
  /** An error; the batch stops after it when `abortsBatch` (the usual case for class >= 16). */
  | { kind: 'error'; error: SqlMessage; abortsBatch: boolean }
  /** `USE x` changed the database (ENVCHANGE 1 + INFO 5701 are the protocol layer's job). */
  | { kind: 'database'; name: string };

/** A decoded RPC parameter (sp_executesql's user parameters). */
export interface ParamValue {
  name: string; // without '@'
  value: CellValue;
  /** The declared type name as the client sent it, e.g. `nvarchar`, `int`. */
  typeName: string;
}

export interface SqlRequest {
  kind: 'batch' | 'rpc';
  sql: string;
  params: ParamValue[];
}

/** Faults the backend can ask the protocol layer to perform instead of answering. */
export type FaultAction =
  | { kind: 'drop' } // destroy the socket without answering (connection dropped mid-query)
  | { kind: 'hang' }; // never answer (until ATTENTION or close)

export interface LoginRequest {
  user: string;
  password: string;
  database: string;
  appName: string;
  hostName: string;
  readOnlyIntent: boolean;
  /** Remote address, for the statement log. */
  clientAddress: string;
}

/** What a backend may say about the request it is running. */
export interface RunningRequest {
  /**
   * The request cannot stop part-way (a role change under way): an ATTENTION that arrives is
   * acknowledged only once the request ended (MS-TDS 2.2.1.7: the client waits for the
   * acknowledgement, which the server sends when it stopped the request).
   */
  uninterruptible(): void;
}

/**
 * Why a request's signal aborted (`signal.reason`): the client's ATTENTION, "the only way to
 * interrupt a complete request that has already been sent to the server", which the server
 * delivers to the upper layer as "a cancel indication" ([MS-TDS] 2.2.1.7 Attention, 3.3.5.9 Client
 * Request Execution State); or the connection closed under it.
 */
export const AbortedBy = { Attention: 'attention', ConnectionClosed: 'connection closed' } as const;

export interface Session {
  /** Runs one request. `signal` aborts on ATTENTION or when the connection closes (its reason: AbortedBy). Items are sent in order. */
  execute(req: SqlRequest, signal: AbortSignal, running?: RunningRequest): Promise<ReplyItem[] | FaultAction>;
  /** The socket closed (either side); session-owned state (app locks) is released here. */
  close(): void;
  /**
   * A request that reached the server and never began: the client's ATTENTION came while it still
   * waited behind another ([MS-TDS] 2.2.1.7: the server stops the requests it was sent). Only
   * noted (a statement log says it was not carried out); nothing is answered for it here.
   */
  cancelledBeforeItBegan?(req: SqlRequest): void;
  /** A TRANSACTION_MANAGER request began, committed or rolled back the session's transaction. */
  transaction?(op: 'begin' | 'commit' | 'rollback'): void;
  /**
   * The client asked for the session to be reset (the TDS header's RESETCONNECTION): back to the
   * state of a fresh login as far as the backend keeps one (database, session context, app locks),
   * the same session id.
   */
  reset?(): void;
}

export interface SqlBackend {
  /** `SERVERPROPERTY('ServerName')`; also the ERROR token's server name. */
  serverName(): string;
  /** Whether to accept a new TCP connection now ('refuse' closes it at once, 'hang' never answers). */
  acceptConnection(): 'accept' | 'refuse' | 'hang';
  /** Checks the login. Wrong password: { error: 18456 ... } without ever logging the password. */
  login(req: LoginRequest): { session: Session; database: string } | { error: SqlMessage };
}

export interface TdsServerOptions {
  host?: string; // default 127.0.0.1
  port?: number; // default 0 (pick a free port)
  /** PEM key and certificate; when absent the server answers NOT_SUP to encryption. */
  tls?: { key: string; cert: string };
  backend: SqlBackend;
}

export interface TdsServer {
  host: string;
  port: number;
  /**
   * Ends open sessions (sockets destroyed) without closing the listener: a failover does this.
   * With `which`, only logged-in sessions it selects (a role change drops the sessions that
   * existed when it happened, not the ones opened since).
   */
  dropSessions(which?: (session: Session) => boolean): void;
  /**
   * Stops or resumes listening on the same port; open sessions stay. A server that is down
   * refuses the TCP connection itself (ECONNREFUSED): accepting it and then resetting it would
   * let a client see a connection that was made and lost, which is not what "down" looks like.
   */
  setListening(listening: boolean): void;
  close(): Promise<void>;
}
