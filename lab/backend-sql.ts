// The SqlBackend of one replica: logins checked against the lab's throwaway password, sessions
// that log every statement, apply scenario faults and run the batch on the lab's T-SQL engine
// with the link model's hooks and tables.
import { AbortedBy, type LoginRequest, type ReplyItem, type RunningRequest, type Session, type SqlBackend, type SqlMessage, type SqlRequest, type FaultAction } from './tds/contract.js';
import { SqlError, type CellValue, type SessionInfo, type SqlEngine, type SqlEngineOptions, type StatementHook } from './sql/contract.js';
import { appLockHook } from './model/applock-statements.js';
import { backupHook } from './model/backup-statements.js';
import { hadrHook } from './model/hadr-statements.js';
import { killHook } from './model/kill-statement.js';
import type { LabModel } from './model/lab-model.js';
import type { NotCarriedOut, StatementLogEntry } from './model/statement-log.js';
import type { Side } from './model/types.js';
import { serverIdentity } from './server-identity.js';
import { sourceText, tokenize } from './sql/lexer.js';
import { splitStatements } from './sql/batch.js';
import { firstThatKnows, notThisDatabase, notThisGroup } from './shared-server-hooks.js';
import { randomUUID } from 'node:crypto';

export type EngineFactory = (opts: SqlEngineOptions) => SqlEngine & { forgetSession?(sessionId: number): void };

export interface ReplicaBackendOptions {
  model: LabModel;
  /** The link whose replica this is; with `linkIndexes`, the first of them. */
  linkIndex: number;
  /**
   * A server holding several links' replicas (a fleet lab): statements about a group or database
   * go to the link that has it, the tables show them all. Faults, holds and the statement log's
   * `link` column are the first link's.
   */
  linkIndexes?: number[];
  side: Side;
  user: string;
  password: string;
  createEngine: EngineFactory;
  /**
   * A session id freed by a session's end is given to the next session (the most recently freed
   * first), as SQL Server gives session ids again, instead of a new one each time: what a client
   * that names a session by its id alone gets wrong shows.
   */
  reuseSessionIds?: boolean;
}

export interface ReplicaBackend extends SqlBackend {
  close(): void;
}

const FIRST_SESSION_ID = 51;

interface LoggedStatement {
  line: number;
  entry: StatementLogEntry;
}

