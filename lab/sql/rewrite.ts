// Token rewriter from the T-SQL a DBA types to the SQLite that computes the same answer:
// table names to their storage names, TOP/OFFSET-FETCH to LIMIT, N'..' to '..', ISNULL to
// IFNULL, CONVERT to CAST, string + to ||, @@globals to literals, T-SQL functions to UDFs.
// A function or construct it does not know is an error, never passed through to SQLite.
import { type Token, isIdent, isWord, matchParen } from './lexer.js';
import type { CellValue } from './contract.js';
import { DATE_UNIT_FUNCTIONS, FUNCTIONS, NOT_FUNCTIONS, QUERY_HINTS, RESERVED, STRING_FUNCTIONS, TABLE_HINTS, literal } from './dialect.js';
import { type NameMap, invalidObject, mustDeclare, notBuiltIn, sqlError, syntaxError } from './errors.js';
import { findCastTargets, rewriteCastCall } from './rewrite-cast.js';
import { quoteIdent, resolveDottedName } from './rewrite-names.js';
import { parseSqlType } from './types.js';

export { FUNCTIONS, literal };
import type { SqlType } from '../tds/contract.js';

export interface RewriteContext {
  /** The session's current database (decides what `dbo.x` means). */
  database: string;
  /** Known database names, lower case. */
  databases: Set<string>;
  /** `@@NAME` (upper case, with @@) -> value. */
  globals: Map<string, CellValue>;
  /** Variables in scope (lower-case names with @) -> current value. */
  vars: Map<string, CellValue>;
}

export interface Rewritten {
  sql: string;
  /** Lower-case variable names (without @) the SQL binds. */
  params: Set<string>;
  names: NameMap;
  /** For the first top-level SELECT: declared types of CAST/CONVERT items (by position). */
  hints: Array<SqlType | undefined>;
  /** `SELECT @a = x, @b = y`: the assigned variables (lower case, with @), in column order. */
  assigns: string[];
}

