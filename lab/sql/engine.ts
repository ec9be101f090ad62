// The lab's T-SQL engine: a batch is tokenized, split and compile-checked as a whole (a syntax
// error or an undeclared variable stops it before anything runs, as on SQL Server), then each
// statement is offered to the model's hooks, then to the built-ins, then run on SQLite.
import Database from 'better-sqlite3';
import type { CellValue, ReplyItem, SessionInfo, SqlEngine, SqlEngineOptions } from './contract.js';
import { SqlError } from './contract.js';
import { tokenize, sourceText } from './lexer.js';
import { type Node, type Segment, checkBatch, groupStatements, isStatementVerb, splitStatements } from './batch.js';
import { createCatalog } from './catalog.js';
import { type LinedError, abortsBatch, syntaxError } from './errors.js';
import { type FunctionState, registerFunctions } from './functions.js';
import { BatchRun, type EngineParts, type SessionState } from './run.js';
import * as builtins from './statements.js';
import { refusedInTransaction } from './transaction-rules.js';

export { TABLES, type ColumnDef, type TableName } from './catalog.js';

export interface LabSqlEngine extends SqlEngine {
  /** Drops what the engine keeps for a session (its transaction count); call when it closes. */
  forgetSession(sessionId: number): void;
}

const STATEMENT_CACHE_SIZE = 500;
const DML = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'TRUNCATE']);