export function createReplicaBackend(o: ReplicaBackendOptions): ReplicaBackend {
  const { model, linkIndex, side } = o;
  const link = model.links[linkIndex];
  const indexes = o.linkIndexes ?? [linkIndex];
  const contexts = indexes.map((i) => model.replicaContext(i, side));
  const rc = contexts[0]!;
  const replica = link.replicas[side];
  const identity = serverIdentity(side, replica.serverName, link.id.sqlVersion);
  let nextSessionId = FIRST_SESSION_ID;
  const newSessionId = (): number => (o.reuseSessionIds ? model.reusableSessionId(linkIndex, side) : undefined) ?? nextSessionId++;
  /** Statements seen by the logging hook during the current request (engine calls are synchronous). */
  let current: { session: SessionInfo; entries: LoggedStatement[] } | undefined;

  const logHook: StatementHook = (text, ctx) => {
    if (current) {
      const entry = model.statementLog.append({
        at: new Date(model.clock()), link: link.name, replica: replica.serverName, side,
        login: ctx.session.login, sessionId: ctx.session.sessionId, statement: text, errorNumber: null,
      });
      current.entries.push({ line: ctx.line, entry });
    }
    return undefined;
  };

  // A view this server's login may not read (model.denyViews): error 300, as SQL Server answers a
  // login without VIEW SERVER STATE (SQL Server 2022 and later: VIEW SERVER PERFORMANCE STATE).
  const permissionHook: StatementHook = (text) => {
    const denied = model.deniedViewsOf(linkIndex, side).find((view) => text.toLowerCase().includes(view));
    if (denied) throw new SqlError(300, "VIEW SERVER STATE permission was denied on object 'server', database 'master'.", 1, 14);
    return undefined;
  };

  const databaseNames = indexes.map((i) => model.links[i]!.id.database);
  /** The names a statement about each link would carry (its groups, its database), lower case. */
  const namesOf = indexes.map((i) => {
    const id = model.links[i]!.id;
    return [id.name, id.agName, id.miAgName, id.database].map((n) => n.toLowerCase());
  });
  const engine = o.createEngine({
    serverName: replica.serverName,
    versionText: identity.versionText,
    serverProperties: identity.properties,
    utcOffsetMinutes: side === 'managedInstance' ? link.scenario.managedInstance.utcOffsetMinutes : 0,
    // A link's database name is part of its identity: fixed for the lab's life (one array, which the engine's answers may be kept by).
    databases: () => databaseNames,
    tables: (wanted) => model.serverTables(indexes, side, wanted),
    version: () => model.version(),
    versionOf: (table) => model.versionOf(table),
    tableParts: (table) => model.tableParts(indexes, side, table),
    hooks: [logHook, permissionHook, firstThatKnows(contexts.map(hadrHook), notThisGroup, namesOf), firstThatKnows(contexts.map(backupHook), notThisDatabase, namesOf), appLockHook(rc), killHook(rc)],
  });

  const isDown = () => model.faults.downState(linkIndex, side, model.clock()) !== 'up';

  return {
    serverName: () => replica.serverName,
    acceptConnection() {
      const state = model.faults.downState(linkIndex, side, model.clock());
      return state === 'up' ? 'accept' : state;
    },
    login(req: LoginRequest) {
      if (req.user.toLowerCase() !== o.user.toLowerCase() || req.password !== o.password) {
        return { error: loginFailed(req.user) };
      }
      const database = req.database || 'master';
      const known = ['master', 'msdb', 'tempdb', ...indexes.map((i) => model.links[i]!.id.database.toLowerCase())];
      if (!known.includes(database.toLowerCase())) {
        return { error: { number: 4060, state: 1, class: 11, line: 1, message: `Cannot open database "${database}" requested by the login. The login failed.` } };
      }
      const info: SessionInfo = { sessionId: newSessionId(), login: req.user, database };
      model.sessionStarted(replica.serverName);
      const meta = {
        sessionId: info.sessionId, login: req.user, hostName: req.hostName, programName: req.appName, context: new Map(),
        connectionId: randomUUID().toUpperCase(), connectedAt: new Date(model.clock()),
        // The engine's USE moves info.database; a role change reads it here.
        get database() {
          return info.database;
        },
      };
      rc.sessions.set(info.sessionId, meta);
      // sys.dm_exec_connections shows it from now on.
      model.sessionsChanged();
      const session: Session & { sessionId: number } = {
        sessionId: info.sessionId,
        execute: (request, signal, running) => execute(info, request, signal, running),
        cancelledBeforeItBegan: (request) => void logNotCarriedOut(info, statementTexts(request.sql), request.sql, 'cancelled'),
        transaction: (op) => {
          try {
            engine.transactionRequest?.(info, op);
          } catch {
            // A COMMIT or ROLLBACK the protocol layer found a transaction for and T-SQL had already ended: nothing to count.
          }
        },
        close: function end() {
          if (model.deferSessionEnd(linkIndex, side, end)) return;
          // A KILLed session left the list (its locks went, its id was freed) before its connection
          // closed, and its id may belong to a newer session by now: only its own state goes.
          const current = rc.sessions.get(info.sessionId);
          if (current !== undefined && current !== meta) return void model.sessionEnded(replica.serverName);
          if (current === meta) {
            rc.sessions.delete(info.sessionId);
            model.freeSessionId(linkIndex, side, info.sessionId);
            model.sessionsChanged();
            model.applocks.releaseSession(replica.serverName, info.sessionId);
          }
          engine.forgetSession?.(info.sessionId);
          model.sessionEnded(replica.serverName);
        },
        // As a logout and a new login would leave it (MS-TDS 2.2.3.1.2): the login's database,
        // no session context, no variables of the engine's, no session-owned app locks.
        reset: () => {
          info.database = database;
          rc.sessions.get(info.sessionId)?.context.clear();
          engine.forgetSession?.(info.sessionId);
          model.applocks.releaseSession(replica.serverName, info.sessionId);
        },
      };
      return { session, database };
    },
    close: () => engine.close(),
  };

  async function execute(info: SessionInfo, req: SqlRequest, signal: AbortSignal, running?: RunningRequest): Promise<ReplyItem[] | FaultAction> {
    const before = info.database;
    const reply = await executeRequest(info, req, signal, running);
    // An RPC (sp_executesql) is a batch of its own: "Changes in database context last only to the end
    // of the sp_executesql statement" (MicrosoftDocs/sql-docs, sp-executesql-transact-sql.md). The
    // session goes back, and the client is told so as it was told of the USE (ENVCHANGE).
    if (req.kind === 'rpc' && info.database !== before) {
      info.database = before;
      if (Array.isArray(reply)) reply.push({ kind: 'database', name: before });
    }
    return reply;
  }

  async function executeRequest(info: SessionInfo, req: SqlRequest, signal: AbortSignal, running?: RunningRequest): Promise<ReplyItem[] | FaultAction> {
    // Split once, and only if a hold or fault has to look inside the batch.
    let split: string[] | undefined;
    const statements = () => (split ??= statementTexts(req.sql));
    // The client's ATTENTION stops the request: what had not begun is not run ([MS-TDS] 2.2.1.7,
    // 3.3.5.9; lab/tds/contract.ts AbortedBy). A connection that closed is not an ATTENTION: SQL
    // Server may carry on with a request whose client went, so the lab does (a change whose client
    // was killed may still act, which a resume must find out by verifying).
    // A request that cannot be stopped (a hold `throughAttention`) acts all the same.
    let stoppable = true;
    const cancelled = () => stoppable && signal.aborted && signal.reason === AbortedBy.Attention;
    const heldBefore = model.holds.catch({ link: linkIndex, side }, req.sql, 'before', statements);
    if (heldBefore && model.holds.throughAttention(heldBefore)) {
      // Its reply is dropped once cancelled (the processor's), but it acts, and the ATTENTION waits for it.
      stoppable = false;
      running?.uninterruptible();
      await heldBefore;
    } else if (heldBefore) {
      await untilReleased(heldBefore, signal);
      if (cancelled()) return logNotCarriedOut(info, statements(), req.sql, 'cancelled');
    }
    if (isDown()) return { kind: 'drop' };
    const fault = model.faults.onSqlRequest(linkIndex, side, req.sql, statements);
    if (fault.kind === 'drop' || fault.kind === 'hang') {
      logNotCarriedOut(info, statements(), req.sql, fault.kind === 'drop' ? 'dropped' : 'hung');
      return { kind: fault.kind };
    }
    // A slow or long statement takes its time when it is reached: the statements before it in the
    // batch (a client's own checks) run first. Cancelled (ATTENTION) before its end, neither it nor
    // the statements after it run, as a cancelled BACKUP leaves no backup and a cancelled FAILOVER
    // no role change. One whose connection closes before its end (a long BACKUP or FAILOVER, or a
    // scenario's `slow` fault) is not cancelled: no ATTENTION came, and the statement is under way,
    // so it runs to its end, after its time as if the client were there, and acts (a client killed
    // during its FAILOVER may have failed the link over); the statements after it do not run
    // (`connectionClosed`; attack r7safe finding 5: a slow fault's batch used to run whole the moment
    // its client went). The sources are silent on both; this is the model a resume must be ready for
    // either way: it cannot tell, so it verifies.
    const slow = fault.kind === 'delay' ? fault : undefined;
    const long = longStatement(link.scenario.longStatements, req.sql);
    const pauseMs = (slow?.ms ?? 0) + (long?.ms ?? 0);
    const pauseAt = (text: string) => (slow !== undefined && (slow.match?.test(text) ?? true)) || (long !== undefined && long.match.test(text));
    let items: ReplyItem[] = [];
    // Without a pause the whole batch runs below; with one, the statements before it run now.
    let rest: ((params: Record<string, CellValue>) => ReplyItem[]) | undefined = (params) => engine.execute(info, req.sql, params);
    let pausedOnly: (() => { items: ReplyItem[]; notRun: string[] }) | undefined;
    let restStatements: string[] = [];
    if (pauseMs > 0 && engine.executeUntil) {
      const until = engine.executeUntil.bind(engine);
      items = run(info, req, (params) => {
        const first = until(info, req.sql, params, pauseAt);
        rest = first.rest;
        pausedOnly = first.pausedOnly;
        restStatements = first.restStatements ?? [];
        return first.items;
      }, () => rest === undefined);
    }
    if (rest) {
      const arrivedAt = model.clock();
      // The statement is under way: only the client's ATTENTION stops it early.
      if (slow) await sleep(slow.ms, signal, (reason) => reason === AbortedBy.Attention);
      if (long) await sleep(long.ms, signal, (reason) => reason === AbortedBy.Attention);
      if ((slow || long) && cancelled()) return [...items, ...logNotCarriedOut(info, restStatements, req.sql, 'cancelled')];
      const clientGone = (slow !== undefined || long !== undefined) && stoppable && signal.aborted && pausedOnly !== undefined;
      let notRun: string[] = [];
      const runNow = clientGone
        ? () => {
            const paused = pausedOnly!();
            notRun = paused.notRun;
            return paused.items;
          }
        : rest;
      rc.requestArrivedAt = long ? arrivedAt : undefined;
      try {
        items = [...items, ...run(info, req, runNow)];
      } finally {
        rc.requestArrivedAt = undefined;
      }
      if (notRun.length) logNotCarriedOut(info, notRun, req.sql, 'connectionClosed');
    }
    if (fault.kind === 'dropAfter') return { kind: 'drop' };
    const heldAfter = model.holds.catch({ link: linkIndex, side }, req.sql, 'after', statements);
    if (heldAfter) await untilReleased(heldAfter, signal);
    return items;
  }

  /**
   * Runs (part of) a request on the engine with the statement log listening. When no statement
   * was logged, the whole batch is (a compile error stops it before any statement) unless
   * `silentIsWhole` says the engine paused before its first statement.
   */
  function run(info: SessionInfo, req: SqlRequest, exec: (params: Record<string, CellValue>) => ReplyItem[], silentIsWhole = () => true): ReplyItem[] {
    model.beginRequest(linkIndex, side, req.sql);
    const params: Record<string, CellValue> = {};
    for (const p of req.params) params[p.name] = p.value;
    current = { session: info, entries: [] };
    let items: ReplyItem[];
    let seen: LoggedStatement[];
    try {
      items = exec(params);
    } finally {
      seen = current.entries;
      current = undefined;
    }
    // Each error belongs to the last statement that started at or before its line.
    const errors = items.filter((i): i is Extract<ReplyItem, { kind: 'error' }> => i.kind === 'error');
    if (seen.length === 0 && silentIsWhole()) logStatements(info, statementTexts(req.sql), req.sql, errors[0]?.error.number ?? null);
    for (const e of errors) {
      const target = [...seen].reverse().find((s) => s.line <= e.error.line) ?? seen[0];
      if (target && target.entry.errorNumber === null) model.statementLog.setError(target.entry, e.error.number);
    }
    for (const item of items) if (item.kind === 'database') info.database = item.name;
    return items;
  }

  /** Statements that reached the replica and were not carried out, logged with why; no reply items. */
  function logNotCarriedOut(info: SessionInfo, texts: string[], sql: string, why: NotCarriedOut): ReplyItem[] {
    logStatements(info, texts, sql, null, why);
    return [];
  }

  /** Statements of a request as the engine would have logged them (its whole text when the lab cannot split it). */
  function logStatements(info: SessionInfo, texts: string[], sql: string, errorNumber: number | null, notCarriedOut?: NotCarriedOut): void {
    for (const statement of texts.length ? texts : [sql.trim()]) {
      model.statementLog.append({
        at: new Date(model.clock()), link: link.name, replica: replica.serverName, side,
        login: info.login, sessionId: info.sessionId, statement, errorNumber,
        ...(notCarriedOut ? { notCarriedOut } : {}),
      });
    }
  }
}