/** Rewrites tokens[from..to) into SQLite text. */
export function rewrite(tokens: Token[], from: number, to: number, ctx: RewriteContext): Rewritten {
  const out = tokens.map((t) => t.text);
  const after: string[] = tokens.map(() => '');
  const params = new Set<string>();
  const names: NameMap = { tables: new Map(), functions: new Map() };
  const hints: Array<SqlType | undefined> = [];
  const assigns: string[] = [];
  const clause: string[] = ['other'];
  /** Tokens already rewritten as part of a bigger construct. */
  const skip = new Set<number>();
  let depth = 0;
  let selectListDone = false;

  // CAST/CONVERT targets first, so a string `+` next to a CAST(... AS varchar) is known as one.
  const { castTarget, charCastOpen, charCastClose } = findCastTargets(tokens, from, to);
  // Calls of functions whose value is text (NCHAR(10)): their name and closing `)` are string operands.
  const stringCalls = new Set<number>();
  for (let i = from; i < to; i++) {
    if (tokens[i].kind !== 'word' || !STRING_FUNCTIONS.has(tokens[i].upper) || tokens[i + 1]?.kind !== 'lparen') continue;
    stringCalls.add(i);
    const close = matchParen(tokens, i + 1, to);
    if (close > 0) stringCalls.add(close);
  }

  const isStringOperand = (t: Token | undefined, idx: number): boolean => {
    if (!t) return false;
    if (t.kind === 'string') return true;
    if (t.kind === 'global') return typeof ctx.globals.get(t.upper.toUpperCase()) === 'string';
    if (t.kind === 'var') return typeof ctx.vars.get(t.text.toLowerCase()) === 'string';
    return charCastOpen.has(idx) || charCastClose.has(idx) || stringCalls.has(idx);
  };

  for (let i = from; i < to; i++) {
    const t = tokens[i];
    if (skip.has(i)) continue;
    if (t.kind === 'lparen') (depth++, (clause[depth] = 'other'));
    else if (t.kind === 'rparen') depth--;
    switch (t.kind) {
      case 'string':
        out[i] = literal(t.value);
        continue;
      case 'bracket':
      case 'quoted':
        out[i] = quoteIdent(t.value);
        break;
      case 'var':
        params.add(t.text.slice(1).toLowerCase());
        out[i] = '@' + t.text.slice(1).toLowerCase();
        continue;
      case 'global': {
        const key = t.text.toUpperCase();
        if (!ctx.globals.has(key)) throw mustDeclare(t.text, t.line);
        out[i] = literal(ctx.globals.get(key)!);
        continue;
      }
      case 'op':
        if (t.text === '+' && (isStringOperand(tokens[i - 1], i - 1) || isStringOperand(tokens[i + 1], i + 1))) out[i] = '||';
        else if (t.text === '||' || t.text === '::') throw syntaxError(t.text, t.line);
        continue;
      case 'number':
        continue;
      default:
        break;
    }
    if (t.kind === 'word') {
      const u = t.upper;
      if (u.startsWith('SQLITE_') || u.startsWith('#')) throw invalidObject(t.value, t.line);
      if (u === 'FROM') clause[depth] = 'from';
      else if (['WHERE', 'GROUP', 'ORDER', 'HAVING', 'UNION', 'EXCEPT', 'INTERSECT', 'SELECT'].includes(u)) clause[depth] = u === 'SELECT' ? 'select' : 'other';
      if (u === 'SELECT' && depth === 0 && !selectListDone) {
        selectListDone = true;
        i = selectList(i) - 1;
        continue;
      }
      if (u === 'SELECT') {
        i = topClause(isWord(tokens[i + 1], 'DISTINCT', 'ALL') ? i + 2 : i + 1) - 1;
        continue;
      }
      if (u === 'TOP') throw syntaxError('TOP', t.line);
      if (u === 'OFFSET' && tokens[i + 2] && isWord(tokens[i + 2], 'ROW', 'ROWS')) {
        const skip = bound(i + 1);
        let end = i + 3;
        let take = '-1';
        if (isWord(tokens[end], 'FETCH') && isWord(tokens[end + 1], 'NEXT', 'FIRST') && isWord(tokens[end + 3], 'ROW', 'ROWS') && isWord(tokens[end + 4], 'ONLY')) {
          take = bound(end + 2);
          end += 5;
        }
        for (let j = i; j < end; j++) out[j] = '';
        out[i] = `LIMIT ${take} OFFSET ${skip}`;
        i = end - 1;
        continue;
      }
      if (u === 'WITH' && tokens[i + 1]?.kind === 'lparen' && TABLE_HINTS.has(tokens[i + 2]?.upper ?? '')) {
        const close = matchParen(tokens, i + 1, to);
        for (let j = i; j <= close; j++) out[j] = '';
        i = close;
        continue;
      }
      // OPTION (RECOMPILE), (MAXDOP 1), ...: dropped, as they do not change the rows. SQLite has no
      // recursion limit, so a recursive CTE is not stopped at MAXRECURSION (or 100) levels.
      if (u === 'OPTION' && depth === 0 && tokens[i + 1]?.kind === 'lparen') {
        const close = matchParen(tokens, i + 1, to);
        if (close < 0) throw syntaxError(t.text, t.line);
        let nested = 0;
        for (let j = i + 2; j < close; j++) {
          const starts = j === i + 2 || (nested === 0 && tokens[j - 1].kind === 'comma');
          if (starts && (tokens[j].kind !== 'word' || !QUERY_HINTS.has(tokens[j].upper))) throw syntaxError(tokens[j].text, tokens[j].line);
          if (tokens[j].kind === 'lparen') nested++;
          else if (tokens[j].kind === 'rparen') nested--;
        }
        for (let j = i; j <= close; j++) out[j] = '';
        i = close;
        continue;
      }
      if (tokens[i + 1]?.kind === 'lparen' && tokens[i - 1]?.kind !== 'dot' && !NOT_FUNCTIONS.has(u)) {
        const close = matchParen(tokens, i + 1, to);
        if (u === 'CONVERT' || u === 'CAST') {
          rewriteCastCall(tokens, i, castTarget.get(i)!, out, after, skip);
          continue;
        }
        if (close > 0 && isWord(tokens[close + 1], 'AS') && tokens[close + 2]?.kind === 'lparen') continue; // a CTE's column list
        const fn = FUNCTIONS[u];
        if (!fn) throw notBuiltIn(t.value, t.line);
        names.functions.set(fn.toLowerCase(), t.value);
        out[i] = fn;
        if (DATE_UNIT_FUNCTIONS.has(u) && tokens[i + 2]?.kind === 'word') out[i + 2] = literal(tokens[i + 2].value.toLowerCase());
        continue;
      }
    }
    if (isIdent(t) && tokens[i + 1]?.kind === 'dot' && tokens[i - 1]?.kind !== 'dot') {
      i = nameChain(i) - 1;
    }
  }

  function bound(i: number): string {
    const t = tokens[i];
    if (t?.kind === 'number') return t.text;
    if (t?.kind === 'var') {
      params.add(t.text.slice(1).toLowerCase());
      return '@' + t.text.slice(1).toLowerCase();
    }
    if (t?.kind === 'lparen' && tokens[i + 2]?.kind === 'rparen') return bound(i + 1);
    throw sqlError(50000, 'The lab supports TOP, OFFSET and FETCH with a number or a variable only.', t?.line);
  }

  /** A dotted name at i; returns the index after it. */
  function nameChain(i: number): number {
    const parts: string[] = [tokens[i].value];
    let j = i + 1;
    while (tokens[j]?.kind === 'dot') {
      if (tokens[j + 1]?.kind === 'dot') (parts.push(''), j++);
      else if (isIdent(tokens[j + 1])) (parts.push(tokens[j + 1].value), (j += 2));
      else if (tokens[j + 1]?.text === '*') break;
      else throw syntaxError('.', tokens[j].line);
    }
    const written = tokens.slice(i, j).map((t) => t.text).join('');
    const isFunction = tokens[j]?.kind === 'lparen';
    if (isFunction) throw notBuiltIn(written, tokens[i].line);
    const { replacement, isTable } = resolveDottedName(parts, written, tokens[i].line, ctx, names);
    if (replacement === undefined) {
      for (let k = i; k < j; k++) out[k] = tokens[k].kind === 'dot' ? '.' : isIdent(tokens[k]) && tokens[k].kind !== 'word' ? quoteIdent(tokens[k].value) : tokens[k].text;
      return j;
    }
    for (let k = i; k < j; k++) out[k] = '';
    out[i] = replacement;
    const prev = tokens[i - 1];
    const inFrom = isWord(prev, 'FROM', 'JOIN', 'APPLY') || (prev?.kind === 'comma' && clause[depth] === 'from');
    const next = tokens[j];
    const hasAlias = j < to && (isWord(next, 'AS') || (isIdent(next) && !(next.kind === 'word' && RESERVED.has(next.upper))));
    if (isTable && inFrom && !hasAlias) after[j - 1] += ` AS ${quoteIdent(parts[parts.length - 1])}`;
    return j;
  }

  /** `TOP n` at i (if there) becomes a LIMIT at the end of its (sub)query; returns the index after. */
  function topClause(i: number): number {
    if (isWord(tokens[i], 'TOP')) {
      const lim = bound(i + 1);
      const width = tokens[i + 1].kind === 'lparen' ? 3 : 1;
      if (isWord(tokens[i + 1 + width], 'PERCENT') || isWord(tokens[i + 1 + width], 'WITH')) {
        throw sqlError(50000, 'The lab does not support TOP ... PERCENT or WITH TIES.', tokens[i].line);
      }
      for (let k = i; k <= i + width; k++) out[k] = '';
      // LIMIT goes at the end of this (sub)query: before the `)` that closes it, or at the end.
      let d = 0;
      let k = i + width + 1;
      for (; k < to; k++) {
        if (tokens[k].kind === 'lparen') d++;
        if (tokens[k].kind === 'rparen' && --d < 0) break;
      }
      after[k - 1] += ` LIMIT ${lim}`;
      i += width + 1;
    }
    return i;
  }

  /** The first top-level SELECT's list: TOP, `@v = expr` assignments, `alias = expr`, CAST hints. */
  function selectList(sel: number): number {
    let i = sel + 1;
    if (isWord(tokens[i], 'DISTINCT', 'ALL')) i++;
    i = topClause(i);
    const ENDS = new Set(['FROM', 'WHERE', 'GROUP', 'ORDER', 'HAVING', 'UNION', 'EXCEPT', 'INTERSECT', 'INTO', 'OPTION']);
    const items: Array<[number, number]> = [];
    let start = i;
    let d = 0;
    let k = i;
    for (; k < to; k++) {
      const t = tokens[k];
      if (t.kind === 'lparen') d++;
      else if (t.kind === 'rparen') d--;
      if (d < 0) break;
      if (d === 0 && t.kind === 'word' && ENDS.has(t.upper)) break;
      if (d === 0 && t.kind === 'comma') (items.push([start, k]), (start = k + 1));
    }
    items.push([start, k]);
    for (const [a, b] of items) {
      let exprEnd = b;
      if (b <= a) throw syntaxError(tokens[Math.min(a, to - 1)].text, tokens[Math.min(a, to - 1)].line);
      const eq = tokens[a + 1]?.kind === 'op' && tokens[a + 1].text === '=';
      if (tokens[a].kind === 'var' && eq) {
        assigns.push(tokens[a].text.toLowerCase());
        out[a] = out[a + 1] = '';
        skip.add(a).add(a + 1);
      } else if (isIdent(tokens[a]) && eq && !(tokens[a].kind === 'word' && RESERVED.has(tokens[a].upper))) {
        out[a] = out[a + 1] = '';
        after[b - 1] += ` AS ${quoteIdent(tokens[a].value)}`;
        skip.add(a).add(a + 1);
      } else {
        const last = tokens[b - 1];
        const beforeLast = tokens[b - 2];
        const aliased =
          b - a >= 2 &&
          ((isIdent(last) && !(last.kind === 'word' && RESERVED.has(last.upper))) || last.kind === 'string') &&
          beforeLast.kind !== 'dot' &&
          beforeLast.kind !== 'op';
        if (aliased) exprEnd = isWord(beforeLast, 'AS') ? b - 2 : b - 1;
        const plainColumn = (b - a === 1 && isIdent(tokens[a])) || (tokens[b - 2]?.kind === 'dot' && b - a === 3) || last.text === '*';
        if (!aliased && !plainColumn) after[b - 1] += ' AS ""';
      }
      const cast = castTarget.get(a);
      hints.push(cast && cast.close === exprEnd - 1 ? cast.type : undefined);
    }
    if (assigns.length > 0 && assigns.length !== items.length) {
      throw sqlError(141, 'A SELECT statement that assigns a value to a variable must not be combined with data-retrieval operations.', tokens[sel].line, 15);
    }
    // Process the list's own tokens (functions, names, literals) by continuing the main loop.
    return i;
  }

  let sql = '';
  for (let i = from; i < to; i++) {
    const piece = out[i] + after[i];
    if (piece === '') continue;
    sql += (sql && i > from ? ' ' : '') + piece;
  }
  return { sql, params, names, hints, assigns };
}

export { parseSqlType };
