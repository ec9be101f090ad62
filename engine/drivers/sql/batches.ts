// Splits a T-SQL script into batches the way sqlcmd and SSMS do: a line holding only `GO`
// (any case, optionally `GO n` to run the batch n times, optionally a trailing `--` comment)
// ends a batch. The lines are found with the engine's T-SQL scanner (engine/drivers/sql/scanner.ts), so a GO
// line inside a string, a quoted or bracketed identifier or a block comment is text.
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

/** The GO lines of a script: line number → repeat count. */
function goLines(script: string): Map<number, number> {
  const found = new Map<number, number>();
  let line: SqlToken[] = [];
  let lineNumber = 1;
  const end = () => {
    const count = goLineCount(line, lineNumber);
    if (count !== undefined) found.set(lineNumber, count);
  };
  for (const token of scanSql(script)) {
    if (token.kind === 'newline') {
      end();
      line = [];
      lineNumber = token.line + 1;
    } else line.push(token);
  }
  end();
  return found;
}

export function splitBatches(script: string): SqlBatch[] {
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
