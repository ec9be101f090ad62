// The engine's one T-SQL scanner. Everything that looks at SQL text to decide something (where a
// batch ends, whether a script only reads, whether a batch is one statement) reads these tokens,
// so a `--`, `/*`, `GO` or `;` inside a string, a quoted identifier or a comment is text to all of
// them alike. Lexical rules as SQL Server's documentation gives them (MicrosoftDocs/sql-docs:
// "Constants", "Database identifiers", "-- (Comment)", "Slash Star (Block Comment)"):
// - '...' strings, a quote inside doubled (''); N'...' is one Unicode string token;
// - [bracketed identifiers], a `]` inside doubled (]]); "quoted identifiers", `"` inside doubled;
// - `--` comments to the end of the line, which a CR ends as well as an LF: "Comments inserted
//   with -- are terminated by a new line, which is specified with a carriage return character
//   (U+000A), line feed character (U+000D), or a combination of the two" (comment-transact-sql.md;
//   the code points are swapped there, the characters are not). A lone CR is a `newline` token
//   too, so `SELECT 1 --x<CR>DELETE FROM t` is a SELECT, a comment and a DELETE, as on the server;
//   `/* */` comments, which nest;
// - words: a letter, `_`, `@` or `#`, then letters, digits, `_`, `@`, `#`, `$`;
// - numbers read strictly (digits, one `.`, an exponent only with digits, 0x hex), so that in
//   `1DELETE` the word DELETE is a word, as it is to the server (`SELECT 1a` names a column a).
// A string, identifier or comment still open at the end of the text is marked `unterminated`.

export type SqlTokenKind =
  | 'word'
  | 'number'
  | 'string'
  | 'bracketed'
  | 'quoted'
  | 'lineComment'
  | 'blockComment'
  | 'space'
  | 'newline'
  | 'symbol';

export interface SqlToken {
  readonly kind: SqlTokenKind;
  readonly text: string;
  /** Offset of the token's first character in the scanned text. */
  readonly start: number;
  /**
   * 1-based line of the token's first character. Lines are counted at `\n` only: a lone CR ends
   * a `--` comment, but what a script runner counts as a line there is not documented.
   */
  readonly line: number;
  /** The text ends inside this string, identifier or block comment. */
  readonly unterminated?: true;
}

