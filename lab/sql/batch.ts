// Splits a batch into statements the way SQL Server's parser sees them (semicolons optional: a
// statement keyword at the top level starts the next statement) and groups IF/ELSE and
// BEGIN...END. Also the batch-level compile checks that stop a batch before anything runs:
// GO, unknown statement starts, unmatched END, undeclared variables.
import { type Token, isIdent, isWord, matchParen } from './lexer.js';
import { mustDeclare, syntaxError } from './errors.js';

export interface Segment {
  from: number;
  /** Exclusive; a trailing `;` is not included. */
  to: number;
  line: number;
  /** Upper-cased first word ('' when the statement does not start with a word). */
  verb: string;
}

export type Node =
  | { kind: 'stmt'; seg: Segment }
  | { kind: 'if'; seg: Segment; then: Node; else?: Node }
  | { kind: 'block'; seg: Segment; body: Node[] };

const STARTERS = new Set([
  'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'USE', 'SET', 'DECLARE', 'PRINT', 'IF', 'ELSE', 'BEGIN',
  'END', 'WAITFOR', 'EXEC', 'EXECUTE', 'ALTER', 'DROP', 'CREATE', 'BACKUP', 'RESTORE', 'WITH', 'GO',
  'RAISERROR', 'THROW', 'RETURN', 'WHILE', 'BREAK', 'CONTINUE', 'TRUNCATE', 'GRANT', 'REVOKE', 'DENY', 'DBCC',
  'COMMIT', 'ROLLBACK', 'SAVE', 'KILL', 'CHECKPOINT', 'OPEN', 'CLOSE', 'DEALLOCATE', 'GOTO', 'RECONFIGURE',
  'SHUTDOWN', 'BULK',
]);
/** Whether a statement starting with this word is a T-SQL statement (else: a bare procedure call). */
export const isStatementVerb = (verb: string): boolean => STARTERS.has(verb);

const BEGIN_COMPOUND = new Set(['TRAN', 'TRANSACTION', 'TRY', 'CATCH', 'DISTRIBUTED', 'DIALOG', 'CONVERSATION']);
const SET_OPERATORS = new Set(['UNION', 'ALL', 'EXCEPT', 'INTERSECT']);

/** WITH starts a statement only as a CTE: `WITH name AS (` or `WITH name (cols) AS (`. */
function startsCte(tokens: Token[], i: number): boolean {
  const name = tokens[i + 1];
  if (!isIdent(name)) return false;
  const next = tokens[i + 2];
  if (isWord(next, 'AS')) return true;
  if (next?.kind === 'lparen') {
    const close = matchParen(tokens, i + 2);
    return close > 0 && isWord(tokens[close + 1], 'AS');
  }
  return false;
}

export function splitStatements(tokens: Token[]): Segment[] {
  const segs: Segment[] = [];
  let start = -1;
  let verb = '';
  let depth = 0;
  let caseDepth = 0;
  let mainVerbSeen = false;
  const close = (end: number) => {
    if (start >= 0 && end > start) segs.push({ from: start, to: end, line: tokens[start].line, verb });
    start = -1;
  };
  const open = (i: number) => {
    start = i;
    const t = tokens[i];
    verb = t.kind === 'word' ? t.upper : '';
    mainVerbSeen = false;
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === 'semi' && depth === 0) {
      close(i);
      continue;
    }
    if (t.kind === 'lparen') depth++;
    if (t.kind === 'rparen') depth = Math.max(0, depth - 1);
    if (isWord(t, 'CASE')) caseDepth++;
    let starts = false;
    if (t.kind === 'word' && depth === 0 && STARTERS.has(t.upper)) {
      const u = t.upper;
      const prev = i > start && start >= 0 ? tokens[i - 1] : undefined;
      if ((u === 'END' || u === 'ELSE') && caseDepth > 0) {
        if (u === 'END') caseDepth--;
      } else if (u === 'GO') starts = t.lineStart;
      else if (start < 0) starts = true;
      else if (u === 'WITH') starts = startsCte(tokens, i);
      else if (u === 'SELECT' && prev && (SET_OPERATORS.has(prev.upper) || prev.kind === 'lparen')) starts = false;
      else if (['SELECT', 'INSERT', 'UPDATE', 'DELETE'].includes(u) && verb === 'WITH' && !mainVerbSeen) {
        mainVerbSeen = true;
      } else if ((u === 'SELECT' || u === 'EXEC' || u === 'EXECUTE') && verb === 'INSERT') starts = false;
      else if (u === 'SET' && (verb === 'UPDATE' || verb === 'ALTER' || verb === 'MERGE')) starts = false;
      else if ((u === 'DROP' || u === 'WITH') && verb === 'ALTER') starts = false;
      else if (u === 'BEGIN' && verb === 'END') starts = true;
      else starts = true;
    } else if (isWord(t, 'END') && caseDepth > 0) caseDepth--;
    if (starts) {
      close(i);
      open(i);
    } else if (start < 0) open(i);
    // BEGIN (of a block), ELSE and END stand alone; what follows them is the next statement.
    const single =
      (isWord(t, 'BEGIN') && start === i && !BEGIN_COMPOUND.has(tokens[i + 1]?.upper ?? '')) ||
      (isWord(t, 'ELSE', 'END') && start === i && !(isWord(t, 'END') && BEGIN_COMPOUND.has(tokens[i + 1]?.upper ?? '')));
    if (single) close(i + 1);
  }
  close(tokens.length);
  return segs;
}