/**
 * A long statement in the batch (scenario `longStatements`): BACKUP DATABASE / BACKUP LOG, and
 * FAILOVER / FORCE_FAILOVER_ALLOW_DATA_LOSS of an availability group: how long it takes before it
 * acts, and how to find it among the batch's statements. Undefined for anything else.
 */
function longStatement(long: { backupMs: number; failoverMs: number }, sql: string): { ms: number; match: RegExp } | undefined {
  const backup = /\bBACKUP\s+(DATABASE|LOG)\b/i;
  const failover = /\bALTER\s+AVAILABILITY\s+GROUP\b[\s\S]*\b(FAILOVER|FORCE_FAILOVER_ALLOW_DATA_LOSS)\b/i;
  if (backup.test(sql) && long.backupMs > 0) return { ms: long.backupMs, match: backup };
  if (failover.test(sql) && long.failoverMs > 0) return { ms: long.failoverMs, match: failover };
  return undefined;
}

/** The statements of a batch as the lab's engine splits them; none when it cannot read the batch. */
function statementTexts(sql: string): string[] {
  try {
    const tokens = tokenize(sql);
    return splitStatements(tokens).map((seg) => sourceText(sql, tokens, seg.from, seg.to));
  } catch {
    return [];
  }
}

function loginFailed(user: string): SqlMessage {
  // The password is never part of the message or the log.
  return { number: 18456, state: 1, class: 14, line: 1, message: `Login failed for user '${user}'.` };
}

/** A held request waits for its release, or for the client to cancel it. */
function untilReleased(released: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void released.then(done);
  });
}

/** Waits `ms`, or less when the signal aborts for a reason `endsOn` accepts (any reason by default). */
function sleep(ms: number, signal: AbortSignal, endsOn: (reason: unknown) => boolean = () => true): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      if (endsOn(signal.reason)) done();
    }
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