export function createSqlEngine(opts: SqlEngineOptions): LabSqlEngine {
  const db = new Database(':memory:');
  const catalog = createCatalog(db, opts.tables, opts.version, opts.versionOf, opts.tableParts);
  let functionState: FunctionState | undefined;
  registerFunctions(db, () => {
    if (!functionState) throw new Error('lab/sql: function state read outside a statement');
    return functionState;
  }, opts.utcOffsetMinutes ?? 0);
  const cache = new Map<string, Database.Statement>();
  const sessions = new Map<number, SessionState>();
  const parts: EngineParts = {
    opts,
    db,
    catalog,
    setFunctionState: (s) => (functionState = s),
    prepare(sql) {
      let stmt = cache.get(sql);
      if (!stmt) {
        stmt = db.prepare(sql);
        if (stmt.reader) stmt.safeIntegers(true).raw(true);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.clear();
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };

  function execute(session: SessionInfo, sql: string, params: Record<string, CellValue>): ReplyItem[] {
    return executeUntil(session, sql, params, () => false).items;
  }

  function stateOf(session: SessionInfo): SessionState {
    let state = sessions.get(session.sessionId);
    if (!state) sessions.set(session.sessionId, (state = { trancount: 0 }));
    return state;
  }

  function executeUntil(session: SessionInfo, sql: string, params: Record<string, CellValue>, pauseAt: (statement: string) => boolean) {
    const state = stateOf(session);
    let run: BatchRun | undefined;
    let nodes: Node[];
    let segs: Segment[];
    try {
      const tokens = tokenize(sql);
      segs = splitStatements(tokens);
      nodes = groupStatements(tokens, segs);
      checkBatch(tokens, segs, new Set(Object.keys(params).map((k) => '@' + k.replace(/^@/, '').toLowerCase())));
      run = new BatchRun(parts, session, state, sql, tokens, params);
    } catch (e) {
      // Compile errors of the whole batch: nothing else is answered.
      return { items: [errorItem(e, 1, true)] };
    }
    const batch = run;
    // A top-level statement with everything nested in it (IF ... ELSE ..., BEGIN ... END).
    const lastSeg = (node: Node): Segment => (node.kind === 'stmt' ? node.seg : node.kind === 'if' ? lastSeg(node.else ?? node.then) : node.body.length ? lastSeg(node.body.at(-1)!) : node.seg);
    const nodeText = (node: Node) => sourceText(sql, batch.tokens, node.seg.from, Math.max(node.seg.to, lastSeg(node).to)).trim();
    // Top-level statements from `from` up to `to`; the index of the one to pause (or stop) before,
    // or -1 when the batch is over.
    const runFrom = (from: number, pause: boolean, to = nodes.length): number => {
      try {
        for (let i = from; i < to; i++) {
          const node = nodes[i]!;
          if (pause && i > from && pauseAt(nodeText(node))) return i;
          if (!runNode(batch, node)) return -1;
        }
        return to < nodes.length ? to : -1;
      } catch (e) {
        // An internal failure: nothing else is answered.
        batch.items.push(errorItem(e, 1, true));
        return -1;
      } finally {
        functionState = undefined;
      }
    };
    // The first statement may be the one to pause at: nothing runs before it then.
    const first = nodes[0] && pauseAt(nodeText(nodes[0])) ? 0 : runFrom(0, true);
    if (first < 0) return { items: batch.items };
    const before = batch.items.length;
    const statementsFrom = (node: Node) => segs.filter((seg) => seg.from >= node.seg.from).map((seg) => sourceText(sql, batch.tokens, seg.from, seg.to).trim());
    return {
      items: batch.items.slice(0, before),
      restStatements: statementsFrom(nodes[first]!),
      rest: () => {
        runFrom(first, false);
        return batch.items.slice(before);
      },
      pausedOnly: () => {
        const next = runFrom(first, false, first + 1);
        return { items: batch.items.slice(before), notRun: next < 0 ? [] : statementsFrom(nodes[next]!) };
      },
    };
  }

  /** Runs one node; false when the batch must stop. */
  function runNode(run: BatchRun, node: Node): boolean {
    if (node.kind === 'block') {
      for (const child of node.body) if (!runNode(run, child)) return false;
      return true;
    }
    if (node.kind === 'if') {
      let holds: boolean;
      try {
        holds = run.condition(node.seg.from + 1, node.seg.to, node.seg.line);
      } catch (e) {
        return report(run, e, node.seg);
      }
      const branch = holds ? node.then : node.else;
      return branch ? runNode(run, branch) : true;
    }
    try {
      return runStatement(run, node.seg);
    } catch (e) {
      return report(run, e, node.seg);
    }
  }

  function report(run: BatchRun, e: unknown, seg: Segment): boolean {
    const item = errorItem(e, seg.line, false);
    run.items.push(item);
    if (item.kind === 'error') run.lastError = item.error.number;
    // XACT_ABORT ON: a run-time error ends the transaction and the batch; RAISERROR does not
    // honour it (sql-docs set-xact-abort-transact-sql.md, throw-transact-sql.md).
    if (item.kind === 'error' && run.state.xactAbort && seg.verb !== 'RAISERROR') {
      run.state.trancount = 0;
      return false;
    }
    return !(item.kind === 'error' && item.abortsBatch);
  }

  function runStatement(run: BatchRun, seg: Segment): boolean {
    const text = sourceText(run.sql, run.tokens, seg.from, seg.to).trim();
    if (run.state.trancount > 0) {
      const refused = refusedInTransaction(text);
      if (refused) throw Object.assign(refused, { line: seg.line });
    }
    const vars = run.varsForHooks();
    const ctx = { session: run.session, line: seg.line, vars };
    for (const hook of opts.hooks) {
      const answer = hook(text, ctx);
      if (answer !== undefined) {
        // A hook may assign a declared variable it was given (`EXEC @r = sp_getapplock ...`).
        for (const [name, value] of Object.entries(vars)) {
          if (run.vars.has('@' + name.toLowerCase()) && run.vars.get('@' + name.toLowerCase())!.value !== value) {
            run.setVar('@' + name, value, seg.line);
          }
        }
        run.items.push(...answer);
        return true;
      }
    }
    const verb = seg.verb;
    const next = run.tokens[seg.from + 1]?.upper;
    if (verb === 'SELECT' || verb === 'WITH') run.select(seg.from, seg.to, seg.line);
    else if (verb === 'USE') builtins.runUse(run, seg);
    else if (verb === 'SET') builtins.runSet(run, seg);
    else if (verb === 'DECLARE') builtins.runDeclare(run, seg);
    else if (verb === 'PRINT') builtins.runPrint(run, seg);
    else if (verb === 'RAISERROR') builtins.runRaiserror(run, seg);
    else if (verb === 'THROW') builtins.runThrow(run, seg);
    else if (verb === 'RETURN') return false;
    else if (verb === 'COMMIT' || verb === 'ROLLBACK' || (verb === 'BEGIN' && (next === 'TRAN' || next === 'TRANSACTION'))) {
      builtins.runTransaction(run, seg);
    } else if (verb === 'EXEC' || verb === 'EXECUTE' || !isStatementVerb(verb)) builtins.runExec(run, seg);
    else if (verb === 'WAITFOR') {
      throw Object.assign(new SqlError(50000, 'The lab does not support WAITFOR (its engine answers synchronously).'), { line: seg.line });
    } else if (DML.has(verb)) {
      throw Object.assign(new SqlError(259, 'Ad hoc updates to system catalogs are not allowed.'), { line: seg.line });
    } else throw syntaxError(run.tokens[seg.from].text, seg.line);
    return true;
  }

  return {
    execute,
    executeUntil,
    forgetSession: (id) => void sessions.delete(id),
    transactionRequest: (session, op) => builtins.countTransaction(stateOf(session), op),
    close() {
      cache.clear();
      sessions.clear();
      if (db.open) db.close();
    },
  };
}

function errorItem(e: unknown, line: number, forceAbort: boolean): ReplyItem {
  if (e instanceof SqlError) {
    const le = e as LinedError & { throwStatement?: boolean };
    return {
      kind: 'error',
      error: { number: le.number, state: le.state, class: le.severity, message: le.message, line: le.line ?? line },
      abortsBatch: forceAbort || le.throwStatement === true || abortsBatch(le),
    };
  }
  const message = e instanceof Error ? e.message : String(e);
  return {
    kind: 'error',
    error: { number: 50000, state: 1, class: 16, message: `Internal error in the lab's T-SQL engine: ${message}`, line },
    abortsBatch: true,
  };
}
