// What a reviewer reads must be what will be sent. A carriage return sends a terminal's cursor
// back over the line (`DROP ...; --<CR>SELECT 1` shows only the SELECT), an ANSI escape sequence
// can hide text (`ESC[8m`), a bidi override (U+202E) shows text in another order: so the plan,
// as text and as `--format sql`, shows every such character escaped, as `\r`, `\x1b`, `\u202e`.
// Kept as they are: LF (the plan's own line breaks) and TAB (indentation). A backslash is not
// doubled, so `\r` in a value may also be those two characters; either way it is visible.

/**
 * C0 controls but TAB and LF, DEL, C1 controls (NEL among them), the line and paragraph
 * separators, and the invisible format characters: zero-width space/joiners, the direction marks,
 * embeddings, overrides and isolates (U+061C, U+200B-U+200F, U+202A-U+202E, U+2060-U+2069) and
 * the byte order mark.
 */
const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

const NAMED: Record<string, string> = { '\r': '\\r', '\u000b': '\\v', '\f': '\\f', '\b': '\\b', '\0': '\\0' };

function escapeOne(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** The text with every control or invisible format character written as an escape. */
export function escapeControls(text: string): string {
  return text.replace(HIDDEN, escapeOne);
}

const HIDDEN_ONE = new RegExp(HIDDEN.source);

/** Whether the text holds a character escapeControls would escape. */
export function hasControls(text: string): boolean {
  return HIDDEN_ONE.test(text);
}

/** A copy of plain JSON data with every string (keys too) escaped, and whether anything was. */
export function visibleData<T>(value: T): { value: T; escaped: boolean } {
  let escaped = false;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const e = escapeControls(v);
      if (e !== v) escaped = true;
      return e;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      // defineProperty: a key named __proto__ (a hand-written plan's input) stays a key.
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        Object.defineProperty(out, walk(k) as string, { value: walk(x), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return v;
  };
  const result = walk(value) as T;
  return { value: result, escaped };
}

/** The line a plan ends with when it showed escapes. */
export const ESCAPES_NOTE =
  'Control characters in this plan are shown escaped (\\r carriage return, \\x1b escape, \\u202e right-to-left override, ...); the text sent holds the characters themselves.';
