// One drill run: a fresh lab with the case's scenario and faults, `runbook apply` of the runbook in
// a child process (killed and resumed, or joined by a second operator, when the case says so),
// and then the record of what the lab saw, for the judge.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../core/exit-codes.js';
import { ENGINE_CHANGED, type EngineState } from './engine-build.js';
import { DrillHarnessError, DrillSetupError } from './errors.js';
import { checkEngineUnchanged, checkFilesUnchanged, RUN_AGAIN, type WatchedFiles } from './unchanged.js';
import { instantOf, labFaults, type DrillCase, type Side } from './cases.js';
import { journalFileRecords, journalFiles, runIdOf, startCliChild, stepsReached, stopThenResume, until, type ChildResult, type ChildRun, type StartRun, type StopAt } from './child.js';
import { isChangeStatement } from './judge.js';
import { DrillInterruptedError, type DrillInterrupt } from './interrupt.js';
import type { StopWatch } from './stops.js';

export { DrillHarnessError, DrillSetupError } from './errors.js';
export { filesDigest, type WatchedFiles } from './unchanged.js';
import type { Invocation, JournalRecord, LedgerCounts, RecordedRun, Roles, RunbookFacts } from './record.js';

/** What the drill needs of a started lab (engine/commands/drill.ts adapts the embedded lab to it). */
export interface DrillLab {
  /** The link's inventory as the engine reads it (written to a file for the runs). */
  inventory: Record<string, unknown>;
  /** The passwords and token the runs need, by variable name; also the secrets no output may show. */
  env: Record<string, string>;
  statements(): Array<{ side: Side; statement: string; errorNumber: number | null; notCarriedOut?: 'dropped' | 'hung' | 'cancelled' | 'connectionClosed'; at: Date }>;
  armRequests(): Array<{ method: string; path: string; status: number; at: Date }>;
  ledger(): LedgerCounts;
  roles(): Roles;
  setDown(side: Side, down: boolean): void;
  stop(): Promise<void>;
}

export type StartDrillLab = (options: { scenario: string; faults: Array<Record<string, unknown>> }) => Promise<DrillLab>;

export interface RunSettings {
  runbookFile: string;
  facts: RunbookFacts;
  sets: string[];
  /**
   * The sha256 of the runbook as the drill planned it (its plan's `runbook.sha256`): a run whose
   * journal names another ran a runbook edited while the drill ran.
   */
  runbookSha256?: string;
  /**
   * The plugin files the runbook loads (`plugins:`) and their digest as the drill planned with
   * them (filesDigest): each run's process imports them afresh, so an edit mid-drill would
   * run code the drill did not plan with (attack r6drill #6); the YAML's own sha256 misses it.
   */
  plugins?: WatchedFiles;
  /**
   * The lab scenario files the drill's cases start from (the built-in `healthy.yml` every scenario
   * is laid over, and each scenario's own file) and their digest at the drill's start: the lab
   * reads them again at every case start, so an edit or a `git checkout` mid-drill would judge
   * runs of two worlds under one verdict, and replay lines would replay the other (attack r7drill #2).
   */
  scenarios?: WatchedFiles;
  /** The link name, given as `--allow-data-loss` when the runbook has a dataLoss step. */
  allowDataLoss?: string;
  /**
   * The built engine's folder and its state when the drill started (engine-build.ts): checked
   * after each case's runs (unchanged.ts).
   */
  engine?: { dist: string; at: EngineState };
  /** How long one `apply` may take before the drill kills it and calls the run hung. */
  deadlineMs: number;
  /**
   * Watches for the drill itself being stopped (stops.ts): a run killed at its deadline after such
   * a stop had not had its time, and is the drill's own failure, never judged `run-hung`.
   */
  stops?: StopWatch;
  /** Ctrl-C or SIGTERM of the drill (interrupt.ts): a run in progress kills its processes and is not judged. */
  interrupt?: DrillInterrupt;
  /** The inventory's request and connect timeouts: a hung statement ends in this time. */
  requestTimeoutMs: number;
  /** How each `apply` process is started (default: a fresh child; the drill uses warm workers, workers.ts). */
  start?: StartRun;
  /**
   * Whether a warm worker may run more than one `apply` (each with a clean registry, environment
   * and directory, engine/cli/worker.ts). False for a runbook with plugins: a plugin module's own
   * state would carry from one run to the next, where each real run starts it afresh.
   */
  reuseWorkers?: boolean;
}

