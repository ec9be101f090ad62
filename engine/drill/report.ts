// The drill's verdict: a table of cases (scenario x fault -> runs, violations), each violation
// with its seed, its fault and the command that replays it; as text or JSON; and the progress
// shown while it runs (a bar on a terminal, one plain line per run otherwise).
import { faultId } from './cases.js';
import type { JudgedRun } from './runner.js';

export interface DrillSummary {
  runbook: string;
  /** The command line that replays a case, without `--seed` and `--only` (added per violation). */
  replayBase: (scenario: string) => string[];
  seed: number;
  faults: 'matrix' | 'random';
  results: JudgedRun[];
  ms: number;
}

export interface ViolationReport {
  case: string;
  scenario: string;
  fault: string;
  seed: number;
  invariant: string;
  message: string;
  replay: string;
}

export function violationReports(s: DrillSummary): ViolationReport[] {
  return s.results.flatMap((r) =>
    r.violations.map((v) => ({
      case: r.case.id, scenario: r.case.scenario, fault: faultId(r.case.fault), seed: r.seed, invariant: v.invariant, message: v.message,
      replay: shellLine([...s.replayBase(r.case.scenario), '--seed', String(r.seed), '--only', r.case.id]),
    })),
  );
}

interface Row {
  scenario: string;
  fault: string;
  runs: number;
  violations: number;
  /** Runs in which the fault did not take effect (the run ended before its instant). */
  notFired: number;
  /** Why the case was not run (its fault could not strike), if it was not. */
  unreachable?: string;
  /** Each distinct sequence of exit codes of its runs' processes ("130 then 0": stopped, then resumed). */
  exits: string[];
  /** Each distinct place where its runs stopped before their last step (from their journals). */
  stoppedAt: string[];
}

const exitsText = (codes: Array<number | null>) => codes.map((c) => (c === null ? 'killed' : String(c))).join(' then ');
const addOnce = (list: string[], item: string | undefined) => {
  if (item !== undefined && !list.includes(item)) list.push(item);
};

function rows(s: DrillSummary): Row[] {
  const byCase = new Map<string, Row>();
  for (const r of s.results) {
    const row: Row = byCase.get(r.case.id) ?? { scenario: r.case.scenario, fault: faultId(r.case.fault), runs: 0, violations: 0, notFired: 0, exits: [], stoppedAt: [] };
    if (r.unreachable !== undefined) {
      row.unreachable = r.unreachable;
      byCase.set(r.case.id, row);
      continue;
    }
    row.runs++;
    row.violations += r.violations.length;
    addOnce(row.exits, exitsText(r.codes));
    addOnce(row.stoppedAt, r.stoppedAt);
    if (!r.fired) row.notFired++;
    byCase.set(r.case.id, row);
  }
  return [...byCase.values()];
}

const ran = (s: Pick<DrillSummary, 'results'>) => s.results.filter((r) => r.unreachable === undefined).length;

/**
 * Whether the drill rehearsed anything: some run sent a change to a replica or to ARM. A drill in
 * which every run refused or stopped before its first change proves nothing about the runbook's
 * changes, however few invariants broke (a wrong default that refuses every time looks clean).
 */
export function exercise(s: Pick<DrillSummary, 'results'>): { exercised: boolean; changedRuns: number; unchangedRuns: number; notRun: number } {
  const runs = s.results.filter((r) => r.unreachable === undefined);
  const changedRuns = runs.filter((r) => r.changesSent > 0).length;
  return { exercised: changedRuns > 0, changedRuns, unchangedRuns: runs.length - changedRuns, notRun: s.results.length - runs.length };
}

/** The verdict's loud line for a drill that changed nothing; undefined when some run made a change. */
export function notExercisedLine(s: Pick<DrillSummary, 'results'>): string | undefined {
  const e = exercise(s);
  if (e.exercised) return undefined;
  const where: string[] = [];
  for (const r of s.results) if (r.unreachable === undefined) addOnce(where, `exit ${exitsText(r.codes)}${r.stoppedAt ? ` (${r.stoppedAt})` : ''}`);
  const stopped = where.length ? ` Where the runs stopped: ${where.join('; ')}.` : '';
  return `NOT EXERCISED: no run sent a change statement or ARM change (${e.unchangedRuns} run(s) reached no change step, ${e.notRun} of ${s.results.length} case run(s) not run), so this drill proves nothing about the runbook's changes.${stopped} Check the --set values and scenarios: every run refused or stopped before its first change.`;
}
/**
 * Per scenario whose run without a fault left cases unrun: how many, and where that run ended. A
 * verdict rests on the cases that ran; one whose baseline stopped early (a failed wait, a refusal)
 * rehearsed none of the faults past that point, which "No invariant broke." alone would not say.
 */
