// T-SQL tokenizer: enough of the lexical grammar to split batches, find variables and rewrite
// the dialect for SQLite without ever looking inside strings, [brackets], "quotes" or comments.
import { SqlError } from './contract.js';

export type TokenKind =
  | 'word' // identifier or keyword
  | 'bracket' // [identifier]
  | 'quoted' // "identifier"
  | 'string' // 'text' or N'text'
  | 'number'
  | 'var' // @name
  | 'global' // @@NAME
  | 'op'
  | 'dot'
  | 'comma'
  | 'lparen'
  | 'rparen'
  | 'semi';

export interface Token {
  kind: TokenKind;
  /** Source text exactly as written. */
  text: string;
  /** Identifier name without quoting, string content without quotes, word as written. */
  value: string;
  /** Upper-cased `value` for words, for keyword checks. */
  upper: string;
  start: number;
  end: number;
  /** 1-based line of the token's first character. */
  line: number;
  /** First token on its line (GO detection). */
  lineStart: boolean;
  /** `N'...'` literal. */
  national?: boolean;
}

const WORD_START = /[A-Za-z_#\p{L}]/u;
const WORD_PART = /[A-Za-z0-9_#$@\p{L}\p{N}]/u;
const TWO_CHAR_OPS = new Set(['<>', '!=', '>=', '<=', '!<', '!>', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '||', '::']);

function lineAt(sql: string, pos: number, from: { pos: number; line: number }): number {
  let line = from.line;
  for (let i = from.pos; i < pos; i++) if (sql.charCodeAt(i) === 10) line++;
  from.pos = pos;
  from.line = line;
  return line;
}

/** Throws SqlError 105 (unclosed quote) or 113 (unclosed comment) like SQL Server's parser. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  const cursor = { pos: 0, line: 1 };
  let lastLine = 0;
  let i = 0;
  const n = sql.length;
  const push = (kind: TokenKind, start: number, end: number, value: string, national = false) => {
    const line = lineAt(sql, start, cursor);
    const text = sql.slice(start, end);
    const t: Token = {
      kind,
      text,
      value,
      upper: kind === 'word' ? value.toUpperCase() : value,
      start,
      end,
      line,
      lineStart: line !== lastLine,
    };
    if (national) t.national = true;
    lastLine = line;
    tokens.push(t);
  };
  const closeQuoted = (start: number, close: string, number: number): number => {
    let j = start + 1;
    for (;;) {
      const k = sql.indexOf(close, j);
      if (k < 0) {
        const line = lineAt(sql, start, cursor);
        const rest = sql.slice(start + 1);
        throw Object.assign(new SqlError(number, `Unclosed quotation mark after the character string '${rest}'.`, 1, 15), { line });
      }
      if (sql[k + 1] === close) {
        j = k + 2;
        continue;
      }
      return k + 1;
    }
  };
  while (i < n) {
    const c = sql[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      // A CR ends a `--` comment as an LF does (MicrosoftDocs/sql-docs, comment-transact-sql.md:
      // "terminated by a new line, which is specified with a carriage return character ..., line
      // feed character ..., or a combination of the two"): what follows a lone CR runs.
      let k = i + 2;
      while (k < n && sql[k] !== '\n' && sql[k] !== '\r') k++;
      i = k;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      // T-SQL block comments nest.
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (sql[j] === '/' && sql[j + 1] === '*') (depth++, (j += 2));
        else if (sql[j] === '*' && sql[j + 1] === '/') (depth--, (j += 2));
        else j++;
      }
      if (depth > 0) {
        const line = lineAt(sql, n, cursor);
        throw Object.assign(new SqlError(113, "Missing end comment mark '*/'.", 1, 15), { line });
      }
      i = j;
      continue;
    }
    if ((c === 'N' || c === 'n') && sql[i + 1] === "'") {
      const end = closeQuoted(i + 1, "'", 105);
      push('string', i, end, sql.slice(i + 2, end - 1).replace(/''/g, "'"), true);
      i = end;
      continue;
    }
    if (c === "'") {
      const end = closeQuoted(i, "'", 105);
      push('string', i, end, sql.slice(i + 1, end - 1).replace(/''/g, "'"));
      i = end;
      continue;
    }
    if (c === '[') {
      const end = closeQuoted(i, ']', 105);
      push('bracket', i, end, sql.slice(i + 1, end - 1).replace(/\]\]/g, ']'));
      i = end;
      continue;
    }
    if (c === '"') {
      const end = closeQuoted(i, '"', 105);
      push('quoted', i, end, sql.slice(i + 1, end - 1).replace(/""/g, '"'));
      i = end;
      continue;
    }
    if (c === '@') {
      const global = sql[i + 1] === '@';
      let j = i + (global ? 2 : 1);
      while (j < n && WORD_PART.test(sql[j])) j++;
      push(global ? 'global' : 'var', i, j, sql.slice(i, j));
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      let j = i;
      if (c === '0' && (sql[i + 1] === 'x' || sql[i + 1] === 'X')) {
        j += 2;
        while (j < n && /[0-9A-Fa-f]/.test(sql[j])) j++;
      } else {
        while (j < n && /[0-9]/.test(sql[j])) j++;
        if (sql[j] === '.') {
          j++;
          while (j < n && /[0-9]/.test(sql[j])) j++;
        }
        if ((sql[j] === 'e' || sql[j] === 'E') && /[-+0-9]/.test(sql[j + 1] ?? '')) {
          j += 2;
          while (j < n && /[0-9]/.test(sql[j])) j++;
        }
      }
      push('number', i, j, sql.slice(i, j));
      i = j;
      continue;
    }
    if (WORD_START.test(c)) {
      let j = i + 1;
      while (j < n && WORD_PART.test(sql[j])) j++;
      push('word', i, j, sql.slice(i, j));
      i = j;
      continue;
    }
    const single: Record<string, TokenKind> = { '.': 'dot', ',': 'comma', '(': 'lparen', ')': 'rparen', ';': 'semi' };
    if (single[c]) {
      push(single[c], i, i + 1, c);
      i++;
      continue;
    }
    const two = sql.slice(i, i + 2);
    if (TWO_CHAR_OPS.has(two)) {
      push('op', i, i + 2, two);
      i += 2;
      continue;
    }
    push('op', i, i + 1, c);
    i++;
  }
  return tokens;
}

export function isIdent(t: Token | undefined): boolean {
  return !!t && (t.kind === 'word' || t.kind === 'bracket' || t.kind === 'quoted');
}

export function isWord(t: Token | undefined, ...words: string[]): boolean {
  return !!t && t.kind === 'word' && words.includes(t.upper);
}

/** Index of the `)` matching the `(` at `open`, or -1. */
export function matchParen(tokens: Token[], open: number, limit = tokens.length): number {
  let depth = 0;
  for (let i = open; i < limit; i++) {
    if (tokens[i].kind === 'lparen') depth++;
    else if (tokens[i].kind === 'rparen' && --depth === 0) return i;
  }
  return -1;
}

/** Source text of tokens[from..to) with comments collapsed (a newline kept when a gap had one). */
export function sourceText(sql: string, tokens: Token[], from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) {
    if (i > from) {
      const gap = sql.slice(tokens[i - 1].end, tokens[i].start);
      if (!/--|\/\*/.test(gap)) out += gap;
      else {
        const bare = gap.replace(/--[^\r\n]*/g, '').replace(/\/\*[\s\S]*\*\//g, ' ').replace(/[ \t]+\n/g, '\n');
        out += bare === '' ? ' ' : bare;
      }
    }
    out += tokens[i].text;
  }
  return out;
}
