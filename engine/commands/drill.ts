// `runbook drill <runbook>`: rehearse a runbook against the fault matrix on fresh embedded labs and
// judge every run from what the lab saw (engine/drill/). This module checks the flags, plans the
// runbook once (its steps, impacts and declared outcomes shape the matrix), and hands the lab to
// the drill the way `lab up` loads it: lazily, through lab-start.ts.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitError, UsageError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import type { RunbookShape, Side } from '../drill/cases.js';
import type { RunbookFacts } from '../drill/record.js';
import type { DrillLab, StartDrillLab } from '../drill/run-case.js';
import { isTty, type CommandIO } from './io.js';
import { checkLabScenario } from './prepare.js';

export interface DrillCommandOptions {
  runbook: string;
  sets: string[];
  scenarios?: string;
  allScenarios?: boolean;
  faults?: string;
  runs?: string;
  seed?: string;
  only?: string;
  jobs?: string;
  format: 'text' | 'json';
  /**
   * Not a flag: bench/drill.ts's baseline, the drill as it ran before warm workers and shared
   * certificates (a fresh `runbook` process for each apply, new certificates for each lab).
   */
  coldBaseline?: boolean;
}

/** A run's request timeout in the drill: a hung statement ends this fast. */
const REQUEST_TIMEOUT_MS = 3000;
/** One `apply` that takes longer than this is killed and judged hung. */
const DEADLINE_MS = 90_000;

const scenarioDir = fileURLToPath(new URL('../../../lab/scenarios/', import.meta.url));

export function builtInScenarioNames(): string[] {
  return existsSync(scenarioDir) ? readdirSync(scenarioDir).filter((f) => f.endsWith('.yml')).map((f) => f.slice(0, -4)).sort() : [];
}

/**
 * The files the lab reads for these scenarios, found as lab/scenario.ts loadScenario finds them (a
 * built-in name in lab/scenarios/, else a path from the working directory), with `healthy.yml`,
 * which every scenario is laid over.
 */
export function scenarioFilesOf(scenarios: string[]): string[] {
  const builtIn = (name: string) => join(scenarioDir, `${name}.yml`);
  const own = scenarios.map((s) => (/^[a-z0-9-]+$/.test(s) && existsSync(builtIn(s)) ? builtIn(s) : resolve(s)));
  return [...new Set([builtIn('healthy'), ...own])];
}

