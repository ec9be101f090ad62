// The drill: which runs (the matrix of cases times --runs, or --runs random draws), each with its
// own seed, run a few at a time, each judged as it ends.
import { matrixCases, randomCase, type DrillCase, type RunbookShape } from './cases.js';
import { judge } from './judge.js';
import type { RecordedRun, Violation } from './record.js';
import { drillBaseEnv, endedOnItsOwn, reachOf, runCase, type Reach, type RunSettings, type StartDrillLab } from './run-case.js';
import { ProcessDemand, TWO_PROCESSES } from './process-demand.js';
import { WorkerPool } from './workers.js';
import { runSeed } from './seed.js';

export interface DrillOptions {
  scenarios: string[];
  faults: 'matrix' | 'random';
  runs: number;
  seed: number;
  /** Only the case with this id. */
  only?: string;
  /** How many runs at once. */
  jobs: number;
}

export interface PlannedRun {
  case: DrillCase;
  /** This run's seed: `--seed <it> --only <case>` replays it. */
  seed: number;
}

export interface JudgedRun extends PlannedRun {
  violations: Violation[];
  fired: boolean;
  ms: number;
  /** Exit codes of the runs' processes, in order (null: killed). */
  codes: Array<number | null>;
  /** Change statements the replicas received and ARM writes made (0: the run exercised no change). */
  changesSent: number;
  /** Where its last process stopped, as that process's journal says (absent: it ran every step, or left no end record). */
  stoppedAt?: string;
  /** Not run: the scenario's run without a fault never got where this fault strikes, so it would be that run again. */
  unreachable?: string;
  /** Set on the scenario's run without a fault whose reach decided which of its cases run (one that did not end by itself decides nothing: every case runs). */
  baseline?: true;
}

/**
 * Where the last process that journaled an end stopped: its run-finished record's `stoppedAt`
 * (an interrupt), else the step whose failure or refusal ended it, with the engine's reason.
 */
export function stoppedAtOf(record: RecordedRun): string | undefined {
  for (const inv of [...record.invocations].reverse()) {
    const records = inv.journal ?? [];
    const end = records.filter((r) => r.kind === 'run-finished').at(-1);
    if (!end) continue;
    if (typeof end.stoppedAt === 'string') return end.stoppedAt;
    const failed = records.filter((r) => r.kind === 'step-failed' && r.willRetry !== true).at(-1);
    if (!failed) return undefined;
    const reason = String(failed.error ?? '').replace(/\s+/g, ' ');
    return `${String(failed.outcome)} at step ${String(failed.step)}: ${reason.length > 160 ? `${reason.slice(0, 159)}…` : reason}`;
  }
  return undefined;
}

/** Why a case's fault cannot strike, given how far the scenario's run without a fault went; undefined when it can. */
export function unreachable(c: DrillCase, reach: Reach): string | undefined {
  const f = c.fault;
  if (f.kind === 'kill-at-step' && f.boundary > reach.steps) return `the run without a fault reaches ${reach.steps} step(s)`;
  if ((f.kind === 'drop-before' || f.kind === 'drop-after' || f.kind === 'hang') && f.nth > reach.sqlChanges) return `the run without a fault sends ${reach.sqlChanges} change statement(s)`;
  if (f.kind === 'slow' && reach.sqlChanges === 0) return 'the run without a fault sends no change statement';
  if ((f.kind === 'arm-429' || f.kind === 'arm-500' || f.kind === 'arm-lro-failed') && reach.armWrites === 0) return 'the run without a fault makes no ARM change';
  return undefined;
}

/** The most runs one drill may plan: at the 1-3 runs per second a drill makes on 2 cores, hours already. */
export const MAX_DRILL_RUNS = 10_000;

/** How many runs plannedRuns would list (random mode with --only: at most this many), counted without listing them. */
export function plannedRunCount(o: Pick<DrillOptions, 'scenarios' | 'faults' | 'runs' | 'only'>, shape: RunbookShape): { runs: number; cases: number } {
  if (o.faults === 'random') return { runs: o.runs, cases: 0 };
  const cases = matrixCases(o.scenarios, shape).filter((c) => o.only === undefined || c.id === o.only).length;
  return { runs: cases * o.runs, cases };
}

/** The runs of a drill, in order; the same options give the same list. */
export function plannedRuns(o: Pick<DrillOptions, 'scenarios' | 'faults' | 'runs' | 'seed' | 'only'>, shape: RunbookShape): PlannedRun[] {
  const out: PlannedRun[] = [];
  if (o.faults === 'matrix') {
    const cases = matrixCases(o.scenarios, shape).filter((c) => o.only === undefined || c.id === o.only);
    for (let i = 0; i < o.runs; i++) for (const c of cases) out.push({ case: c, seed: runSeed(o.seed, i) });
  } else {
    for (let i = 0; i < o.runs; i++) {
      const seed = runSeed(o.seed, i);
      const c = randomCase(seed, o.scenarios, shape);
      if (o.only === undefined || c.id === o.only) out.push({ case: c, seed });
    }
  }
  return out;
}

