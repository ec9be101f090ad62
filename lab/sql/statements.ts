// Statements the engine answers itself (no SQLite table involved): USE, SET, DECLARE, PRINT,
// EXEC of an unknown procedure, RAISERROR/THROW, transaction bookkeeping.
import { isIdent, isWord } from './lexer.js';
import type { Segment } from './batch.js';
import type { BatchRun, SessionState } from './run.js';
import { sqlError, syntaxError } from './errors.js';
import { requireSqlType } from './types.js';

/** SET options that change nothing the lab computes (tedious' login batch sends most of these). */
const NO_OP_OPTIONS = new Set([
  'NOCOUNT', 'ANSI_NULLS', 'ANSI_NULL_DFLT_ON', 'ANSI_NULL_DFLT_OFF', 'ANSI_PADDING', 'ANSI_WARNINGS', 'ANSI_DEFAULTS',
  'ARITHABORT', 'ARITHIGNORE', 'CONCAT_NULL_YIELDS_NULL', 'CURSOR_CLOSE_ON_COMMIT', 'DATEFIRST', 'DATEFORMAT',
  'LANGUAGE', 'NUMERIC_ROUNDABORT', 'QUOTED_IDENTIFIER', 'TEXTSIZE', 'TRANSACTION',
  'LOCK_TIMEOUT', 'DEADLOCK_PRIORITY', 'STATISTICS', 'CONTEXT_INFO', 'QUERY_GOVERNOR_COST_LIMIT',
  'MULTI_USER', 'ROWCOUNT',
]);
/** SET options that would change what a statement returns; refused rather than ignored. */
const REFUSED_OPTIONS = new Set(['NOEXEC', 'PARSEONLY', 'FMTONLY', 'SHOWPLAN_ALL', 'SHOWPLAN_TEXT', 'SHOWPLAN_XML']);

export function runUse(run: BatchRun, seg: Segment): void {
  const t = run.tokens;
  if (seg.to - seg.from !== 2 || !isIdent(t[seg.from + 1])) throw syntaxError(t[Math.min(seg.from + 2, seg.to - 1)].text, seg.line);
  const name = t[seg.from + 1].value;
  const canonical = run.knownDatabases().get(name.toLowerCase());
  if (!canonical) throw sqlError(911, `Database '${name}' does not exist. Make sure that the name is entered correctly.`, seg.line);
  run.session.database = canonical;
  run.items.push({ kind: 'database', name: canonical });
}

export function runSet(run: BatchRun, seg: Segment): void {
  const t = run.tokens;
  const target = t[seg.from + 1];
  if (!target) throw syntaxError('SET', seg.line);
  if (target.kind === 'var') {
    const op = t[seg.from + 2];
    if (op?.kind !== 'op' || op.text !== '=' || seg.to - seg.from < 4) throw syntaxError(op?.text ?? target.text, target.line);
    run.setVar(target.text, run.evaluate(seg.from + 3, seg.to, seg.line), seg.line);
    return;
  }
  const option = target.upper;
  if (REFUSED_OPTIONS.has(option)) throw sqlError(50000, `The lab does not support SET ${option}.`, seg.line);
  if (option === 'ROWCOUNT' && t[seg.from + 2]?.text !== '0') throw sqlError(50000, 'The lab supports only SET ROWCOUNT 0.', seg.line);
  // Transactions: lab/sql/transaction-rules.ts.
  if (option === 'XACT_ABORT' || option === 'IMPLICIT_TRANSACTIONS') {
    const on = onOff(run, seg);
    if (option === 'XACT_ABORT') run.state.xactAbort = on;
    else if (on) throw sqlError(50000, 'The lab does not support SET IMPLICIT_TRANSACTIONS ON.', seg.line);
    return;
  }
  if (!NO_OP_OPTIONS.has(option)) throw sqlError(195, `'${target.value}' is not a recognized SET option.`, seg.line, 15);
}

function onOff(run: BatchRun, seg: Segment): boolean {
  const value = run.tokens[seg.from + 2];
  if (seg.to - seg.from !== 3 || !isWord(value, 'ON', 'OFF')) throw syntaxError(value?.text ?? run.tokens[seg.from + 1]!.text, seg.line);
  return value.upper === 'ON';
}

export function runDeclare(run: BatchRun, seg: Segment): void {
  const t = run.tokens;
  let i = seg.from + 1;
  for (;;) {
    const v = t[i];
    if (v?.kind !== 'var') throw syntaxError(v?.text ?? 'DECLARE', v?.line ?? seg.line);
    i++;
    if (isWord(t[i], 'AS')) i++;
    if (isWord(t[i], 'TABLE', 'CURSOR')) throw sqlError(50000, `The lab does not support ${t[i].upper} variables.`, t[i].line);
    const typeFrom = i;
    if (t[i]?.kind !== 'word') throw syntaxError(t[i]?.text ?? v.text, v.line);
    i++;
    if (t[i]?.kind === 'lparen') {
      while (i < seg.to && t[i].kind !== 'rparen') i++;
      i++;
    }
    const type = requireSqlType(t.slice(typeFrom, i).map((x) => x.text).join(''), v.line);
    if (run.vars.has(v.text.toLowerCase())) {
      throw sqlError(134, `The variable name '${v.text}' has already been declared. Variable names must be unique within a query batch or stored procedure.`, v.line, 15);
    }
    run.vars.set(v.text.toLowerCase(), { name: v.text, type, value: null });
    if (t[i]?.kind === 'op' && t[i].text === '=') {
      let d = 0;
      let j = i + 1;
      for (; j < seg.to; j++) {
        if (t[j].kind === 'lparen') d++;
        if (t[j].kind === 'rparen') d--;
        if (d === 0 && t[j].kind === 'comma') break;
      }
      if (j === i + 1) throw syntaxError(t[i].text, t[i].line);
      run.setVar(v.text, run.evaluate(i + 1, j, v.line), v.line);
      i = j;
    }
    if (i >= seg.to) return;
    if (t[i].kind !== 'comma') throw syntaxError(t[i].text, t[i].line);
    i++;
  }
}

