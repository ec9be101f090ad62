// A read query's rows as a small text table for the operator's screen (sqlExec logs it under its
// step): a header, a rule, at most `maxRows` rows, each cell cut to `maxCell` characters, control
// characters written as escapes so a value cannot move the cursor. The outputs keep the data.

export interface TableLimits {
  maxRows?: number;
  maxCell?: number;
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function visible(text: string, max: number): string {
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > max ? `${escaped.slice(0, Math.max(1, max - 3))}...` : escaped;
}

/** The rows as lines; columns in the order given. */
export function rowsTable(columns: readonly string[], rows: ReadonlyArray<Record<string, unknown>>, limits: TableLimits = {}): string[] {
  const maxRows = limits.maxRows ?? 10;
  const maxCell = limits.maxCell ?? 30;
  const shown = rows.slice(0, maxRows).map((r) => columns.map((c) => visible(cellText(r[c]), maxCell)));
  const header = columns.map((c) => visible(c, maxCell));
  const widths = header.map((h, i) => Math.max(h.length, ...shown.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...shown.map(line)];
  if (rows.length > maxRows) out.push(`(${rows.length - maxRows} more row${rows.length - maxRows > 1 ? 's' : ''} not shown)`);
  return out;
}
