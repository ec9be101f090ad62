// Splits a T-SQL script into batches the way sqlcmd and SSMS do: a line holding only `GO`
// (any case, optionally `GO n` to run the batch n times, optionally a trailing `--` comment)
// ends a batch. A GO line inside a string, a quoted identifier or a block comment is text.
// Each batch remembers where it starts so a server's line number maps back to the script.

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

const goLine = /^\s*go(?:\s+(\S+))?\s*(?:--.*)?$/i;

/** Lexical state carried from one line to the next. */
interface ScanState {
  inString: boolean;
  inQuotedIdentifier: boolean;
  inBracket: boolean;
  /** T-SQL block comments nest. */
  commentDepth: number;
}

function isPlain(state: ScanState): boolean {
  return !state.inString && !state.inQuotedIdentifier && !state.inBracket && state.commentDepth === 0;
}

/** Advances the state over one line (without its line break). */
function scanLine(line: string, state: ScanState): void {
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    const next = line[i + 1];
    if (state.commentDepth > 0) {
      if (c === '*' && next === '/') {
        state.commentDepth--;
        i++;
      } else if (c === '/' && next === '*') {
        state.commentDepth++;
        i++;
      }
    } else if (state.inString) {
      // '' inside a string is an escaped quote; two toggles give the same result.
      if (c === "'") state.inString = false;
    } else if (state.inQuotedIdentifier) {
      if (c === '"') state.inQuotedIdentifier = false;
    } else if (state.inBracket) {
      if (c === ']') {
        if (next === ']') i++;
        else state.inBracket = false;
      }
    } else if (c === '-' && next === '-') {
      return;
    } else if (c === '/' && next === '*') {
      state.commentDepth = 1;
      i++;
    } else if (c === "'") {
      state.inString = true;
    } else if (c === '"') {
      state.inQuotedIdentifier = true;
    } else if (c === '[') {
      state.inBracket = true;
    }
  }
}

export function splitBatches(script: string): SqlBatch[] {
  const lines = script.split(/\r?\n/);
  const batches: SqlBatch[] = [];
  const state: ScanState = { inString: false, inQuotedIdentifier: false, inBracket: false, commentDepth: 0 };
  let current: string[] = [];
  let startLine = 1;

  const finish = (repeat: number) => {
    const text = current.join('\n');
    if (text.trim() !== '') batches.push({ text, startLine, repeat });
  };

  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    const go = isPlain(state) ? goLine.exec(line) : null;
    if (go) {
      let repeat = 1;
      if (go[1] !== undefined) {
        if (!/^\d+$/.test(go[1]) || Number(go[1]) < 1) {
          throw new BatchSplitError(lineNumber, `Line ${lineNumber}: GO takes a positive count, got '${go[1]}'.`);
        }
        repeat = Number(go[1]);
      }
      finish(repeat);
      current = [];
      startLine = lineNumber + 1;
      return;
    }
    current.push(line);
    scanLine(line, state);
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