function whole(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new UsageError(`drill: --${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
  return Number(value);
}

export async function drillCommand(opts: DrillCommandOptions, io: CommandIO): Promise<number> {
  // The engine this drill runs, read first: a rebuild from here on stops it (engine/drill/engine-build.ts).
  const { BUILT_ENGINE, engineState } = await import('../drill/engine-build.js');
  const engineAtStart = engineState();
  const faults = opts.faults ?? 'matrix';
  if (faults !== 'matrix' && faults !== 'random') throw new UsageError(`drill: --faults must be matrix or random, not "${faults}"`);
  const { MAX_DRILL_RUNS, plannedRunCount, plannedRuns, runDrill } = await import('../drill/runner.js');
  const runs = whole('runs', opts.runs, faults === 'matrix' ? 1 : 20, 1, MAX_DRILL_RUNS);
  const seed = whole('seed', opts.seed, Math.floor(Math.random() * 2 ** 32), 0, 2 ** 32 - 1);
  // Runs wait on windows, polls and the lab more than they compute. Measured on 2 idle cores, the
  // full planned-failover matrix (266 runs, same CPU, same verdicts): three per core 124.6 s with
  // the cores 71% busy, five per core 97.3 s. At most 16 at once: each is a Node process and a lab.
  const jobs = whole('jobs', opts.jobs, Math.min(16, Math.max(2, availableParallelism() * 5)), 1, 64);
  if (opts.allScenarios && opts.scenarios !== undefined) throw new UsageError('drill: --scenarios and --all-scenarios cannot be used together');
  const scenarios = opts.allScenarios ? builtInScenarioNames() : (opts.scenarios ?? 'healthy').split(',').map((s) => s.trim());
  if (scenarios.some((s) => s === '')) throw new UsageError(`drill: --scenarios names scenarios separated by commas, not "${opts.scenarios}"`);
  for (const s of scenarios) checkLabScenario(s);
  // Read now, before anything is planned: the drill's world as it starts, checked around every run.
  const scenarioFiles = scenarioFilesOf(scenarios);

  // A bare shipped name (`planned-failover`, `planned-failover.yml`) as apply takes it; a local file of that name wins.
  const { runbookArgument } = await import('./shipped.js');
  const runbookGiven = runbookArgument(opts.runbook, io);
  const runbookFile = resolve(io.cwd, runbookGiven);
  // The plan (for the lab's link) validates the runbook and the --set values: bad input is exit 2 here, before any lab starts.
  const { planForDrill } = await import('./drill-plan.js');
  const { plan, runbook, authorChoseDataLoss } = await planForDrill(runbookGiven, runbookFile, opts.sets, io);
  const shape: RunbookShape = { steps: plan.steps.map((s) => ({ index: s.index, id: s.id, type: s.type, impact: s.impact, skipped: s.decision === 'skip' })) };
  const live = plan.steps.filter((s) => s.decision !== 'skip');
  const facts: RunbookFacts = {
    name: runbook.name,
    dataLossSteps: live.filter((s) => s.impact === 'dataLoss' && authorChoseDataLoss(s)).map((s) => s.id),
    declaresSplitBrain: Boolean(runbook.outcomes?.splitBrain),
  };
  // The acknowledgement goes with every run whose plan has a dataLoss step, so that the step runs
  // and the judge sees what it loses; whether that loss was the runbook's to make is facts' call.
  const needsAcknowledgement = live.some((s) => s.impact === 'dataLoss');

  const choice = { scenarios, faults: faults as 'matrix' | 'random', runs, seed, ...(opts.only !== undefined ? { only: opts.only } : {}) };
  // Counted before anything is listed: a huge --runs over many cases is refused, not allocated.
  const count = plannedRunCount(choice, shape);
  if (count.runs > MAX_DRILL_RUNS) {
    throw new UsageError(`drill: ${count.cases} case(s) x ${runs} run(s) = ${count.runs} runs, more than ${MAX_DRILL_RUNS} in one drill; lower --runs or narrow --scenarios or --only`);
  }
  const planned = plannedRuns(choice, shape);
  if (planned.length === 0) {
    throw new UsageError(opts.only !== undefined ? `drill: --only ${opts.only} names no case of this drill (cases are <scenario>/<fault>, as the verdict table lists them)` : 'drill: nothing to run');
  }

  // Ctrl-C or SIGTERM from here on: no more runs, the ones in progress stopped and cleaned up, no verdict (engine/drill/interrupt.ts).
  const { DrillInterrupt } = await import('../drill/interrupt.js');
  const interrupt = new DrillInterrupt();
  const stopListening = interrupt.listen();
  const { startLab, dispose } = await embeddedLab(opts.coldBaseline === true).catch((error: unknown) => {
    stopListening();
    throw error;
  });
  const { notExercisedLine, progressLine, renderDrillJson, renderDrillText } = await import('../drill/report.js');
  const tty = isTty(io.stderr) && !io.env.CI;
  io.stderr.write(`drill: ${planned.length} run(s) planned${faults === 'matrix' ? ` (${count.cases} case(s) x ${runs})` : ''}, ${Math.min(jobs, planned.length)} at a time; the time left shows as runs finish\n`);
  const started = Date.now();
  let violations = 0;
  let judged = 0;
  const { DrillHarnessError, DrillSetupError, filesDigest } = await import('../drill/run-case.js');
  // Resolved as the engine's loader resolves them (engine/load/plugins.ts: relative to the runbook).
  const pluginFiles = (runbook.plugins ?? []).map((p) => resolve(dirname(runbookFile), p));
  const { startCliChild } = await import('../drill/child.js');
  const { watchForStops } = await import('../drill/stops.js');
  const stops = watchForStops();
  const results = await runDrill(planned, jobs, {
    runbookFile,
    runbookSha256: plan.runbook.sha256,
    facts,
    sets: opts.sets,
    ...(needsAcknowledgement ? { allowDataLoss: plan.inventory.link } : {}),
    deadlineMs: DEADLINE_MS,
    stops,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    reuseWorkers: pluginFiles.length === 0,
    engine: { dist: BUILT_ENGINE, at: engineAtStart },
    ...(pluginFiles.length ? { plugins: { files: pluginFiles, sha256: filesDigest(pluginFiles) } } : {}),
    scenarios: { files: scenarioFiles, sha256: filesDigest(scenarioFiles) },
    ...(opts.coldBaseline ? { start: startCliChild } : {}),
    interrupt,
  }, startLab, (r, done) => {
    judged = done;
    violations += r.violations.length;
    io.stderr.write(progressLine(r, done, planned.length, started, violations, tty));
  }).catch(async (error: unknown) => {
    // Every run in progress stops its lab and removes its folder before the drill says it stopped.
    if (interrupt.signal) return interrupt.settled().then(() => undefined);
    if (error instanceof DrillSetupError) throw new UsageError(`drill: ${error.message}`);
    // Not the runbook's failure and not bad input: the drill could not rehearse, so it is no pass (exit 1), with what broke.
    if (error instanceof DrillHarnessError) throw new ExitError(ExitCode.failedBeforeChange, `drill: ${error.message}; the drill could not rehearse the runbook (its own failure, not the runbook's)`);
    throw error;
  }).finally(() => {
    stopListening();
    stops.close();
    dispose();
  });
  if (interrupt.signal || !results) {
    io.stderr.write(`drill: interrupted (${interrupt.signal ?? 'signal'}) after ${judged} of ${planned.length} runs; no verdict\n`);
    return ExitCode.interrupted;
  }

  const summary = { runbook: opts.runbook, replayBase: replayBase({ runbook: opts.runbook, sets: opts.sets, faults: faults as 'matrix' | 'random', scenarios }), seed, faults: faults as 'matrix' | 'random', results, ms: Date.now() - started };
  io.stdout.write(opts.format === 'json' ? renderDrillJson(summary) : renderDrillText(summary));
  // A drill that rehearsed no change is not a pass: exit 1, said on stderr too for a JSON reader's log.
  const idle = notExercisedLine(summary);
  if (idle) io.stderr.write(`drill: ${idle}\n`);
  return results.some((r) => r.violations.length) || idle ? ExitCode.failedBeforeChange : ExitCode.done;
}

