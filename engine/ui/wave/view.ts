// Which view a wave's links get: on a terminal (not CI, wide enough) rows redrawn in place, each
// link's events folded into its row and its text kept under the rows; otherwise plain lines, each
// prefixed with its link; with `--format json`, JSON lines carrying the link.
import { Writable } from 'node:stream';
import type { Reporter } from '../../apply/events.js';
import type { Style } from '../style.js';
import { LiveWaveView } from './live.js';
import type { LinkProgress } from './progress.js';
import { LinkJsonReporter, LinkPlainReporter, LinkRowReporter, prefixedStream } from './reporters.js';

export interface WaveViewChoice {
  format: 'text' | 'json';
  /** Standard output is a terminal and CI is not set. */
  terminal: boolean;
  columns: number;
}

export function waveView(rows: LinkProgress[], out: NodeJS.WritableStream, choice: WaveViewChoice, style: Style): LiveWaveView | undefined {
  if (choice.format === 'json' || !choice.terminal) return undefined;
  return choice.columns >= 40 ? new LiveWaveView(out, rows, style, choice.columns) : undefined;
}

export function linkReporter(row: LinkProgress, format: 'text' | 'json', out: NodeJS.WritableStream, style: Style, live: LiveWaveView | undefined): Reporter {
  if (format === 'json') return new LinkJsonReporter(row, out);
  if (live) return new LinkRowReporter(row, () => live.changed());
  return new LinkPlainReporter(row, prefixedStream(out, `[${row.name}] `), style);
}

/** A stream whose whole lines go to `note` (a link's text kept under the terminal's rows). */
export function lineSink(note: (line: string) => void): NodeJS.WritableStream {
  let partial = '';
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) note(l);
      done();
    },
  });
}
