// Text and JSON renderings of diagnostics. Text: `file:line:col: error <code>: <message>`, then the
// source line and a caret under the column. Source lines that hold secret-looking keys are masked.
import type { Diagnostic } from '../core/types.js';

// A password-like key (block or flow style) and its value: quoted, or plain up to `,` `}` `]` `#`.
const SECRET_ENTRY = /(\b(?:password\w*|passwd|pwd|secret\w*|token)["']?\s*:\s*)("(?:[^"\\]|\\.)*"?|'(?:[^']|'')*'?|[^,}\]#]+)/gi;

/** Masks the values of `password:`-like keys so a quoted source line never repeats a secret. */
export function redactSourceLine(line: string): string {
  return line.replace(SECRET_ENTRY, (_m, key: string) => `${key}***`);
}

function lineOf(source: string | undefined, line: number): string | undefined {
  if (source === undefined) return undefined;
  let start = 0;
  for (let i = 1; i < line; i++) {
    const next = source.indexOf('\n', start);
    if (next === -1) return undefined;
    start = next + 1;
  }
  const end = source.indexOf('\n', start);
  return source.slice(start, end === -1 ? undefined : end).replace(/\r$/, '');
}

export function renderDiagnosticsText(diags: readonly Diagnostic[], sources: Map<string, string>, opts: { color: boolean }): string {
  const c = (code: string, s: string) => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const out: string[] = [];
  for (const d of diags) {
    const sev = d.severity === 'error' ? c('31;1', 'error') : c('33;1', 'warning');
    out.push(`${c('1', `${d.file}:${d.line}:${d.column}`)}: ${sev} ${c('2', d.code)}: ${d.message}`);
    const text = lineOf(sources.get(d.file), d.line);
    if (text === undefined || text.length > 300) continue;
    const shown = redactSourceLine(text).replace(/\t/g, ' ');
    out.push(`  ${shown}`);
    const col = Math.min(d.column - 1, Math.max(0, shown.length));
    out.push(`  ${' '.repeat(col)}${c('32;1', '^')}`);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

export function renderDiagnosticsJson(diags: readonly Diagnostic[]): string {
  return `${JSON.stringify(diags, null, 2)}\n`;
}

/** For an event stream (`apply --format json`): one `{"event":"diagnostic", ...}` line per problem. */
export function renderDiagnosticsEvents(diags: readonly Diagnostic[]): string {
  return diags.map((d) => JSON.stringify({ event: 'diagnostic', ...d }) + '\n').join('');
}
