// sp_getapplock / sp_releaseapplock / sp_set_session_context on one replica.
//
// How a caller learns sp_getapplock's result: its return code goes into the variable of
// `EXEC @r = sp_getapplock ...`, so the batch
//   DECLARE @r int; EXEC @r = sp_getapplock @Resource = N'link:dag1', @LockMode = 'Exclusive',
//     @LockOwner = 'Session', @LockTimeout = 0; SELECT @r AS result;
// answers one row: 0 = granted, 1 = granted after waiting, -1 = not granted (held elsewhere),
// -999 = bad parameters. The lab never waits: a lock held by another session gives -1 at once,
// whatever @LockTimeout says. Who holds it: SELECT * FROM lab.applocks (the holder's login,
// session, host, program and the `description` it set with sp_set_session_context).
//
// APPLOCK_MODE('database_principal', 'resource_name', 'lock_owner') answers the mode the calling
// session (lock_owner 'Session') holds on the resource in the current database, or NoLock
// (MicrosoftDocs/sql-docs, docs/t-sql/functions/applock-mode-transact-sql.md: nvarchar(32), "the
// lock mode held by the lock owner on a particular application resource", in the current
// database; resource names binary compared). The lab takes it as a statement of its own,
// `SELECT APPLOCK_MODE(...) [[AS] alias]`, which is how a client asks whether it still holds a lock;
// inside a larger query it is not known. The lab never grants transaction-owned locks,
// so 'Transaction' answers NoLock; the principal is not checked (as for sp_getapplock).
import type { ReplyItem } from '../tds/contract.js';
import type { CellValue, StatementHook } from '../sql/contract.js';
import { LOCK_MODES, type LockMode } from './applocks.js';
import { hadrErrors } from './errors.js';
import { SqlError } from '../sql/contract.js';
import type { ReplicaContext } from './replica-context.js';
import { Cursor, lookupVar, tokenize, tokenValue, type Token } from './tokens.js';

const PROCS = ['sp_getapplock', 'sp_releaseapplock', 'sp_set_session_context'] as const;
type Proc = (typeof PROCS)[number];
const PARAMS: Record<Proc, string[]> = {
  sp_getapplock: ['resource', 'lockmode', 'lockowner', 'locktimeout', 'dbprincipal'],
  sp_releaseapplock: ['resource', 'lockowner', 'dbprincipal'],
  sp_set_session_context: ['key', 'value', 'read_only'],
};
const PARAM_ERROR = -999;