const WORD_START = /[\p{L}_@#]/u;
const WORD_PART = /[\p{L}\p{Nd}_@#$]/u;
const DIGIT = /[0-9]/;
const HEX = /[0-9A-Fa-f]/;
const SPACE = /[^\S\r\n]/;

// ASCII answered by character code, the regular expressions above asked only beyond it: the same
// classes, but `validate` and `plan` scan every read step's SQL with code V8 has not optimised yet,
// where a regular expression test per character is the scanner's largest cost (bench/startup).
const isAsciiLetter = (code: number): boolean => (code >= 97 && code <= 122) || (code >= 65 && code <= 90);
const isAsciiDigit = (code: number): boolean => code >= 48 && code <= 57;

function isWordStart(c: string): boolean {
  const code = c.charCodeAt(0);
  if (code < 128) return isAsciiLetter(code) || code === 95 || code === 64 || code === 35; // _ @ #
  return WORD_START.test(c);
}

function isWordPart(c: string): boolean {
  const code = c.charCodeAt(0);
  if (code < 128) return isAsciiLetter(code) || isAsciiDigit(code) || code === 95 || code === 64 || code === 35 || code === 36; // _ @ # $
  return WORD_PART.test(c);
}

/** A space that is not a line break: tab, vertical tab, form feed, space, and Unicode's others. */
function isSpace(c: string): boolean {
  const code = c.charCodeAt(0);
  if (code < 128) return code === 32 || code === 9 || code === 11 || code === 12;
  return SPACE.test(c);
}

/**
 * Scans already made, by text: the checks ask about the same script several times (its batches,
 * whether it reads, whether a batch is one statement), in validate, in plan and before a send, and
 * the scanner's cold code is a good part of validate's time (bench/startup). A list is shared:
 * frozen, of tokens typed read-only. Bounded: scripts of up to 64 kB, the last 256 of them.
 */
const scans = new Map<string, readonly SqlToken[]>();
const MAX_CACHED_TEXT = 64 * 1024;
const MAX_CACHED_SCANS = 256;

/** Tokens of `text`, in order; their texts joined give `text` back exactly. */
export function scanSql(text: string): readonly SqlToken[] {
  const known = scans.get(text);
  if (known) return known;
  const tokens = Object.freeze(scanText(text));
  if (text.length <= MAX_CACHED_TEXT) {
    if (scans.size >= MAX_CACHED_SCANS) scans.clear();
    scans.set(text, tokens);
  }
  return tokens;
}

function scanText(text: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let i = 0;
  let line = 1;
  const push = (kind: SqlTokenKind, end: number, unterminated = false) => {
    tokens.push(unterminated ? { kind, text: text.slice(i, end), start: i, line, unterminated: true } : { kind, text: text.slice(i, end), start: i, line });
    for (let k = i; k < end; k++) if (text.charCodeAt(k) === 10) line++;
    i = end;
  };
  /** End of a quoted token opened at `from` by `open`, closed by `close` (doubled `close` is text). */
  const quoted = (from: number, close: string): { end: number; closed: boolean } => {
    let k = from + 1;
    while (k < text.length) {
      if (text[k] === close) {
        if (text[k + 1] === close) k += 2;
        else return { end: k + 1, closed: true };
      } else k++;
    }
    return { end: text.length, closed: false };
  };

  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '\n') {
      push('newline', i + 1);
    } else if (c === '\r') {
      push('newline', next === '\n' ? i + 2 : i + 1);
    } else if (isSpace(c)) {
      let k = i + 1;
      while (k < text.length && isSpace(text[k]!)) k++;
      push('space', k);
    } else if (c === '-' && next === '-') {
      let k = i + 2;
      while (k < text.length && text[k] !== '\n' && text[k] !== '\r') k++;
      push('lineComment', k);
    } else if (c === '/' && next === '*') {
      let depth = 1;
      let k = i + 2;
      while (k < text.length && depth > 0) {
        if (text[k] === '/' && text[k + 1] === '*') {
          depth++;
          k += 2;
        } else if (text[k] === '*' && text[k + 1] === '/') {
          depth--;
          k += 2;
        } else k++;
      }
      push('blockComment', k, depth > 0);
    } else if (c === "'" || ((c === 'N' || c === 'n') && next === "'")) {
      const { end, closed } = quoted(c === "'" ? i : i + 1, "'");
      push('string', end, !closed);
    } else if (c === '[') {
      const { end, closed } = quoted(i, ']');
      push('bracketed', end, !closed);
    } else if (c === '"') {
      const { end, closed } = quoted(i, '"');
      push('quoted', end, !closed);
    } else if (DIGIT.test(c) || (c === '.' && next !== undefined && DIGIT.test(next))) {
      push('number', numberEnd(text, i));
    } else if (isWordStart(c)) {
      let k = i + 1;
      while (k < text.length && isWordPart(text[k]!)) k++;
      push('word', k);
    } else {
      push('symbol', i + 1);
    }
  }
  return tokens;
}

function numberEnd(text: string, from: number): number {
  let k = from;
  if (text[k] === '0' && (text[k + 1] === 'x' || text[k + 1] === 'X')) {
    k += 2;
    while (k < text.length && HEX.test(text[k]!)) k++;
    return k;
  }
  while (k < text.length && DIGIT.test(text[k]!)) k++;
  if (text[k] === '.') {
    k++;
    while (k < text.length && DIGIT.test(text[k]!)) k++;
  }
  if (text[k] === 'e' || text[k] === 'E') {
    const sign = text[k + 1] === '+' || text[k + 1] === '-' ? 1 : 0;
    if (DIGIT.test(text[k + 1 + sign] ?? '')) {
      k += 1 + sign;
      while (k < text.length && DIGIT.test(text[k]!)) k++;
    }
  }
  return k;
}

/** Comments, spaces and line breaks: what the server skips between tokens. */
export function isTrivia(token: SqlToken): boolean {
  return token.kind === 'space' || token.kind === 'newline' || token.kind === 'lineComment' || token.kind === 'blockComment';
}

/** The first token still open at the end of the text, if any. */
export function unterminatedToken(tokens: readonly SqlToken[]): SqlToken | undefined {
  return tokens.find((t) => t.unterminated);
}

/** `string literal`, `bracketed identifier`, ... for messages about a token. */
export function describeToken(token: SqlToken): string {
  switch (token.kind) {
    case 'string':
      return 'string literal';
    case 'bracketed':
      return 'bracketed identifier';
    case 'quoted':
      return 'quoted identifier';
    case 'blockComment':
      return 'block comment';
    case 'lineComment':
      return 'line comment';
    default:
      return token.kind;
  }
}