export function runPrint(run: BatchRun, seg: Segment): void {
  if (seg.to - seg.from < 2) throw syntaxError('PRINT', seg.line);
  const v = run.evaluate(seg.from + 1, seg.to, seg.line);
  run.items.push({ kind: 'info', info: { number: 0, state: 1, class: 0, message: v === null ? '' : String(v), line: seg.line } });
}

/** EXEC of a procedure no hook claimed: SQL Server's "could not find" (a statement-level error). */
export function runExec(run: BatchRun, seg: Segment): void {
  const t = run.tokens;
  let i = seg.from;
  if (isWord(t[i], 'EXEC', 'EXECUTE')) i++;
  if (t[i]?.kind === 'var' && t[i + 1]?.text === '=') i += 2;
  if (t[i]?.kind === 'lparen' || t[i]?.kind === 'string') throw sqlError(50000, 'The lab does not run dynamic SQL (EXEC of a string).', seg.line);
  let j = i;
  while (isIdent(t[j]) && t[j + 1]?.kind === 'dot') j += 2;
  if (!isIdent(t[j])) throw syntaxError(t[j]?.text ?? t[seg.from].text, seg.line);
  const name = t.slice(i, j + 1).filter((x) => isIdent(x)).map((x) => x.value).join('.');
  if (name.toLowerCase().endsWith('sp_executesql')) throw sqlError(50000, 'The lab does not run nested sp_executesql.', seg.line);
  throw sqlError(2812, `Could not find stored procedure '${name}'.`, seg.line, 16, 62);
}

export function runRaiserror(run: BatchRun, seg: Segment): void {
  const t = run.tokens;
  if (t[seg.from + 1]?.kind !== 'lparen') throw syntaxError(t[seg.from + 1]?.text ?? 'RAISERROR', seg.line);
  const args = splitArgs(run, seg.from + 2, seg.to);
  if (args.length < 3) throw syntaxError(')', seg.line);
  const [fmt, sev, state, ...rest] = args.map(([a, b]) => run.evaluate(a, b, seg.line));
  let k = 0;
  const message = String(fmt ?? '').replace(/%[-+ 0#]*\d*(?:\.\d+)?[sdiuxX]/g, () => String(rest[k++] ?? '(null)'));
  const severity = Number(sev);
  if (severity <= 10) {
    run.items.push({ kind: 'info', info: { number: 0, state: Number(state), class: severity, message, line: seg.line } });
    return;
  }
  throw sqlError(50000, message, seg.line, severity, Number(state));
}

export function runThrow(run: BatchRun, seg: Segment): void {
  const args = splitArgs(run, seg.from + 1, seg.to);
  if (args.length !== 3) throw syntaxError('THROW', seg.line);
  const [num, msg, state] = args.map(([a, b]) => run.evaluate(a, b, seg.line));
  // THROW ends the batch whatever its number; 50001 is not in the statement-level list.
  throw Object.assign(sqlError(Number(num), String(msg), seg.line, 16, Number(state)), { throwStatement: true });
}

export function runTransaction(run: BatchRun, seg: Segment): void {
  countTransaction(run.state, seg.verb === 'BEGIN' ? 'begin' : seg.verb === 'COMMIT' ? 'commit' : 'rollback', seg.line);
}

/** BEGIN / COMMIT / ROLLBACK on a session's count; a ROLLBACK ends every level (nothing to undo: lab/sql/transaction-rules.ts). */
export function countTransaction(state: SessionState, op: 'begin' | 'commit' | 'rollback', line?: number): void {
  if (op === 'begin') {
    state.trancount++;
    return;
  }
  if (state.trancount === 0) {
    const what = op === 'commit' ? 'COMMIT' : 'ROLLBACK';
    throw sqlError(what === 'COMMIT' ? 3902 : 3903, `The ${what} TRANSACTION request has no corresponding BEGIN TRANSACTION.`, line);
  }
  state.trancount = op === 'commit' ? state.trancount - 1 : 0;
}

function splitArgs(run: BatchRun, from: number, to: number): Array<[number, number]> {
  const t = run.tokens;
  const out: Array<[number, number]> = [];
  let d = 0;
  let start = from;
  for (let i = from; i < to; i++) {
    if (t[i].kind === 'lparen') d++;
    if (t[i].kind === 'rparen') {
      if (d === 0) {
        out.push([start, i]);
        return out;
      }
      d--;
    }
    if (d === 0 && t[i].kind === 'comma') (out.push([start, i]), (start = i + 1));
  }
  if (start < to) out.push([start, to]);
  return out;
}
