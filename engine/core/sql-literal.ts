// How a text value is written as a T-SQL Unicode string literal, in one place: the `str` template
// helper writes it so, and the redactor masks a secret in that form too.

/**
 * Line breaks, as sqlcmd, SSMS and engine/drivers/sql/batches.ts see lines (CR, LF) and as editors may
 * show them (NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR). A value that brings one into a script
 * can put a `GO` on a line of its own, and a script runner ends the batch there even inside a
 * string literal: the rest of the value would run as T-SQL.
 */
export const LINE_BREAK = /[\r\n\u0085\u2028\u2029]/;

/**
 * `N'text'` with `'` doubled. Text with line breaks becomes a concatenation that keeps every part
 * on the line it started on, e.g. `(N'a' + NCHAR(10) + N'GO')`: the same value to the server, and
 * no line of the script that a runner could take for `GO`.
 */
export function unicodeStringLiteral(s: string): string {
  const literal = (text: string) => `N'${text.replace(/'/g, "''")}'`;
  if (!LINE_BREAK.test(s)) return literal(s);
  const parts = s.split(new RegExp(`(${LINE_BREAK.source})`)).filter((p) => p !== '');
  return `(${parts.map((p) => (LINE_BREAK.test(p) ? `NCHAR(${p.codePointAt(0)})` : literal(p))).join(' + ')})`;
}
