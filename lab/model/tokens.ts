// A small T-SQL tokenizer for the statements the model interprets (one statement at a time,
// comments already removed by the engine): [bracketed] and plain identifiers, 'strings' and
// N'strings' with '' escapes, @variables, numbers and punctuation.
import type { CellValue } from '../sql/contract.js';

export type TokenKind = 'word' | 'ident' | 'string' | 'var' | 'num' | 'punct';

export interface Token {
  kind: TokenKind;
  /** Identifier or string content unescaped; words as written; variables without '@'. */
  value: string;
}

export function tokenize(text: string): Token[] | undefined {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '[') {
      let v = '';
      i++;
      for (;;) {
        if (i >= text.length) return undefined;
        if (text[i] === ']') {
          if (text[i + 1] === ']') { v += ']'; i += 2; continue; }
          i++;
          break;
        }
        v += text[i++];
      }
      out.push({ kind: 'ident', value: v });
      continue;
    }
    if (c === "'" || ((c === 'N' || c === 'n') && text[i + 1] === "'")) {
      i += c === "'" ? 1 : 2;
      let v = '';
      for (;;) {
        if (i >= text.length) return undefined;
        if (text[i] === "'") {
          if (text[i + 1] === "'") { v += "'"; i += 2; continue; }
          i++;
          break;
        }
        v += text[i++];
      }
      out.push({ kind: 'string', value: v });
      continue;
    }
    const word = /^[A-Za-z_#][\w@#$]*/.exec(text.slice(i));
    if (word) { out.push({ kind: 'word', value: word[0] }); i += word[0].length; continue; }
    const variable = /^@@?[\w@#$]+/.exec(text.slice(i));
    if (variable) { out.push({ kind: 'var', value: variable[0].replace(/^@/, '') }); i += variable[0].length; continue; }
    const num = /^[-+]?\d+(\.\d+)?/.exec(text.slice(i));
    if (num) { out.push({ kind: 'num', value: num[0] }); i += num[0].length; continue; }
    out.push({ kind: 'punct', value: c });
    i++;
  }
  while (out.length > 0 && out[out.length - 1].kind === 'punct' && out[out.length - 1].value === ';') out.pop();
  return out;
}

/** A cursor over tokens with keyword matching (case-insensitive). */
export class Cursor {
  pos = 0;
  constructor(readonly tokens: Token[]) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.pos + offset];
  }

  atEnd(): boolean {
    return this.pos >= this.tokens.length;
  }

  /** Consumes the keywords if they all come next. */
  kw(...words: string[]): boolean {
    for (let k = 0; k < words.length; k++) {
      const t = this.tokens[this.pos + k];
      if (!t || t.kind !== 'word' || t.value.toUpperCase() !== words[k]) return false;
    }
    this.pos += words.length;
    return true;
  }

  punct(p: string): boolean {
    const t = this.peek();
    if (t && t.kind === 'punct' && t.value === p) { this.pos++; return true; }
    return false;
  }

  /** An object name: [bracketed], plain, or (where T-SQL allows) a string. */
  name(allowString = false): string | undefined {
    const t = this.peek();
    if (t && (t.kind === 'ident' || t.kind === 'word' || (allowString && t.kind === 'string'))) {
      this.pos++;
      return t.value;
    }
    return undefined;
  }

  /** What to quote in a 102 "Incorrect syntax near" message. */
  near(): string {
    const t = this.peek() ?? this.tokens[this.tokens.length - 1];
    return t ? t.value : '';
  }
}

/** A literal or @variable value from a statement. */
export function tokenValue(t: Token | undefined, vars: Record<string, CellValue>): CellValue | undefined {
  if (!t) return undefined;
  if (t.kind === 'string' || t.kind === 'word' || t.kind === 'ident') return t.value;
  if (t.kind === 'num') return Number(t.value);
  if (t.kind === 'var') return lookupVar(vars, t.value);
  return undefined;
}

/** Variable names compare case-insensitively (the server collation is CI). */
export function lookupVar(vars: Record<string, CellValue>, name: string): CellValue | undefined {
  if (name in vars) return vars[name];
  const key = Object.keys(vars).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : vars[key];
}
