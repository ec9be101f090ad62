// A link's run events as the wave shows them: plain lines prefixed with the link (CI, logs), or
// JSON lines each carrying the link (`--format json`); both also fold the events into the link's
// progress row for the summary and the terminal view.
import { Writable } from 'node:stream';
import type { Reporter, RunEvent } from '../../apply/events.js';
import { PlainLinesReporter } from '../reporters/plain.js';
import type { Style } from '../style.js';
import { foldEvent, type LinkProgress } from './progress.js';

/** Lines written to it reach `out` as `[link] line`, whole lines only, so parallel links never interleave mid-line. */
export function prefixedStream(out: NodeJS.WritableStream, prefix: string): NodeJS.WritableStream {
  let partial = '';
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const text = partial + chunk.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      if (lines.length) out.write(lines.map((l) => `${prefix}${l}\n`).join(''));
      done();
    },
    final(done) {
      if (partial) out.write(`${prefix}${partial}\n`);
      done();
    },
  });
}

export class LinkPlainReporter implements Reporter {
  private readonly lines: PlainLinesReporter;
  constructor(
    private readonly progress: LinkProgress,
    out: NodeJS.WritableStream,
    style: Style,
    private readonly changed: () => void = () => {},
  ) {
    this.lines = new PlainLinesReporter(out, style);
  }
  emit(e: RunEvent): void {
    foldEvent(this.progress, e, Date.now());
    this.lines.emit(e);
    this.changed();
  }
}

export class LinkJsonReporter implements Reporter {
  constructor(
    private readonly progress: LinkProgress,
    private readonly out: NodeJS.WritableStream,
  ) {}
  emit(e: RunEvent): void {
    foldEvent(this.progress, e, Date.now());
    this.out.write(JSON.stringify({ ...e, link: this.progress.name }) + '\n');
  }
}

/** A link's events folded into its row only (the terminal view draws the rows). */
export class LinkRowReporter implements Reporter {
  constructor(
    private readonly progress: LinkProgress,
    private readonly changed: () => void,
  ) {}
  emit(e: RunEvent): void {
    foldEvent(this.progress, e, Date.now());
    this.changed();
  }
}
