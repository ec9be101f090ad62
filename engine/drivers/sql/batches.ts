// Splits a T-SQL script into batches the way sqlcmd and SSMS do: a line holding only `GO`
// (any case, optionally `GO n` to run the batch n times, optionally a trailing `--` comment)
// ends a batch. The lines are found with the engine's T-SQL scanner (engine/drivers/sql/scanner.ts), so a GO
// line inside a string, a quoted or bracketed identifier or a block comment is text.
// Lines end at LF or CR LF. What the tools make of other line breaks is not documented (the GO
// page, sql-server-utilities-statements-go.md, says only that GO is alone on its line): an
// editor such as SSMS's may break a line at a lone CR, U+0085, U+2028 or U+2029 where sqlcmd
// reads on. So a GO next to one of those is refused rather than guessed (BatchSplitError).
// Each batch remembers where it starts so a server's line number maps back to the script.
import { scanSql, type SqlToken } from './scanner.js';

export interface SqlBatch {
  /** The batch text, lines joined with `\n`, without the GO line. */
  text: string;
  /** 1-based line of the script where the batch's first line is. */
  startLine: number;
  /** How many times to run it (`GO 3` → 3). */
  repeat: number;
}

export class BatchSplitError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'BatchSplitError';
  }
}

/**
 * The count a run of tokens that starts a line makes a GO line with (`GO` → 1, `GO 3` → 3), or
 * undefined when the line is not a GO line. A token that spans lines never belongs to one.
 */
function goLineCount(line: SqlToken[], lineNumber: number): number | undefined {
  if (line.some((t) => t.text.includes('\n'))) return undefined;
  let k = 0;
  const skipSpace = () => {
    while (line[k]?.kind === 'space') k++;
  };
  skipSpace();
  const go = line[k];
  if (go?.kind !== 'word' || go.text.toLowerCase() !== 'go') return undefined;
  k++;
  let count: string | undefined;
  if (line[k]?.kind === 'space') {
    skipSpace();
    let text = '';
    while (k < line.length && line[k]!.kind !== 'space' && line[k]!.kind !== 'lineComment') text += line[k++]!.text;
    if (text !== '') count = text;
    skipSpace();
  }
  if (line[k]?.kind === 'lineComment') k++;
  if (k < line.length) return undefined;
  if (count === undefined) return 1;
  if (!/^\d+$/.test(count) || Number(count) < 1) {
    throw new BatchSplitError(lineNumber, `Line ${lineNumber}: GO takes a positive count, got '${count}'.`);
  }
  return Number(count);
}

/** The GO lines of a script: line number → repeat count. Lines end at LF (or CR LF). */
function goLines(script: string): Map<number, number> {
  const found = new Map<number, number>();
  let line: SqlToken[] = [];
  let lineNumber = 1;
  const end = () => {
    const count = goLineCount(line, lineNumber);
    if (count !== undefined) found.set(lineNumber, count);
  };
  for (const token of scanSql(script)) {
    // A lone CR ends a `--` comment but not the line: it stays in it (and makes it no GO line).
    if (token.kind === 'newline' && token.text.endsWith('\n')) {
      end();
      line = [];
      lineNumber = token.line + 1;
    } else line.push(token);
  }
  end();
  return found;
}

/** A line break other than LF and CR LF. */
const ODD_BREAK = /\r(?!\n)|[\u0085\u2028\u2029]/;
const ANY_BREAK = /(\r\n|\n|\r|\u0085|\u2028|\u2029)/;
/** Text that starts with the word GO. */
const STARTS_WITH_GO = /^\s*go(?![\p{L}\p{Nd}_@#$])/iu;

/**
 * Refuses a GO that a lone CR, U+0085, U+2028 or U+2029 puts at the start or end of a line: one
 * tool would end a batch there and another would not. Checked on the text, strings included
 * (conservative: a tool that splits lines first does not know where strings are).
 */
function refuseAmbiguousGo(script: string): void {
  if (!ODD_BREAK.test(script)) return;
  const parts = script.split(ANY_BREAK);
  const odd = (sep: string | undefined) => sep !== undefined && sep !== '\n' && sep !== '\r\n';
  let line = 1;
  for (let i = 0; i < parts.length; i += 2) {
    const before = parts[i - 1];
    const after = parts[i + 1];
    if ((odd(before) || odd(after)) && STARTS_WITH_GO.test(parts[i]!)) {
      throw new BatchSplitError(
        line,
        `Line ${line}: a GO stands next to a line break other than LF or CR LF (a lone carriage return, U+0085, U+2028 or U+2029); SSMS may end a batch there and sqlcmd may not, so where the batches end is not certain. Write line breaks as LF or CR LF.`,
      );
    }
    if (after?.endsWith('\n')) line++;
  }
}

export function splitBatches(script: string): SqlBatch[] {
  refuseAmbiguousGo(script);
  const lines = script.split(/\r?\n/);
  const gos = goLines(script);
  const batches: SqlBatch[] = [];
  let current: string[] = [];
  let startLine = 1;

  const finish = (repeat: number) => {
    const text = current.join('\n');
    if (text.trim() !== '') batches.push({ text, startLine, repeat });
  };

  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    const repeat = gos.get(lineNumber);
    if (repeat !== undefined) {
      finish(repeat);
      current = [];
      startLine = lineNumber + 1;
      return;
    }
    current.push(line);
  });
  finish(1);
  return batches;
}

/** Maps a 1-based line number reported for a batch to the line in the whole script. */
export function scriptLine(batch: Pick<SqlBatch, 'startLine'>, batchLine: number): number {
  return batch.startLine + Math.max(1, batchLine) - 1;
}

/**
 * The script's lines around `line`, numbered, the line itself marked with `>`, for error
 * messages: enough to find the statement without opening the runbook.
 */
export function excerpt(script: string, line: number, radius = 2): string {
  const lines = script.split(/\r?\n/);
  const from = Math.max(1, line - radius);
  const to = Math.min(lines.length, line + radius);
  const width = String(to).length;
  const out: string[] = [];
  for (let n = from; n <= to; n++) {
    out.push(`${n === line ? '>' : ' '} ${String(n).padStart(width)} | ${lines[n - 1]}`);
  }
  return out.join('\n');
}