/** What every run's environment holds besides the lab's passwords and its journal folder (nothing secret): what warm workers start with. */
export function drillBaseEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '', NO_COLOR: '1',
    // The client's own retry waits, short as the drill's windows (a 429's Retry-After is 0 here).
    RUNBOOK_ARM_RETRY_DELAY_MS: '20', RUNBOOK_ARM_MAX_RETRY_DELAY_MS: '50',
  };
}

/** How far a run went, as the lab and its journal show it: what a fault would need to be reached. */
export interface Reach {
  steps: number;
  /** Change statements the replicas received (carried out or not). */
  sqlChanges: number;
  /** ARM requests other than reads. */
  armWrites: number;
}

export function reachOf(record: RecordedRun): Reach {
  return {
    steps: stepsReached(record.invocations[0]?.journal ?? []),
    sqlChanges: record.statements.filter((s) => isChangeStatement(s.statement)).length,
    armWrites: record.arm.filter((r) => r.method !== 'GET').length,
  };
}

/**
 * Whether every process of the run ended by itself: none timed out, was killed or was interrupted.
 * Only such a run without a fault says how far the runbook goes, and so which faults can never
 * strike (a baseline stopped early by the deadline would leave the later cases unrun: attack r7fix #2).
 */
export function endedOnItsOwn(record: Pick<RecordedRun, 'invocations'>): boolean {
  return record.invocations.length > 0 && record.invocations.every((i) => i.code !== null && i.code !== ExitCode.interrupted && !i.timedOut && !i.killedByDrill && !i.abandonedByDrill);
}

export interface CaseRun {
  case: DrillCase;
  seed: number;
  record: RecordedRun;
  /** Whether the fault took effect (a kill that came after the run ended did not). */
  fired: boolean;
  ms: number;
}

export function runCase(c: DrillCase, seed: number, settings: RunSettings, startLab: StartDrillLab): Promise<CaseRun> {
  const run = runCaseOnce(c, seed, settings, startLab);
  // An interrupted drill waits for each run to stop its lab and remove its folder before it exits.
  return settings.interrupt ? settings.interrupt.track(run) : run;
}