/** The command line that replays a case, without `--seed` and `--only` (report.ts adds them per violation). */
export function replayBase(o: { runbook: string; sets: string[]; faults: 'matrix' | 'random'; scenarios: string[] }): (scenario: string) => string[] {
  return (scenario) => [
    'runbook', 'drill', o.runbook, ...o.sets.flatMap((s) => ['--set', s]),
    // A random draw depends on the list of scenarios; a matrix case names its own.
    '--scenarios', o.faults === 'random' ? o.scenarios.join(',') : scenario, '--faults', o.faults,
    // Random mode draws 20 runs by default, each under a seed of its own: the replay runs the
    // one draw that broke, the first under its seed (attack r6drill #5).
    ...(o.faults === 'random' ? ['--runs', '1'] : []),
  ];
}

/**
 * The embedded lab, loaded as `lab up` loads it, seen through the drill's DrillLab. Every lab of
 * the drill serves the same throwaway certificates, made once (three openssl runs were most of a
 * lab's start); `dispose` removes them.
 */
async function embeddedLab(coldBaseline: boolean): Promise<{ startLab: StartDrillLab; dispose(): void }> {
  const { loadLab } = await import('./lab-start.js');
  const lab = await loadLab();
  const certificateDir = mkdtempSync(join(tmpdir(), 'runbook-drill-certs-'));
  const dispose = () => rmSync(certificateDir, { recursive: true, force: true });
  const certificates = await lab.createLabCertificates(certificateDir).catch((error: unknown) => {
    dispose();
    throw error;
  });
  const startLab: StartDrillLab = async ({ scenario, faults }) => {
    // The case's faults come on top of the scenario's own (primary-down's replica is down from the start).
    const base = lab.loadScenario(scenario);
    // A lab keeps nothing in its folder but its certificates: given these, it is given their folder
    // too, and makes and removes no folder of its own for each run.
    const started = await lab.startLab({ scenario, ...(coldBaseline ? {} : { certificates, dir: certificateDir }), overrides: { faults: [...base.faults, ...(faults as unknown as typeof base.faults)] } });
    const roles = () => {
      const link = started.link();
      link.advance();
      return { sqlServer: link.replicas.sqlServer.role, managedInstance: link.replicas.managedInstance.role };
    };
    const drillLab: DrillLab = {
      inventory: started.inventory as unknown as Record<string, unknown>,
      env: started.env,
      statements: () => started.statements(),
      armRequests: () => started.armRequests(),
      ledger: () => {
        const l = started.ledger();
        return { committed: l.committed, lost: l.lost };
      },
      roles,
      setDown: (side: Side, down: boolean) => started.setDown(side, down),
      stop: () => started.stop(),
    };
    return drillLab;
  };
  return { startLab, dispose };
}
