// Plain lines (no TTY, or CI): one line per event, for logs.
import type { Reporter, RunEvent } from '../../apply/events.js';
import { formatElapsed } from '../../core/duration.js';
import { plainStyle, type Style } from '../style.js';
import { lockLine, renderSummary } from './run-text.js';

export class PlainLinesReporter implements Reporter {
  private readonly started = new Map<string, string>();
  private link?: string;
  /** Progress lines of long waits are thinned to one per interval; info and warnings always show. */
  private lastProgress = new Map<string, number>();
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly style: Style = plainStyle,
    private readonly progressEveryMs = 5000,
  ) {}

  emit(e: RunEvent): void {
    const w = (line: string) => this.out.write(line + '\n');
    switch (e.event) {
      case 'run-started':
        this.link = e.link;
        w(this.style.bold(`Run ${e.runId}: ${e.runbook} on link ${e.link} (${e.steps} steps)`));
        w(`Journal: ${e.journal}`);
        if (e.resumed) w('Resuming: changes that finished before are not run again; the reads after the last of them run again.');
        if (e.lock) w(lockLine(e.lock));
        break;
      case 'step-restored':
        w(`[${e.index}/${e.total}] ${e.step}: ${e.verified ? 'verified done before' : 'done before'}; not run again`);
        break;
      case 'step-started': {
        const label = `[${e.index}/${e.total}] ${e.step} (${e.type}${e.target ? ` -> ${e.target}` : ''}, ${e.impact})`;
        this.started.set(e.step, label);
        w(e.attempt > 1 ? `${label} attempt ${e.attempt}` : e.readAgain ? `${label} again: it finished before the resume, but what it read may have changed` : label);
        break;
      }
      case 'step-output': {
        if (e.level === 'progress') {
          const now = Date.now();
          const last = this.lastProgress.get(e.step);
          if (last !== undefined && now - last < this.progressEveryMs) break;
          this.lastProgress.set(e.step, now);
        }
        // A message of several lines (a read's rows as a table) stays indented under its step.
        w(`    ${e.level === 'warn' ? 'warning: ' : ''}${e.message}`.replace(/\n/g, '\n    '));
        break;
      }
      case 'step-finished':
        w(`    ${this.style.green('ok')} ${e.step} (${formatElapsed(e.durationMs)})`);
        break;
      case 'step-failed':
        w(`    ${this.style.red(e.willRetry ? 'attempt failed' : e.outcome.toUpperCase())} ${e.step}: ${e.error}${e.willRetry ? ' (will retry)' : ''}`);
        break;
      case 'step-skipped':
        w(`[${e.index}/${e.total}] ${e.step} skipped: ${e.reason}`);
        break;
      case 'run-finished':
        this.out.write(renderSummary(e.summary, this.style, this.link !== undefined ? { link: this.link } : {}));
        break;
    }
  }
}
