// What both text reporters (plain lines and listr2) print alike: the lock line under the run's
// header and the summary at its end.
import type { LockSummary, RunSummary } from '../../apply/events.js';
import { formatElapsed } from '../../core/duration.js';
import { plainStyle, type Style } from '../style.js';

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

export function lockLine(lock: LockSummary): string {
  const held = lock.held.length ? `held on ${lock.held.join(' and ')}` : 'NOT held anywhere';
  const missing = lock.unreachable.map((u) => `; ${u.side} unreachable, not locked (${u.error})`).join('');
  return `Lock ${lock.resource}: ${held}${missing}`;
}