/** Groups statements into IF/ELSE and BEGIN...END nodes; throws 102 on a dangling ELSE/END. */
export function groupStatements(tokens: Token[], segs: Segment[]): Node[] {
  let i = 0;
  const parseOne = (): Node => {
    const seg = segs[i++];
    if (seg.verb === 'IF' || seg.verb === 'WHILE') {
      if (seg.verb === 'WHILE') throw syntaxError('WHILE', seg.line);
      if (seg.to - seg.from < 2) throw syntaxError('IF', seg.line);
      if (i >= segs.length) throw syntaxError(tokens[seg.to - 1].text, tokens[seg.to - 1].line);
      const then = parseOne();
      const node: Node = { kind: 'if', seg, then };
      if (i < segs.length && segs[i].verb === 'ELSE') {
        i++;
        if (i >= segs.length) throw syntaxError('ELSE', segs[i - 1].line);
        node.else = parseOne();
      }
      return node;
    }
    if (seg.verb === 'BEGIN' && seg.to - seg.from === 1) {
      const body: Node[] = [];
      for (;;) {
        if (i >= segs.length) throw syntaxError(tokens[tokens.length - 1].text, tokens[tokens.length - 1].line);
        if (segs[i].verb === 'END' && segs[i].to - segs[i].from === 1) {
          i++;
          break;
        }
        body.push(parseOne());
      }
      return { kind: 'block', seg, body };
    }
    if (seg.verb === 'ELSE' || (seg.verb === 'END' && seg.to - seg.from === 1)) throw syntaxError(seg.verb, seg.line);
    return { kind: 'stmt', seg };
  };
  const nodes: Node[] = [];
  while (i < segs.length) nodes.push(parseOne());
  return nodes;
}

/**
 * Compile checks over the whole batch: GO lines, statements that start with something that is
 * not a statement (the batch's first statement may be a bare procedure name), and variables
 * used before any DECLARE in the batch's text (T-SQL scope is textual, not by execution).
 */
export function checkBatch(tokens: Token[], segs: Segment[], declared: Set<string>): void {
  segs.forEach((seg, n) => {
    const first = tokens[seg.from];
    if (seg.verb === 'GO' && first.lineStart) throw syntaxError(first.text, first.line);
    if (!STARTERS.has(seg.verb) && !(n === 0 && isIdent(first))) throw syntaxError(first.text, first.line);
    const implicitExec = n === 0 && !STARTERS.has(seg.verb);
    const isExec = seg.verb === 'EXEC' || seg.verb === 'EXECUTE' || implicitExec;
    let depth = 0;
    for (let i = seg.from; i < seg.to; i++) {
      const t = tokens[i];
      if (t.kind === 'lparen') depth++;
      if (t.kind === 'rparen') depth--;
      if (t.kind !== 'var') continue;
      const name = t.text.toLowerCase();
      if (seg.verb === 'DECLARE' && (i === seg.from + 1 || (depth === 0 && tokens[i - 1].kind === 'comma'))) {
        declared.add(name);
        continue;
      }
      // In EXEC, `@param = value` names the procedure's parameter, not a variable.
      const afterProcName = i > seg.from + (implicitExec ? 0 : 1);
      if (isExec && afterProcName && tokens[i + 1]?.kind === 'op' && tokens[i + 1].text === '=') continue;
      if (!declared.has(name)) throw mustDeclare(t.text, t.line);
    }
  });
}