export function appLockHook(rc: ReplicaContext): StatementHook {
  return (text, ctx) => {
    if (/^\s*SELECT\s+APPLOCK_MODE\s*\(/i.test(text)) return appLockMode(rc, text, ctx);
    if (!/^\s*EXEC(UTE)?\b/i.test(text) || !/\bsp_(getapplock|releaseapplock|set_session_context)\b/i.test(text)) return undefined;
    const tokens = tokenize(text);
    if (!tokens) return undefined;
    const c = new Cursor(tokens);
    if (!c.kw('EXEC') && !c.kw('EXECUTE')) return undefined;
    let returnVar: string | undefined;
    if (c.peek()?.kind === 'var' && c.peek(1)?.value === '=') {
      returnVar = c.peek()!.value;
      c.pos += 2;
    }
    const proc = procName(c);
    if (!proc) return undefined;
    const args = readArgs(c, proc, ctx.vars);
    if (!args) throw hadrErrors.syntax(c.near());
    const session = ctx.session;
    let code: number;
    if (proc === 'sp_set_session_context') {
      const meta = rc.sessions.get(session.sessionId);
      if (typeof args.key !== 'string') throw hadrErrors.badParameter(proc, '@key is required');
      meta?.context.set(args.key, args.value === null || args.value === undefined ? '' : String(args.value));
      code = 0;
    } else if (proc === 'sp_getapplock') {
      code = getAppLock(rc, session.sessionId, session.database, args);
    } else {
      code = releaseAppLock(rc, session.sessionId, session.database, args);
    }
    if (returnVar !== undefined) setVar(ctx.vars, returnVar, code);
    const items: ReplyItem[] = [{ kind: 'done' }];
    return items;
  };
}

/** `SELECT APPLOCK_MODE(principal, resource, owner) [[AS] alias]`; undefined for any other shape (the engine then answers). */
function appLockMode(rc: ReplicaContext, text: string, ctx: Parameters<StatementHook>[1]): ReplyItem[] | undefined {
  const tokens = tokenize(text);
  if (!tokens) return undefined;
  const c = new Cursor(tokens);
  if (!c.kw('SELECT') || !c.kw('APPLOCK_MODE') || !c.punct('(')) return undefined;
  const args: CellValue[] = [];
  if (!c.punct(')')) {
    do {
      const value = readValue(c, ctx.vars);
      if (value === undefined) return undefined;
      args.push(value);
    } while (c.punct(','));
    if (!c.punct(')')) return undefined;
  }
  let alias = '';
  if (c.kw('AS')) {
    const name = c.name(true);
    if (name === undefined) return undefined;
    alias = name;
  } else if (!c.atEnd()) {
    const name = c.name(true);
    if (name === undefined) return undefined;
    alias = name;
  }
  if (!c.atEnd()) return undefined;
  if (args.length !== 3) throw new SqlError(174, 'The applock_mode function requires 3 argument(s).', 1, 15);
  const [, resource, owner] = args;
  const session = ctx.session;
  const mode =
    typeof resource === 'string' && String(owner ?? '').toLowerCase() === 'session'
      ? rc.applocks.modeOf(rc.serverName, session.database, resource, session.sessionId)
      : 'NoLock';
  return [{ kind: 'rows', columns: [{ name: alias, sqlType: { type: 'nvarchar', length: 32 }, nullable: false }], rows: [[mode]] }];
}

function procName(c: Cursor): Proc | undefined {
  // sp_getapplock, dbo.sp_getapplock, sys.sp_getapplock, master.dbo.sp_getapplock, master..sp_getapplock
  const parts: string[] = [];
  for (;;) {
    const t = c.peek();
    if (t && (t.kind === 'word' || t.kind === 'ident')) {
      parts.push(t.value);
      c.pos++;
    } else if (t && t.kind === 'punct' && t.value === '.') {
      c.pos++;
    } else break;
    if (PROCS.includes(parts[parts.length - 1]?.toLowerCase() as Proc)) break;
  }
  const last = parts[parts.length - 1]?.toLowerCase();
  return PROCS.find((p) => p === last);
}

function readArgs(c: Cursor, proc: Proc, vars: Record<string, CellValue>): Record<string, CellValue> | undefined {
  const out: Record<string, CellValue> = {};
  let position = 0;
  if (c.atEnd()) return out;
  do {
    let name: string;
    const t = c.peek();
    if (t?.kind === 'var' && c.peek(1)?.value === '=') {
      name = t.value.toLowerCase();
      c.pos += 2;
    } else {
      name = PARAMS[proc][position];
    }
    position++;
    const value = readValue(c, vars);
    if (value === undefined || !name) return undefined;
    if (!PARAMS[proc].includes(name)) throw hadrErrors.badParameter(proc, `@${name} is not a parameter for procedure ${proc}.`);
    out[name] = value;
  } while (c.punct(','));
  return c.atEnd() ? out : undefined;
}

function readValue(c: Cursor, vars: Record<string, CellValue>): CellValue | undefined {
  const t: Token | undefined = c.peek();
  if (!t) return undefined;
  if (t.kind === 'punct' && t.value === '-' && c.peek(1)?.kind === 'num') {
    c.pos += 2;
    return -Number(c.tokens[c.pos - 1].value);
  }
  if (t.kind === 'var') {
    c.pos++;
    return lookupVar(vars, t.value) ?? null;
  }
  c.pos++;
  return tokenValue(t, vars);
}

function getAppLock(rc: ReplicaContext, sessionId: number, database: string, a: Record<string, CellValue>): number {
  const mode = LOCK_MODES.find((m) => m.toLowerCase() === String(a.lockmode ?? '').toLowerCase()) as LockMode | undefined;
  const owner = String(a.lockowner ?? 'Transaction').toLowerCase();
  if (typeof a.resource !== 'string' || a.resource.length === 0 || a.resource.length > 255 || !mode) return PARAM_ERROR;
  // Transaction-owned locks are never granted: a ROLLBACK would release them, and the lab keeps
  // nothing a ROLLBACK must undo (lab/sql/transaction-rules.ts).
  if (owner !== 'session') return PARAM_ERROR;
  const meta = rc.sessions.get(sessionId);
  return rc.applocks.acquire(rc.serverName, database, a.resource, {
    sessionId,
    login: meta?.login ?? '',
    hostName: meta?.hostName ?? '',
    programName: meta?.programName ?? '',
    description: meta?.context.get('description') ?? null,
    mode,
  }, new Date(rc.clock()));
}

function releaseAppLock(rc: ReplicaContext, sessionId: number, database: string, a: Record<string, CellValue>): number {
  if (typeof a.resource !== 'string' || String(a.lockowner ?? 'Transaction').toLowerCase() !== 'session') return PARAM_ERROR;
  if (!rc.applocks.release(rc.serverName, database, a.resource, sessionId)) throw hadrErrors.appLockNotHeld(a.resource);
  return 0;
}

function setVar(vars: Record<string, CellValue>, name: string, value: number): void {
  const key = Object.keys(vars).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
  vars[key] = value;
}
