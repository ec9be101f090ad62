// `runbook` started ahead of its arguments: the drill (and the fault-matrix tests) start these
// while other runs go on, so that Node's start-up and the drivers' loading (most of a short run's
// time) are paid before the run is needed. Each one runs `main` as bin.ts does, with the argv,
// environment and working directory it is sent over IPC; a SIGKILL or Ctrl-C sent to it reaches
// a real process holding the run's connections, as with bin.ts.
//
// It may take another run after the first only when the last left nothing behind that a fresh
// process would not have: the redaction registry is cleared, the environment replaced and the
// directory changed before each run, and after it the process must have no more signal or exit
// listeners than when it was ready, no async resource the run created still open (sockets and
// timers, ref'd or not: worker-leftovers.ts), and must never have imported a plugin (its module
// and state stay in the module cache); otherwise it exits with the run's code, as bin.ts would.
// The parent decides whether reuse is wanted at all (not for a runbook with plugins:).
import { PassThrough } from 'node:stream';
import { ExitCode } from '../core/exit-codes.js';
import { forgetSecrets } from '../core/redact.js';
import type { WorkerMessage, WorkerRun } from '../drill/worker-protocol.js';
import { pluginCodeImported } from '../load/plugins.js';
import { main } from './main.js';
import { holdAtBoundary } from './worker-hold.js';
import { leftovers, recordRunResources, stopRecording, stopTracking, untracked } from './worker-leftovers.js';

/**
 * How long a finished run's sockets and timers may take to end before the process counts as
 * unclean: its connections to the lab close when the drill stops that lab, right after the run.
 */
const SETTLE_MS = 1000;
/**
 * When to collect while settling, after the run's end: not at once (the drill stops the run's lab,
 * which closes its sockets, only after the run's result has reached it), then less and less often
 * (each collection costs tens of milliseconds of CPU).
 */
const COLLECT_AT_MS = [50, 150, 350, 750];
const WATCHED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'exit', 'beforeExit', 'uncaughtException', 'unhandledRejection'] as const;

// Started by hand, not by the drill's pool: no runs will come (attack r5drill #5: it crashed on process.send).
if (!process.send) {
  process.stderr.write('runbook: worker.js takes its runs from `runbook drill` over IPC; run `runbook` (bin.js) instead\n');
  process.exit(ExitCode.invalidInput);
}

// The modules every apply loads: loaded now, while the parent has no run for this process yet.
// Not @azure/identity: an inventory with a token variable (the lab's) never loads it, and it is
// a quarter of the drivers' load time.
await import('../commands/apply.js');
const { armSqlPackage, corePipelinePackage, mssqlPackage } = await import('../drivers/packages.js');
mssqlPackage();
armSqlPackage();
corePipelinePackage();

const listenerCounts = () => WATCHED_EVENTS.map((e) => process.listenerCount(e));
/** Open handles and requests by kind (our own settle timer aside). */
function resources(): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) if (r !== 'Timeout') out.set(r, (out.get(r) ?? 0) + 1);
  return out;
}
/** No more listeners of any watched event than when ready (a library may have dropped one of its own since). */
const noMoreListeners = () => listenerCounts().every((n, i) => n <= clean.listeners[i]!);
let clean: { listeners: number[]; resources: Map<string, number> };
/** No more of any kind than when ready (a request in flight then, e.g. a file closing, may be gone now). */
const noMoreResources = () => [...resources()].every(([kind, n]) => n <= (clean.resources.get(kind) ?? 0));

function replaceEnv(env: Record<string, string>): void {
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, env);
}

/**
 * A closed socket or file handle, and the timer of an AbortSignal.timeout() that nothing holds any
 * more, end for async_hooks only once collected: the pool starts workers with --expose-gc. Without
 * it (worker.js started by hand) such a run reads as unclean, and the process is not used again.
 */
const collect = (globalThis as { gc?: () => void }).gc;

async function settled(): Promise<boolean> {
  const start = Date.now();
  const deadline = start + SETTLE_MS;
  let collections = 0;
  for (;;) {
    if (noMoreListeners() && noMoreResources() && leftovers().length === 0) return true;
    // A pool that closed (the drill ended) takes no more runs: no reason to wait for a clean state.
    if (Date.now() > deadline || !process.connected) return false;
    if (collect && collections < COLLECT_AT_MS.length && Date.now() - start >= COLLECT_AT_MS[collections]!) {
      collect();
      collections++;
    }
    await untracked(() => new Promise((r) => setTimeout(r, 10)));
  }
}

/** Into the run's directory; a directory that is not there is the run's one line and exit 2, as bin.ts started there could not be. */
function enter(dir: string): boolean {
  try {
    process.chdir(dir);
    return true;
  } catch (error) {
    process.stderr.write(`runbook: cannot run in ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
    return false;
  }
}

let busy = false;
// A drill that ends (or dies) leaves its idle workers nothing to wait for; a run in progress goes on, as a child's would.
process.on('disconnect', () => {
  if (!busy) process.exit(0);
});
process.on('message', (run: WorkerRun) => {
  void (async () => {
    busy = true;
    forgetSecrets();
    replaceEnv(run.env);
    process.exitCode = undefined;
    const stdin = new PassThrough();
    stdin.end();
    // Tracked only for a run that may be followed by another in this process: a run that will
    // not (the drill will kill it, or this worker is at its last run) need not pay for it.
    if (run.reuse) recordRunResources();
    // Only this instruction holds a run (never its argv or environment); a run that ends first stops listening.
    const unhold = run.hold ? holdAtBoundary(run.hold.boundary, run.hold.mark) : () => undefined;
    let code: number;
    try {
      code = enter(run.cwd) ? await main(run.argv, { stdout: process.stdout, stderr: process.stderr, stdin: stdin as unknown as NodeJS.ReadStream, env: process.env, cwd: run.cwd }) : ExitCode.invalidInput;
    } finally {
      unhold();
    }
    untracked(() => {
      // Pipes are written synchronously on Linux: the mark follows everything the run wrote.
      process.stdout.write(run.endMark);
      process.stderr.write(run.endMark);
      // The run's result first: the parent need not wait for this process to settle.
      if (process.connected) process.send!({ done: code } satisfies WorkerMessage);
    });
    // Still recording while it settles: a timer the run left may open something new when it fires.
    // A process that imported a plugin keeps its module and state: never another run (attack
    // r5drill #6: a runbook that gained plugins: mid-drill ran them on reused workers).
    const reusable = run.reuse && !pluginCodeImported() && (await settled());
    stopRecording();
    // Everything the run opened has ended: nothing left to follow until the next run records again.
    if (reusable) stopTracking();
    busy = false;
    if (!process.connected) process.exit(code);
    process.send!({ reusable } satisfies WorkerMessage, () => {
      if (!reusable) process.exit(code);
    });
  })();
});
// The clean state, taken when everything a worker itself holds is open: process.stdout and stderr
// open their pipes when first used, and the IPC channel counts once it has a listener.
void process.stdout.writableLength;
void process.stderr.writableLength;
clean = { listeners: listenerCounts(), resources: resources() };
process.send!({ ready: true } satisfies WorkerMessage);