/**
 * Runs them `jobs` at a time; `onRun` hears of each as it is judged. Results come back in plan
 * order. A scenario's run without a fault goes first; a case whose fault it shows can never
 * strike (a kill at step 9 when the run stops at step 4) is reported unreachable, not run again.
 */
export async function runDrill(runs: PlannedRun[], jobs: number, given: RunSettings, startLab: StartDrillLab, onRun: (r: JudgedRun, done: number) => void): Promise<JudgedRun[]> {
  // Each run's processes come warm (started and loaded while other runs go on): one per job at
  // first, and spares kept starting for a resume, a second operator or a killed worker's place:
  // two, or in a drill of no more runs than jobs, one per run that needs a second process (a
  // worker loading for nothing costs about a second of CPU).
  const atOnce = Math.min(jobs, runs.length);
  const secondProcesses = runs.filter((r) => TWO_PROCESSES.has(r.case.fault.kind)).length;
  const spares = runs.length > atOnce ? 2 : Math.min(2, secondProcesses);
  // The reach of each scenario's run without a fault, once it decided: a case it prunes asks for no process.
  const reaches = new Map<string, Reach>();
  const demand = new ProcessDemand(runs.map((r) => r.case.fault.kind), (i) => {
    const reach = reaches.get(runs[i]!.case.scenario);
    return reach !== undefined && unreachable(runs[i]!.case, reach) !== undefined;
  });
  const pool = given.start ? undefined : new WorkerPool({ baseEnv: drillBaseEnv(), initial: atOnce, warm: spares, maxIdle: atOnce + spares, reuse: given.reuseWorkers ?? false, demand: () => demand.count() });
  const settings: RunSettings = pool ? { ...given, start: (args, opts) => pool.start(args, opts) } : given;
  try {
    return await runAll(runs, jobs, settings, startLab, onRun, { demand, reaches });
  } finally {
    await pool?.close();
  }
}

async function runAll(
  runs: PlannedRun[], jobs: number, settings: RunSettings, startLab: StartDrillLab, onRun: (r: JudgedRun, done: number) => void,
  track: { demand: ProcessDemand; reaches: Map<string, Reach> },
): Promise<JudgedRun[]> {
  const results: JudgedRun[] = new Array(runs.length);
  const order = runs.map((r, i) => ({ r, i })).sort((a, b) => Number(b.r.case.fault.kind === 'none') - Number(a.r.case.fault.kind === 'none'));
  const baseline = new Map<string, Promise<Reach | undefined>>();
  const settle = new Map<string, (reach: Reach | undefined) => void>();
  const claimed = new Set<string>();
  for (const { r } of order) {
    if (r.case.fault.kind === 'none' && !baseline.has(r.case.scenario)) baseline.set(r.case.scenario, new Promise((res) => settle.set(r.case.scenario, res)));
  }
  let next = 0;
  let done = 0;
  let failed = false;
  const worker = async () => {
    while (next < order.length && !failed) {
      const { r: planned, i } = order[next++]!;
      // The first run without a fault of a scenario to start is its baseline (with --runs N there are N of them, started together).
      const isBaseline = planned.case.fault.kind === 'none' && settle.has(planned.case.scenario) && !claimed.has(planned.case.scenario);
      if (isBaseline) claimed.add(planned.case.scenario);
      const reach = isBaseline ? undefined : await baseline.get(planned.case.scenario);
      const why = reach ? unreachable(planned.case, reach) : undefined;
      let judged: JudgedRun;
      track.demand.started(i);
      if (why) {
        judged = { ...planned, violations: [], fired: false, ms: 0, codes: [], changesSent: 0, unreachable: why };
      } else {
        // One run that cannot start (bad input, no lab) stops the others from starting.
        const start = settings.start;
        const counted: RunSettings = start ? { ...settings, start: (args, opts) => (track.demand.asked(i), start(args, opts)) } : settings;
        const r = await runCase(planned.case, planned.seed, counted, startLab).catch((error: unknown) => {
          failed = true;
          for (const res of settle.values()) res(undefined);
          throw error;
        });
        const sent = reachOf(r.record);
        const stoppedAt = stoppedAtOf(r.record);
        judged = {
          ...planned, violations: judge(r.record), fired: r.fired, ms: r.ms, codes: r.record.invocations.map((x) => x.code), changesSent: sent.sqlChanges + sent.armWrites,
          ...(stoppedAt !== undefined ? { stoppedAt } : {}),
        };
        if (isBaseline) {
          // Only a run that ended by itself tells how far the runbook goes; otherwise every case runs.
          const decides = endedOnItsOwn(r.record);
          if (decides) track.reaches.set(planned.case.scenario, sent);
          settle.get(planned.case.scenario)!(decides ? sent : undefined);
          settle.delete(planned.case.scenario);
          if (decides) judged.baseline = true;
        }
      }
      track.demand.ended(i);
      results[i] = judged;
      onRun(judged, ++done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, runs.length)) }, worker));
  return results;
}
