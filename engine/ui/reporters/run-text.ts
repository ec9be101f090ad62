// What both text reporters (plain lines and listr2) print alike: the lock line under the run's
// header and the summary at its end.
import type { LockSummary, RunSummary, StepOutcomeSummary } from '../../apply/events.js';
import { formatElapsed } from '../../core/duration.js';
import { plainStyle, type Style } from '../style.js';

export interface SummaryOptions {
  /** The link's name, for the `--allow-data-loss` a resume of a data-loss runbook needs. */
  link?: string;
  /** Terminal width: longer lines break between words, never inside one. */
  width?: number;
}

/** Exit codes after which `apply --resume` goes on from where the run stopped. */
const RESUMABLE = new Set([1, 4, 5, 130]);

export function renderSummary(summary: RunSummary, style: Style = plainStyle, opts: SummaryOptions = {}): string {
  const lines: string[] = [];
  lines.push('');
  lines.push(style.bold(`Summary of run ${summary.runId} (${formatElapsed(summary.durationMs)})`));
  const idWidth = Math.max(...summary.steps.map((s) => s.id.length), 4);
  const time = (s: StepOutcomeSummary) => (s.durationMs !== undefined ? formatElapsed(s.durationMs) : '');
  // Columns only where a row's fixed part fits the terminal: padded to the longest id, each row
  // of a 60-column terminal would wrap in two (the words are the same either way).
  const columns = opts.width === undefined || Math.max(...summary.steps.map((s) => 2 + 12 + 4 + idWidth + 2 + s.type.length + s.impact.length + 5 + time(s).length)) <= opts.width;
  for (const s of summary.steps) {
    const label = s.outcome === 'succeeded' ? style.green('ok') : s.outcome === 'skipped' || s.outcome === 'not run' ? style.dim(s.outcome) : style.red(s.outcome.toUpperCase());
    const pad = columns ? ' '.repeat(Math.max(0, 12 - (s.outcome === 'succeeded' ? 2 : s.outcome.length))) : ' ';
    const tries = s.attempts && s.attempts > 1 ? ` after ${s.attempts} attempts` : '';
    // A refusal is said once, in the `runbook: refused at step` line right after the summary.
    const note = s.outcome === 'refused' ? '' : s.error ? `  ${s.error}` : s.reason ? `  ${s.reason}` : '';
    const id = columns ? s.id.padEnd(idWidth) : s.id;
    lines.push(`  ${label}${pad}${columns ? String(s.index).padStart(2) : s.index}. ${id}  ${s.type} [${s.impact}]  ${time(s)}${tries}${note}`.trimEnd());
  }
  lines.push(style.bold(`Recap: ${recap(summary)}`));
  const notices = attentionLines(summary);
  if (notices.length) {
    lines.push(style.bold('Attention:'));
    for (const n of notices) lines.push(`  ${n}`);
  }
  if (summary.stoppedAt) lines.push(`Stopped ${summary.stoppedAt}.`);
  lines.push(...changeLines(summary));
  lines.push(`Journal: ${summary.journal}`);
  const exitLine = `Exit ${summary.exitCode}: ${summary.meaning}`;
  lines.push(summary.exitCode === 0 ? style.green(exitLine) : style.red(style.bold(exitLine)));
  const resume = resumeCommand(summary, opts.link);
  if (resume) lines.push(`To go on from where it stopped: ${style.bold(resume)}`);
  else if (summary.notResumable === 'lab' && RESUMABLE.has(summary.exitCode)) lines.push('The embedded lab (--lab) ended with this run, so it cannot be resumed; start a new run.');
  const shown = opts.width ? lines.flatMap((l) => wrapWords(l, opts.width!)) : lines;
  return shown.join('\n') + '\n';
}

/** What the operator must act on after the run: its notices, less a refusal the run says on its own line. */
export function attentionLines(summary: Pick<RunSummary, 'steps' | 'notices'>): string[] {
  const refusals = new Set(summary.steps.filter((s) => s.outcome === 'refused' && s.error).map((s) => s.error));
  return (summary.notices ?? []).filter((n) => !refusals.has(n));
}

/**
 * Ansible's recap, in the runbook's words: `ok` steps that succeeded without changing anything,
 * `changed` change steps that succeeded, `skipped`, `failed`; refused, unknown, interrupted and
 * not-run steps are counted only when there are any.
 */
export function recap(summary: Pick<RunSummary, 'steps'>): string {
  const n = { ok: 0, changed: 0, skipped: 0, failed: 0, refused: 0, unknown: 0, interrupted: 0, not_run: 0 };
  for (const s of summary.steps) {
    if (s.outcome === 'succeeded') n[s.impact === 'read' ? 'ok' : 'changed']++;
    else if (s.outcome === 'not run') n.not_run++;
    else n[s.outcome]++;
  }
  const always = ['ok', 'changed', 'skipped', 'failed'];
  return Object.entries(n).filter(([k, v]) => always.includes(k) || v > 0).map(([k, v]) => `${k}=${v}`).join(' ');
}

/**
 * The exact command that resumes the run, after an interrupt or a failure; none for a run on the
 * embedded lab (it ended with the run) or one where no step ran (the same command starts it again).
 */
export function resumeCommand(summary: Pick<RunSummary, 'runId' | 'exitCode' | 'steps' | 'notResumable'>, link?: string): string | undefined {
  if (!RESUMABLE.has(summary.exitCode) || summary.notResumable) return undefined;
  const dataLoss = link !== undefined && summary.steps.some((s) => s.impact === 'dataLoss');
  return `runbook apply --resume ${summary.runId}${dataLoss ? ` --allow-data-loss ${link}` : ''}`;
}

/** A number and the unit after it (`0 s`, `32 KB`) are one word: a line is never cut between them. */
const UNIT = /^(ms|s|min|h|B|KB|MB|GB|%)[),.;:]*$/;
function withUnits(words: string[]): string[] {
  const out: string[] = [];
  for (const word of words) {
    const last = out.at(-1);
    if (last !== undefined && UNIT.test(word) && /\d$/.test(last)) out[out.length - 1] = `${last} ${word}`;
    else out.push(word);
  }
  return out;
}

/**
 * A line cut between words to fit `width`, each continuation indented past the line's own indent
 * (escape sequences count for nothing). A word longer than the width stays whole on its own line.
 */
export function wrapWords(given: string, width: number): string[] {
  // Trailing spaces (an empty last column) would otherwise become a line of their own.
  const line = given.trimEnd();
  const visible = (t: string) => t.replace(/\u001b\[[0-9;]*m/g, '').length;
  if (visible(line) <= width) return [line];
  const indent = line.match(/^ */)![0];
  const hanging = `${indent}    `.slice(0, Math.max(0, Math.floor(width / 3)));
  const out: string[] = [];
  let current = '';
  for (const word of withUnits(line.slice(indent.length).split(' '))) {
    const lead = out.length ? hanging : indent;
    if (current === '') current = lead + word;
    else if (visible(current) + 1 + visible(word) <= width) current += ` ${word}`;
    else {
      out.push(current);
      current = hanging + word;
    }
  }
  out.push(current);
  return out;
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
