// What apply tells the outside world while it runs, as data. Three reporters consume the same
// events: JSON lines (`--format json`), plain lines (no TTY or CI), and listr2 (a TTY).
import type { Impact } from '../core/types.js';
import { plainStyle, type Style } from '../ui/style.js';
import { formatElapsed } from '../core/duration.js';

export interface StepOutcomeSummary {
  index: number;
  id: string;
  type: string;
  impact: Impact;
  outcome: 'succeeded' | 'failed' | 'refused' | 'unknown' | 'interrupted' | 'skipped' | 'not run';
  durationMs?: number;
  attempts?: number;
  error?: string;
  reason?: string;
}

export interface RunSummary {
  runId: string;
  journal: string;
  exitCode: number;
  meaning: string;
  durationMs: number;
  changed: string[];
  /** Change steps whose failure leaves open whether they acted: never "nothing was changed" with these. */
  mayHaveChanged?: string[];
  steps: StepOutcomeSummary[];
  /** Warnings steps gave during the run (`step-id: message`), repeated at the end for the operator. */
  notices?: string[];
  /** Where an interrupt stopped the run, e.g. `before step after (3 of 9)`. */
  stoppedAt?: string;
}

export interface LockSummary {
  resource: string;
  held: string[];
  unreachable: Array<{ side: string; error: string }>;
}

export type RunEvent =
  | { event: 'run-started'; runId: string; runbook: string; link: string; journal: string; steps: number; resumed?: boolean; lock?: LockSummary }
  /** On resume: a step that finished in the earlier attempt; its outputs are restored, it is not run. */
  | { event: 'step-restored'; step: string; index: number; total: number; verified: boolean }
  /** `readAgain`: on resume, a read that finished before but whose result held only at that moment. */
  | { event: 'step-started'; step: string; index: number; total: number; type: string; impact: Impact; attempt: number; target?: string; readAgain?: boolean }
  | { event: 'step-output'; step: string; level: 'progress' | 'info' | 'warn'; message: string }
  | { event: 'step-finished'; step: string; outputs: Record<string, unknown>; durationMs: number; attempts: number }
  | { event: 'step-failed'; step: string; error: string; outcome: string; durationMs: number; attempt: number; willRetry: boolean }
  | { event: 'step-skipped'; step: string; index: number; total: number; reason: string }
  | { event: 'run-finished'; exitCode: number; meaning: string; summary: RunSummary };

export interface Reporter {
  emit(event: RunEvent): void | Promise<void>;
}

export class JsonLinesReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream) {}
  emit(event: RunEvent): void {
    this.out.write(JSON.stringify(event) + '\n');
  }
}

export function renderSummary(summary: RunSummary, style: Style = plainStyle): string {
  const lines: string[] = [];
  lines.push('');
  lines.push(style.bold(`Summary of run ${summary.runId} (${formatElapsed(summary.durationMs)})`));
  const idWidth = Math.max(...summary.steps.map((s) => s.id.length), 4);
  for (const s of summary.steps) {
    const label = s.outcome === 'succeeded' ? style.green('ok') : s.outcome === 'skipped' || s.outcome === 'not run' ? style.dim(s.outcome) : style.red(s.outcome.toUpperCase());
    const pad = ' '.repeat(Math.max(0, 12 - (s.outcome === 'succeeded' ? 2 : s.outcome.length)));
    const time = s.durationMs !== undefined ? formatElapsed(s.durationMs) : '';
    const tries = s.attempts && s.attempts > 1 ? ` after ${s.attempts} attempts` : '';
    const note = s.error ? `  ${s.error}` : s.reason ? `  ${s.reason}` : '';
    lines.push(`  ${label}${pad}${String(s.index).padStart(2)}. ${s.id.padEnd(idWidth)}  ${s.type} [${s.impact}]  ${time}${tries}${note}`);
  }
  if (summary.notices?.length) {
    lines.push(style.bold('Attention:'));
    for (const n of summary.notices) lines.push(`  ${n}`);
  }
  if (summary.stoppedAt) lines.push(`Stopped ${summary.stoppedAt}.`);
  lines.push(...changeLines(summary));
  lines.push(`Journal: ${summary.journal}`);
  const exitLine = `Exit ${summary.exitCode}: ${summary.meaning}`;
  lines.push(summary.exitCode === 0 ? style.green(exitLine) : style.red(style.bold(exitLine)));
  return lines.join('\n') + '\n';
}

/** What changed, in words that agree with the exit code. */
export function changeLines(summary: Pick<RunSummary, 'changed' | 'mayHaveChanged'>): string[] {
  const maybe = summary.mayHaveChanged ?? [];
  if (!summary.changed.length && !maybe.length) return ['Nothing was changed.'];
  const lines: string[] = [];
  if (summary.changed.length) lines.push(`Changed: ${summary.changed.join(', ')}`);
  if (maybe.length) lines.push(`May have changed: ${maybe.join(', ')} (${maybe.length === 1 ? 'its' : 'their'} outcome is not known; check the replicas before going on)`);
  return lines;
}

/** One line per event, for logs and CI. */
export class PlainLinesReporter implements Reporter {
  private readonly started = new Map<string, string>();
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
        w(`    ${e.level === 'warn' ? 'warning: ' : ''}${e.message}`);
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
        this.out.write(renderSummary(e.summary, this.style));
        break;
    }
  }
}

export function lockLine(lock: LockSummary): string {
  const held = lock.held.length ? `held on ${lock.held.join(' and ')}` : 'NOT held anywhere';
  const missing = lock.unreachable.map((u) => `; ${u.side} unreachable, not locked (${u.error})`).join('');
  return `Lock ${lock.resource}: ${held}${missing}`;
}