export function notRunLines(s: Pick<DrillSummary, 'results'>): string[] {
  const byScenario = new Map<string, number>();
  for (const r of s.results) if (r.unreachable !== undefined) byScenario.set(r.case.scenario, (byScenario.get(r.case.scenario) ?? 0) + 1);
  return [...byScenario].map(([scenario, n]) => {
    const base = s.results.find((r) => r.baseline && r.case.scenario === scenario);
    const ended = base ? ` (seed ${base.seed}) ended: exit ${exitsText(base.codes)}${base.stoppedAt ? ` (${base.stoppedAt})` : ''}` : ' ended';
    return `NOT RUN: ${n} case(s) of ${scenario}, whose fault strikes past where its run without a fault${ended}. They were not rehearsed; a run that goes further (other --set values or scenario) would rehearse them.`;
  });
}

export const runsPerSecond = (s: Pick<DrillSummary, 'results' | 'ms'>) => (s.ms > 0 ? ran(s) / (s.ms / 1000) : 0);

export function renderDrillText(s: DrillSummary): string {
  const table = rows(s);
  const w1 = Math.max(8, ...table.map((r) => r.scenario.length));
  const w2 = Math.max(5, ...table.map((r) => r.fault.length));
  const lines = [`Drill of ${s.runbook}: ${ran(s)} run(s), faults ${s.faults}, seed ${s.seed}`, ''];
  lines.push(`  ${'scenario'.padEnd(w1)}  ${'fault'.padEnd(w2)}  runs  violations`);
  for (const r of table) {
    const note = r.unreachable ? `  not run: ${r.unreachable}` : r.notFired ? `  (fault did not fire in ${r.notFired}: the run ended first)` : '';
    lines.push(`  ${r.scenario.padEnd(w1)}  ${r.fault.padEnd(w2)}  ${String(r.runs).padStart(4)}  ${String(r.violations).padStart(10)}${r.violations ? '  VIOLATED' : ''}${note}`);
  }
  const violations = violationReports(s);
  lines.push('');
  if (violations.length) {
    lines.push(`${violations.length} violation(s):`);
    for (const v of violations) {
      lines.push(`  ${v.invariant}  ${v.case}  seed ${v.seed}`);
      lines.push(`    ${v.message}`);
      lines.push(`    replay: ${v.replay}`);
    }
  } else lines.push('No invariant broke.');
  const idle = notExercisedLine(s);
  if (idle) lines.push(idle);
  lines.push(...notRunLines(s));
  lines.push(`${ran(s)} run(s) in ${(s.ms / 1000).toFixed(1)} s: ${runsPerSecond(s).toFixed(2)} runs per second.`);
  return lines.join('\n') + '\n';
}

export function renderDrillJson(s: DrillSummary): string {
  const violations = violationReports(s);
  const e = exercise(s);
  return JSON.stringify({
    runbook: s.runbook, faults: s.faults, seed: s.seed, runs: ran(s), ms: s.ms,
    runsPerSecond: Number(runsPerSecond(s).toFixed(3)), ok: violations.length === 0 && e.exercised,
    exercised: e.exercised, changedRuns: e.changedRuns, unchangedRuns: e.unchangedRuns,
    cases: rows(s), violations, notRun: notRunLines(s),
  }, null, 2) + '\n';
}

/** Progress: a bar redrawn in place on a terminal, a plain line per run otherwise. */
export function progressLine(r: JudgedRun, done: number, total: number, startedAt: number, violationsSoFar: number, tty: boolean, now = Date.now()): string {
  const rate = done / Math.max(0.001, (now - startedAt) / 1000);
  const left = done < total ? `, about ${durationLeft((total - done) / rate)} left` : '';
  if (tty) {
    const width = 30;
    const full = Math.round((done / total) * width);
    return `\r[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${done}/${total} runs, ${violationsSoFar} violation(s), ${rate.toFixed(1)} runs/s${left} ${done === total ? '\n' : ''}`;
  }
  if (r.unreachable !== undefined) return `run ${done}/${total} ${r.case.id}: not run, ${r.unreachable}\n`;
  const verdict = r.violations.length ? `VIOLATED ${r.violations.map((v) => v.invariant).join(', ')}` : 'ok';
  return `run ${done}/${total} ${r.case.id} seed ${r.seed}: exit ${exitsText(r.codes)}, ${verdict} (${(r.ms / 1000).toFixed(1)} s)${left}\n`;
}

/** Seconds as "45s", "12m", "3h 20m": an estimate, so no more precision than that. */
export function durationLeft(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'an unknown time';
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
  const m = Math.round(seconds / 60);
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

function shellLine(args: string[]): string {
  return args.map((a) => (/^[A-Za-z0-9_./:@%+=,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
