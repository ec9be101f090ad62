// CAST(x AS type) and CONVERT(type, x[, style]) for the rewriter: where each call's target type
// is (found before the main pass, so string `+` next to a character cast becomes `||`), and how
// the call becomes SQLite's CAST or one of the lab's conversion UDFs.
import { type Token, isWord, matchParen } from './lexer.js';
import { CAST_UDF, ISO8601_UDF, sqliteCastType } from './dialect.js';
import { syntaxError } from './errors.js';
import { requireSqlType } from './types.js';
import type { SqlType } from '../tds/contract.js';

export interface CastTarget {
  type: SqlType;
  /** The type's tokens are [typeFrom, typeTo). */
  typeFrom: number;
  typeTo: number;
  /** The `)` that closes the call. */
  close: number;
}

export interface CastTargets {
  /** By the index of the CAST/CONVERT word. */
  castTarget: Map<number, CastTarget>;
  /** Where character (nvarchar) casts open and close: a `+` next to one joins strings. */
  charCastOpen: Set<number>;
  charCastClose: Set<number>;
}

/** Every CAST/CONVERT call in tokens[from..to) and its target type; a malformed one is an error. */
export function findCastTargets(tokens: Token[], from: number, to: number): CastTargets {
  const castTarget = new Map<number, CastTarget>();
  const charCastOpen = new Set<number>();
  const charCastClose = new Set<number>();
  for (let i = from; i < to; i++) {
    if (!isWord(tokens[i], 'CAST', 'CONVERT') || tokens[i + 1]?.kind !== 'lparen' || tokens[i - 1]?.kind === 'dot') continue;
    const close = matchParen(tokens, i + 1, to);
    if (close < 0) throw syntaxError(tokens[i].text, tokens[i].line);
    let typeFrom = -1;
    let typeTo = -1;
    let d = 0;
    for (let j = i + 2; j < close; j++) {
      if (tokens[j].kind === 'lparen') d++;
      if (tokens[j].kind === 'rparen') d--;
      if (d !== 0) continue;
      if (tokens[i].upper === 'CAST' && isWord(tokens[j], 'AS')) (typeFrom = j + 1), (typeTo = close);
      if (tokens[i].upper === 'CONVERT' && tokens[j].kind === 'comma') {
        (typeFrom = i + 2), (typeTo = j);
        break;
      }
    }
    if (typeFrom < 0 || typeFrom >= typeTo) throw syntaxError(tokens[close].text, tokens[close].line);
    const typeText = tokens.slice(typeFrom, typeTo).map((t) => t.text).join('');
    const type = requireSqlType(typeText, tokens[i].line);
    castTarget.set(i, { type, typeFrom, typeTo, close });
    if (type.type === 'nvarchar') (charCastOpen.add(i), charCastClose.add(close));
  }
  return { castTarget, charCastOpen, charCastClose };
}

/**
 * Rewrites the CAST/CONVERT call at i in place: `out` holds each token's output text, `after`
 * text appended after a token, `skip` the tokens the main pass must leave alone.
 */
export function rewriteCastCall(tokens: Token[], i: number, c: CastTarget, out: string[], after: string[], skip: Set<number>): void {
  const typeText = tokens.slice(c.typeFrom, c.typeTo).map((t) => t.text).join('').toLowerCase();
  const base = typeText.replace(/\(.*$/, '');
  const udf = CAST_UDF[base];
  for (let j = c.typeFrom; j < c.typeTo; j++) (out[j] = ''), skip.add(j);
  if (tokens[i].upper === 'CAST') {
    out[c.typeFrom - 1] = udf ? '' : 'AS'; // the AS before the type
    out[c.typeFrom] = udf ? '' : sqliteCastType(c.type);
    out[i] = udf ?? 'CAST';
  } else {
    out[c.typeTo] = ''; // the comma after the type
    // CONVERT's optional style argument (after a second top-level comma): 126 (ISO8601) to a
    // character type is honoured, any other style is dropped (the lab's own text for the value).
    let d = 0;
    let styleComma = -1;
    for (let j = c.typeTo + 1; j < c.close; j++) {
      if (tokens[j].kind === 'lparen') d++;
      if (tokens[j].kind === 'rparen') d--;
      if (d === 0 && tokens[j].kind === 'comma') styleComma = j;
    }
    const iso8601 = styleComma > 0 && c.type.type === 'nvarchar' && styleComma + 2 === c.close && tokens[styleComma + 1].kind === 'number' && tokens[styleComma + 1].text === '126';
    if (styleComma > 0) for (let j = styleComma; j < c.close; j++) (out[j] = ''), skip.add(j);
    skip.add(c.typeTo);
    out[i] = udf ?? 'CAST';
    const valueEnd = (styleComma > 0 ? styleComma : c.close) - 1;
    if (iso8601) (out[c.typeTo] = `${ISO8601_UDF}(`), (after[valueEnd] += ')');
    if (!udf) after[valueEnd] += ` AS ${sqliteCastType(c.type)}`;
  }
}
