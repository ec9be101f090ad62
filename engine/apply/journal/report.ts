// One run as a change record, from its journal alone (`runbook runs show <id>`): who ran what, when,
// every statement sent with its target, each step's outcome and the run's. Plain data; the text
// and Markdown renderers are engine/ui/run-report.ts.
import type { Recorded } from './read.js';
import { runInfo, type RunState } from './runs.js';
import { exitCodeMeaning } from '../../core/exit-codes.js';

export interface ReportedStep {
  index: number;
  id: string;
  type: string;
  impact: string;
  target?: string;
  /** succeeded, verified done, skipped, failed, refused, unknown, interrupted, started (no end recorded). */
  outcome: string;
  attempts?: number;
  durationMs?: number;
  /** The error, or why it was skipped. */
  detail?: string;
}

export interface ReportedStatement {
  at?: string;
  step: string;
  /** `sqlServer`, `managedInstance` or `arm`. */
  target: string;
  text: string;
  params?: Record<string, unknown>;
}

/** One part of the run: the start, or a resume. */
export interface ReportedPart {
  kind: 'started' | 'resumed';
  at?: string;
  user: string;
  host: string;
  pid: number;
  command?: string[];
}

export interface RunReport {
  runId: string;
  journal: string;
  runbook: { name: string; file: string; sha256: string };
  link: string;
  inventory?: { file?: string; lab?: boolean; sha256: string };
  inputs: Record<string, unknown>;
  parts: ReportedPart[];
  started?: string;
  finished?: string;
  durationMs?: number;
  state: RunState;
  exitCode?: number;
  meaning?: string;
  changed: string[];
  mayHaveChanged: string[];
  stoppedAt?: string;
  steps: ReportedStep[];
  statements: ReportedStatement[];
  /** Lock losses, interrupts: what happened to the run besides its steps. */
  events: string[];
}

export function runReport(path: string, records: Recorded[], thisHost: string): RunReport | undefined {
  const info = runInfo(path, records, thisHost);
  const start = records.find((r): r is Extract<Recorded, { kind: 'run-started' }> => r.kind === 'run-started');
  if (!info || !start) return undefined;
  const parts: ReportedPart[] = [];
  const steps = new Map<string, ReportedStep>();
  const statements: ReportedStatement[] = [];
  const events: string[] = [];
  let finished: Extract<Recorded, { kind: 'run-finished' }> | undefined;
  let finishedAt: string | undefined;
  // Steps are reached in order: a record without its step's index (an older journal) comes after the last one seen.
  let lastIndex = 0;
  for (const r of records) {
    if (r.kind === 'step-started' || (r.kind === 'step-skipped' && r.index !== undefined)) lastIndex = r.index!;
    switch (r.kind) {
      case 'run-started':
        parts.push({ kind: 'started', ...(r.at ? { at: r.at } : {}), user: r.user, host: r.host, pid: r.pid, ...(r.argv ? { command: r.argv } : {}) });
        break;
      case 'run-resumed':
        parts.push({ kind: 'resumed', ...(r.at ? { at: r.at } : {}), user: r.user, host: r.host, pid: r.pid, ...(r.argv ? { command: r.argv } : {}) });
        finished = undefined;
        break;
      case 'run-finished':
        finished = r;
        finishedAt = r.at;
        break;
      case 'step-started': {
        const s: ReportedStep = { index: r.index, id: r.step, type: r.type, impact: r.impact, outcome: 'started', attempts: r.attempt };
        if (r.target !== undefined) s.target = r.target;
        steps.set(r.step, s);
        break;
      }
      case 'step-finished': {
        const s = steps.get(r.step);
        if (s) Object.assign(s, { outcome: r.verified ? 'verified done' : 'succeeded', attempts: r.attempts, durationMs: r.durationMs });
        else steps.set(r.step, { index: ++lastIndex, id: r.step, type: '', impact: '', outcome: r.verified ? 'verified done' : 'succeeded' });
        break;
      }
      case 'step-failed': {
        const s = steps.get(r.step);
        if (s && !r.willRetry) Object.assign(s, { outcome: r.outcome, attempts: r.attempts, durationMs: r.durationMs, detail: r.error });
        break;
      }
      case 'step-skipped': {
        const known = steps.get(r.step) ?? { index: r.index ?? lastIndex + 1, id: r.step, type: r.type ?? '', impact: '' };
        if (r.index === undefined && !steps.has(r.step)) lastIndex = known.index;
        steps.set(r.step, { ...known, outcome: 'skipped', detail: r.reason });
        break;
      }
      case 'statement':
        statements.push({ ...(r.at ? { at: r.at } : {}), step: r.step, target: r.target, text: r.text, ...(r.params ? { params: r.params } : {}) });
        break;
      case 'lock-lost':
        events.push(`${r.at ?? ''} lock lost on ${r.side}${r.during ? ` during ${r.during}` : ''}: ${r.message}`.trim());
        break;
      case 'confirmed':
        events.push(`${r.at ?? ''} confirmed by the operator before the steps ran${r.via ? ` (${r.via})` : ''}: ${[...r.questions.map((q, i) => `${r.steps[i]}: ${q}`), ...(r.changes.length ? [`changes ${r.changes.join(', ')}`] : [])].join('; ')}`.trim());
        break;
      case 'foreseen':
        events.push(`${r.at ?? ''} before the question, the read-only probes: ${r.summary}`.trim());
        break;
      case 'interrupted':
        events.push(`${r.at ?? ''} interrupted (${r.signal})${r.stoppedBefore ? `, stopped before ${r.stoppedBefore}` : ''}${r.abandonedDuring ? `, abandoned during ${r.abandonedDuring}` : ''}`.trim());
        break;
      default:
        break;
    }
  }
  const started = start.at;
  const report: RunReport = {
    runId: start.runId,
    journal: path,
    runbook: start.runbook,
    link: start.link,
    ...(start.inventory ? { inventory: start.inventory } : {}),
    inputs: start.inputs,
    parts,
    ...(started ? { started } : {}),
    state: info.state,
    changed: finished?.changed ?? [],
    mayHaveChanged: finished?.mayHaveChanged ?? [],
    steps: [...steps.values()].sort((a, b) => a.index - b.index),
    statements,
    events,
  };
  if (finished) {
    report.exitCode = finished.exitCode;
    report.meaning = finished.meaning || exitCodeMeaning(finished.exitCode);
    if (finishedAt) report.finished = finishedAt;
    // From the first start to the last end: a resumed run's parts and the pause between them.
    const whole = started && finishedAt ? Date.parse(finishedAt) - Date.parse(started) : NaN;
    report.durationMs = Number.isFinite(whole) ? whole : finished.durationMs;
    if (finished.stoppedAt) report.stoppedAt = finished.stoppedAt;
  }
  return report;
}