async function runCaseOnce(c: DrillCase, seed: number, settings: RunSettings, startLab: StartDrillLab): Promise<CaseRun> {
  const started = Date.now();
  const interrupted = () => settings.interrupt?.signal !== undefined;
  if (interrupted()) throw new DrillInterruptedError(`${c.id} seed ${seed}: not started, the drill was interrupted`);
  checkFilesUnchanged(settings);
  const lab = await startLab({ scenario: c.scenario, faults: labFaults(c.fault) });
  const dir = mkdtempSync(join(tmpdir(), 'runbook-drill-'));
  // The run's processes, killed when the drill is interrupted (and any started after that, at once: a resume).
  const live = new Set<ChildRun>();
  const unwatch = settings.interrupt?.onInterrupt(() => {
    for (const run of live) run.kill('SIGKILL');
  });
  try {
    const before = { ledger: lab.ledger(), roles: lab.roles() };
    const inventoryFile = join(dir, 'inventory.json');
    writeFileSync(inventoryFile, JSON.stringify(withTimeouts(lab.inventory, settings.requestTimeoutMs)));
    const journalDir = join(dir, 'runs');
    const env: NodeJS.ProcessEnv = { ...drillBaseEnv(), ...lab.env, RUNBOOK_JOURNAL_DIR: journalDir };
    const ack = settings.allowDataLoss !== undefined ? ['--allow-data-loss', settings.allowDataLoss] : [];
    // An outcome left unknown (a replica down just after a change) is checked until this, then exit
    // 5: the engine's default (2 minutes) outlasts the deadline and was judged run-hung.
    const outcome = ['--outcome-timeout', `${Math.floor(settings.deadlineMs / 4)}ms`];
    const args = ['apply', settings.runbookFile, '-i', inventoryFile, '--yes', ...outcome, ...ack, ...settings.sets.flatMap((s) => ['--set', s])];
    const given = settings.start ?? startCliChild;
    // Each process's result, to tell a run that took place from one whose process never began it.
    const results: ChildResult[] = [];
    // The signals the drill itself sent each process: a death by any other is not the drill's fault to judge.
    const sent = new Map<ChildResult, { args: string[]; signals: NodeJS.Signals[] }>();
    /** `apply <runbook>` or `apply --resume`: which of the case's commands a process ran. */
    const commandOf = (r: ChildResult) => sent.get(r)?.args.slice(0, 2).join(' ') ?? 'apply';
    const start: StartRun = (a, o) => {
      const run = given(a, o);
      const signals: NodeJS.Signals[] = [];
      const done = run.done.then((r) => {
        results.push(r);
        sent.set(r, { args: a, signals });
        return r;
      });
      // The run as started, but for its kill, which notes the signal (`pid` is read when asked: a warm worker's comes later).
      const noted: ChildRun = {
        get pid() { return run.pid; }, kill: (signal) => { signals.push(signal); run.kill(signal); }, done, stderrSoFar: () => run.stderrSoFar(),
        ...(run.held ? { held: run.held } : {}),
      };
      live.add(noted);
      void done.then(() => live.delete(noted));
      if (interrupted()) noted.kill('SIGKILL');
      return noted;
    };
    const opts = { env, cwd: dir, deadlineMs: settings.deadlineMs, start };
    const invocations: Invocation[] = [];
    const pids: Array<number | undefined> = [];
    let fired = c.fault.kind !== 'kill-at-step' && c.fault.kind !== 'kill-random' && c.fault.kind !== 'second-operator' && c.fault.kind !== 'replica-down';
    const instant = instantOf(seed, c.id);
    const labReached = () => lab.statements().length >= instant;

    if (c.fault.kind === 'kill-at-step' || c.fault.kind === 'kill-random' || c.fault.kind === 'hang') {
      // A hung change runs on until it ends (a change has no request timeout: a real BACKUP or
      // FAILOVER may take long, steps/sqlExec.ts), so the drill does what the operator would:
      // once the lab holds the statement, Ctrl-C until the run gives it up, then --resume.
      const at: StopAt = c.fault.kind === 'kill-at-step' ? { boundary: c.fault.boundary }
        : { reached: c.fault.kind === 'hang' ? () => lab.statements().some((s) => s.notCarriedOut === 'hung') : labReached };
      const stop = c.fault.kind === 'hang' ? 'interrupt' : 'kill';
      const r = await stopThenResume(args, ['--yes', ...outcome, ...ack], { ...opts, journalDir, ...at, stop });
      fired = (r.stopped && !r.afterEnd) || (c.fault.kind === 'hang' && lab.statements().some((s) => s.notCarriedOut === 'hung'));
      invocations.push(invocation('first', args, r.first, r.stopped ? stop : undefined));
      pids.push(r.first.pid);
      if (r.resumed) {
        invocations.push(invocation('resume', ['apply', '--resume', r.runId!], r.resumed, undefined));
        pids.push(r.resumed.pid);
      }
    } else {
      const first = start(args, opts);
      let finished = false;
      void first.done.then(() => (finished = true));
      let second: Promise<ChildResult> | undefined;
      if (c.fault.kind === 'replica-down' || c.fault.kind === 'second-operator') {
        fired = await until(labReached, () => finished, settings.deadlineMs);
        if (fired && c.fault.kind === 'replica-down') lab.setDown(c.fault.side, true);
        // Any worker but the first's: that one, had the first ended and been reused, would give both
        // one pid, and each invocation's journal is found by its pid (attack r5drill, not shown).
        // Not one that has run nothing: a second operator's process is not killed, and a new one
        // costs a Node start and driver load.
        if (fired && c.fault.kind === 'second-operator') second = start(args, { ...opts, ...(first.pid !== undefined ? { apartFrom: first.pid } : { fresh: true }) }).done;
      }
      const firstResult = await first.done;
      invocations.push(invocation('first', args, firstResult, undefined));
      pids.push(firstResult.pid);
      if (second) {
        const secondResult = await second;
        invocations.push(invocation('second-operator', args, secondResult, undefined));
        pids.push(secondResult.pid);
      }
    }

    if (interrupted()) throw new DrillInterruptedError(`${c.id} seed ${seed}: stopped, the drill was interrupted`);
    // Not a run of the runbook at all: judged, it would read as one that exited (attack r5drill #4: "exit 7, ok").
    const broken = results.find((r) => r.harnessFailure !== undefined);
    if (broken) {
      // A worker that died loading may have met a rebuild that began before this case: said as such.
      checkEngineUnchanged(settings);
      throw new DrillHarnessError(broken.harnessFailure);
    }
    // Killed at a deadline that counted time the drill stood still (Ctrl-Z, SIGSTOP, a paused
    // machine): the run was not hung, it was stopped with everything else (attack r7drill #4).
    const stoppedMs = Math.max(0, ...results.filter((r) => r.timedOut).map((r) => settings.stops?.stoppedDuring(r.startedAt, r.endedAt) ?? 0));
    if (stoppedMs > 0) {
      throw new DrillHarnessError(`${c.id} seed ${seed}: the drill was stopped for ${Math.round(stoppedMs / 1000)} s (Ctrl-Z, SIGSTOP, a paused machine) while a run went on, and its deadline counted that time: no run of it can be judged hung; run it again`);
    }
    // A process that met another build of the engine refused to go on: its exit is the engine's
    // change, not the runbook's behaviour (attack r7fix #8: "exit 1, ok", kills that never fired).
    const journalText = journalFiles(journalDir).map((f) => readFileSync(f, 'utf8')).join('');
    const refusal = results.flatMap((r) => `${r.stderr}\n${r.stdout}`.split('\n')).find((line) => ENGINE_CHANGED.test(line));
    if (refusal !== undefined || ENGINE_CHANGED.test(journalText)) {
      throw new DrillHarnessError(`${c.id} seed ${seed}: a run met another build of the engine than the one it started with${refusal !== undefined ? ` (${refusal.trim()})` : ' (its journal says so)'}; ${RUN_AGAIN}`);
    }
    checkEngineUnchanged(settings);
    // Killed by a signal the drill did not send (the OOM killer, an operator, a stray kill): the
    // runbook was not rehearsed to its end, and no check can judge a silent process (attack r6drill #2).
    const killedByOther = results.find((r) => r.code === null && !r.timedOut && !(r.signal !== null && sent.get(r)?.signals.includes(r.signal)));
    if (killedByOther) {
      throw new DrillHarnessError(`${c.id} seed ${seed}: the process of its \`runbook ${commandOf(killedByOther)}\` (pid ${killedByOther.pid ?? '?'}) was killed by ${killedByOther.signal ?? 'a signal'}, not by the drill${lastWords(killedByOther)}`);
    }
    // Stopped by a SIGINT or SIGTERM the drill did not send (`kill <pid>`, a supervisor stopping a
    // process): the engine takes it as an operator's interrupt and exits 130, which judged would
    // read as a run that was stopped on purpose (attack r7fix #2: "exit 130, ok").
    const interruptedByOther = results.find((r) => r.code === ExitCode.interrupted && !sent.get(r)?.signals.some((s) => s === 'SIGINT' || s === 'SIGTERM'));
    if (interruptedByOther) {
      throw new DrillHarnessError(`${c.id} seed ${seed}: the process of its \`runbook ${commandOf(interruptedByOther)}\` (pid ${interruptedByOther.pid ?? '?'}) exited ${ExitCode.interrupted} (interrupted), but the drill sent it no SIGINT or SIGTERM: something else stopped it${lastWords(interruptedByOther)}`);
    }
    // Without a fault, exit 2 can only be the drill's input.
    const refusedInput = c.fault.kind === 'none' ? invocations.find((i) => i.code === 2) : undefined;
    if (refusedInput) throw new DrillSetupError(`runbook apply refused the drill's own input (exit 2): ${firstLine(refusedInput)}`);
    // With a fault, exit 2 is a set-up error the fault cannot have caused (the lab's login timing
    // out under load): the case never rehearsed its fault, and passing it as "did not fire" would
    // pass a case that never ran (attack r6drill #3). The one fault that can end a login half
    // way is a replica going down: the engine reports that as a set-up error (exit 2) too, so a
    // replica-down that fired keeps its run, judged.
    const canEndALogin = c.fault.kind === 'replica-down' && fired;
    const setUpError = c.fault.kind !== 'none' && !canEndALogin ? invocations.find((i) => i.code === 2) : undefined;
    if (setUpError) {
      throw new DrillHarnessError(`${c.id} seed ${seed}: its ${setUpError.role} run exited 2 (a set-up error, which its fault cannot cause), so the case never rehearsed its fault: ${firstLine(setUpError)}`);
    }
    // Each invocation's own journal: the file whose run-started names its pid; a resume appends to the first's.
    const firstFile = (pid: number | undefined) => {
      const id = runIdOf(journalDir, pid);
      return id ? journalFileRecords(join(journalDir, `${id}.jsonl`)) : undefined;
    };
    const firstJournal = firstFile(pids[0]);
    // The first run's own records end where a resume's begin (same file).
    const untilResumed = (records: JournalRecord[] | undefined) => {
      const at = records?.findIndex((r) => r.kind === 'run-resumed') ?? -1;
      return at < 0 ? records : records!.slice(0, at);
    };
    invocations.forEach((inv, i) => {
      const journal = inv.role === 'resume' ? firstJournal : inv.role === 'first' ? untilResumed(firstJournal) : firstFile(pids[i]);
      if (journal) inv.journal = journal;
    });
    // A drill rehearses one version of the runbook: the verdict of a mix would be nobody's (and a
    // runbook that gained plugins: mid-drill would have run them on workers meant for one without).
    for (const inv of invocations) {
      const ran = (inv.journal?.[0]?.runbook as { sha256?: unknown } | undefined)?.sha256;
      if (settings.runbookSha256 !== undefined && typeof ran === 'string' && ran !== settings.runbookSha256) {
        throw new DrillSetupError(`the runbook ${settings.runbookFile} changed while the drill ran (sha256 ${settings.runbookSha256.slice(0, 12)} -> ${ran.slice(0, 12)}); a drill rehearses one version: run it again`);
      }
    }
    checkFilesUnchanged(settings);
    const record: RecordedRun = {
      runbook: settings.facts,
      acknowledgedDataLoss: settings.allowDataLoss !== undefined,
      invocations,
      statements: lab.statements().map((s) => ({ side: s.side, statement: s.statement, errorNumber: s.errorNumber, at: s.at.getTime(), ...(s.notCarriedOut ? { notCarriedOut: s.notCarriedOut } : {}) })),
      arm: lab.armRequests().map((r) => ({ method: r.method, path: r.path.split('?')[0]!, status: r.status, at: r.at.getTime() })),
      ledger: { before: before.ledger, after: lab.ledger() },
      roles: { before: before.roles, after: lab.roles() },
      journalText,
      // The lab's env also carries names that are not secret (the Entra tenant, client id and
      // authority host, which the inventory and the journal may show): only passwords, tokens and
      // client secrets count.
      secrets: Object.entries(lab.env).filter(([name]) => /PASSWORD|TOKEN|SECRET/.test(name)).map(([, value]) => value),
      failedArmOperations: c.fault.kind === 'arm-lro-failed' ? 1 : 0,
    };
    return { case: c, seed, record, fired, ms: Date.now() - started };
  } finally {
    unwatch?.();
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function invocation(role: Invocation['role'], argv: string[], r: ChildResult, stoppedByDrill: 'kill' | 'interrupt' | undefined): Invocation {
  return {
    role, argv, code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr, startedAt: r.startedAt, endedAt: r.endedAt,
    ...(stoppedByDrill === 'kill' ? { killedByDrill: true } : stoppedByDrill === 'interrupt' ? { abandonedByDrill: true } : {}),
    ...(r.timedOut ? { timedOut: true } : {}),
  };
}

function firstLine(inv: Invocation): string {
  return (inv.stderr || inv.stdout).trim().split('\n')[0] ?? '';
}

/** The last line the process wrote, if any: what it was doing when it died. */
function lastWords(inv: { stdout: string; stderr: string }): string {
  const last = (inv.stderr || inv.stdout).trim().split('\n').at(-1);
  return last ? ` (its last line: ${last})` : ' (it wrote nothing)';
}

/** Short request and connect timeouts on both connections, so that a hung statement ends within the drill's windows. */
function withTimeouts(inventory: Record<string, unknown>, ms: number): Record<string, unknown> {
  const inv = structuredClone(inventory) as { link?: Record<string, { connection?: Record<string, unknown> }> };
  for (const side of ['sqlServer', 'managedInstance'] as const) {
    const conn = inv.link?.[side]?.connection;
    if (conn) {
      conn.requestTimeoutMs = ms;
      conn.connectTimeoutMs = Math.min(ms, 3000);
    }
  }
  return inv as Record<string, unknown>;
}
