// The wave on a terminal: one row per link (state, current step, LSN gap, elapsed), redrawn in
// place (cursor up, clear line) at most every `everyMs`, and once more at the end. A link a step
// warned about says WARNING (ATTENTION once it ended) on its row at once. What the links write to
// standard error is kept and shown under the rows when the wave ends, so it never tears the rows
// apart; what each link said to act on follows in the wave's summary.
import { formatElapsed } from '../../core/duration.js';
import { plainStyle, visibleText, type Style } from '../style.js';
import { needsAttention, type LinkProgress } from './progress.js';

export class LiveWaveView {
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly notes: string[] = [];

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly rows: LinkProgress[],
    private readonly style: Style = plainStyle,
    private readonly columns = 120,
    private readonly everyMs = 100,
  ) {}

  /** Something changed: redraw soon (throttled). */
  changed(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, this.everyMs);
  }

  /** A line a link wrote to standard error, shown after the rows. */
  note(line: string): void {
    this.notes.push(line);
  }

  /** Draws the last state and leaves the rows on screen, then the kept lines. */
  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draw();
    if (this.notes.length) this.out.write(this.notes.join('\n') + '\n');
  }

  private draw(): void {
    const now = Date.now();
    const cells = this.rows.map((r) => this.cells(r, now));
    // Columns are measured as the terminal shows them: a coloured state is longer in bytes than on screen.
    const widths = [0, 1].map((i) => Math.max(i === 0 ? 4 : 9, ...cells.map((c) => visibleText(c[i]!).length)));
    const lines = cells.map(([name, state, elapsed, detail]) => this.clip(`${padVisible(name!, widths[0]!)}  ${padVisible(state!, widths[1]!)}  ${elapsed!.padStart(6)}  ${detail}`));
    const up = this.drawn ? `\x1b[${this.drawn}A` : '';
    this.out.write(up + lines.map((l) => `\x1b[2K${l}\n`).join(''));
    this.drawn = lines.length;
  }

  /** A row's cells: name, state (coloured), elapsed time, the current step or the outcome. */
  private cells(r: LinkProgress, now: number): string[] {
    const elapsed = r.startedAt === undefined ? '' : formatElapsed(r.durationMs ?? now - r.startedAt);
    const flag = needsAttention(r) ? this.style.yellow(r.state === 'running' ? ' WARNING' : ' ATTENTION') : '';
    const state = (r.state === 'running' ? this.style.bold('running') : r.state === 'done' ? this.style.green('done') : r.state === 'failed' ? this.style.red(`FAILED (exit ${r.exitCode})`) : this.style.dim(r.state)) + flag;
    const detail = r.state === 'running' ? [r.step, r.gap].filter(Boolean).join('  ') : r.meaning ?? '';
    return [r.name, state, elapsed, detail];
  }

  /** One row is one terminal line: a longer one would wrap and the cursor-up count would be wrong. */
  private clip(line: string): string {
    const visible = visibleText(line);
    return visible.length <= this.columns - 1 ? line : `${visible.slice(0, this.columns - 2)}…`;
  }
}

function padVisible(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - visibleText(text).length));
}
