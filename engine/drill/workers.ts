// Warm `runbook` processes for the drill's runs (engine/cli/worker.ts): a few are kept started and
// loaded ahead of need, each run takes one, and a worker that finished a run cleanly may take the
// next. A run is still a process of its own while it runs: the drill's SIGKILL and Ctrl-C reach
// it as they reach bin.ts, and its pid is the one its journal and lock name.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ChildResult, ChildRun } from './child.js';
import type { WorkerMessage, WorkerRun } from './worker-protocol.js';

const WORKER_BIN = fileURLToPath(new URL('../cli/worker.js', import.meta.url));

/**
 * How the workers' Node runs. --expose-gc: worker.ts collects while a run settles (a closed
 * handle ends for async_hooks only once collected). --no-opt: no TurboFan. A worker's life is a
 * run or a few of about a second each, mostly waiting; TurboFan's background compiles of the code
 * that got hot in that time cost more CPU than the optimised code saves before the process ends
 * (bench/drill: a kill case 1.57 -> 1.46 CPU s, a plain run on a reused worker 0.05 to 0.1 s less,
 * at load 17-26). Optimisation changes how fast JavaScript runs, never what it does: the runs
 * rehearse the same engine.
 */
const WORKER_V8_FLAGS = ['--expose-gc', '--no-opt'];

/** A mark no run's output holds by chance, written whole by the worker and cut out of the output. */
const endMark = (what: string) => `\u0000runbook-worker-${what} ${randomBytes(6).toString('hex')}\u0000`;


export interface WorkerPoolOptions {
  /** The environment the workers start with: what every run's environment has in common (nothing secret). */
  baseEnv: Record<string, string>;
  /** Workers kept started or starting and waiting, at least (a run never waits for Node to start when one is). */
  warm: number;
  /** The most kept waiting: a finished worker beyond it is ended. */
  maxIdle: number;
  /** Workers started at once (default maxIdle): as many as the first runs need, each a second of CPU. */
  initial?: number;
  /** Whether a worker may take another run after a clean one (false: each run in a fresh process). */
  reuse: boolean;
  /** Runs one worker may take before it is retired (bounds what a long-lived process could gather). */
  maxRunsPerWorker?: number;
  /**
   * The most runs the caller may still ask for beyond those waiting (default: no bound): spares
   * are started only up to it, so the end of a drill starts no worker that no run takes.
   */
  demand?: () => number;
}

interface Worker {
  child: ChildProcess;
  /** The process has exited and its output has all come. */
  gone: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  ready: Promise<boolean>;
  runs: number;
  /** The run in progress: output is routed to it. */
  current?: Routing;
  /** Not to take another run, whatever it says of itself. */
  retire?: boolean;
  /** Its run ended; its word on another run has not come yet. */
  settling?: boolean;
  /** What it wrote before it was ready (a worker that dies loading says why here), the last STARTUP_OUTPUT characters. */
  startupOutput: string;
}

/** How much of a worker's output before it was ready is kept (to say why one died loading). */
const STARTUP_OUTPUT = 4000;

interface Routing {
  mark: string;
  /** Written by a run held at its step boundary (engine/cli/worker-hold.ts), once. */
  holdMark?: string;
  held(): void;
  stdout: string;
  stderr: string;
  marksSeen: number;
  /** The run's exit code, as the worker reported it. */
  done?: number;
  finish(): void;
}

/** Why a worker that was to run something ended before it began: its exit and what it said (nothing, if it said nothing). */
function diedStarting(w: Worker, code: number | null, signal: NodeJS.Signals | null): string {
  const said = w.startupOutput.trim();
  return `a drill worker (pid ${w.child.pid ?? '?'}) ended before its run began (${signal ? `signal ${signal}` : `exit ${code}`})${said ? `: ${said}` : ', saying nothing'}`;
}

export class WorkerPool {
  private idle: Worker[] = [];
  /** Started, not ready yet, and not taken by a run. */
  private readonly starting = new Set<Worker>();
  /** Workers whose run ended and whose word on another run has not come yet. */
  private settling = 0;
  /** Runs waiting for a worker that is starting or settling. */
  private readonly waiters: Array<(worker: Worker) => void> = [];
  private closed = false;
  private readonly all = new Set<Worker>();

  constructor(private readonly opts: WorkerPoolOptions) {
    this.topUp(opts.initial ?? opts.maxIdle);
  }

  /** `runbook <args>` on a warm worker, with `env` (which should include baseEnv) and `cwd`; SIGKILLed at `deadlineMs`. */
  start(args: string[], run: { env: NodeJS.ProcessEnv; cwd: string; deadlineMs: number; fresh?: boolean; apartFrom?: number; holdAt?: number }): ChildRun {
    const startedAt = Date.now();
    const apartFrom = run.apartFrom;
    const chosen = run.fresh ? this.takeWhere((w) => w.runs === 0) : apartFrom !== undefined ? this.takeWhere((w) => w.child.pid !== apartFrom) : this.take();
    this.topUp();
    const env = Object.fromEntries(Object.entries(run.env).filter((e): e is [string, string] => typeof e[1] === 'string'));
    let worker: Worker | undefined;
    let pid: number | undefined;
    let timedOut = false;
    /** A signal sent before the run reached its worker: the run never starts (as a process killed at start). */
    let killedBefore: NodeJS.Signals | undefined;
    const route: Routing = { mark: endMark('end'), stdout: '', stderr: '', marksSeen: 0, finish: () => undefined, held: () => undefined };
    let ended = false;
    // Told the run is held at its boundary (true), or that it ended first (false).
    const held = run.holdAt === undefined ? undefined : new Promise<boolean>((resolve) => (route.held = () => resolve(true)));
    if (held) route.holdMark = endMark('held');
    const signal = (sig: NodeJS.Signals) => {
      // A run that ended is no process any more: its worker may be settling or running another run.
      if (ended) return;
      if (pid === undefined || !worker) killedBefore = sig;
      else worker.child.kill(sig);
      // A run the caller signalled went through the engine's interrupt path: its process is not used again.
      if (worker) worker.retire = true;
    };
    const done = new Promise<ChildResult>((resolve) => {
      const end = (code: number | null, sig: NodeJS.Signals | null, harnessFailure?: string) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        if (worker) worker.current = undefined;
        resolve({ code, signal: sig, stdout: route.stdout, stderr: route.stderr, startedAt, endedAt: Date.now(), timedOut, ...(pid !== undefined ? { pid } : {}), ...(harnessFailure ? { harnessFailure } : {}) });
      };
      const timer = setTimeout(() => {
        timedOut = true;
        signal('SIGKILL');
      }, run.deadlineMs);
      route.finish = () => {
        if (route.done === undefined || route.marksSeen < 2) return;
        end(route.done, null);
      };
      void chosen.then(async (w) => {
        worker = w;
        void w.gone.then(({ code, signal: sig }) => end(code, sig, pid === undefined ? diedStarting(w, code, sig) : undefined));
        if (!(await w.ready) || ended) return;
        pid = w.child.pid;
        if (killedBefore) {
          w.retire = true;
          w.child.kill(killedBefore);
          return;
        }
        w.current = route;
        w.runs++;
        // A run to be held at its boundary is there to be killed: its worker is not to come back, and
        // so need not track what the run opens (a fifth of a run's CPU, worker-leftovers.ts).
        const reuse = this.opts.reuse && w.runs < (this.opts.maxRunsPerWorker ?? 25) && run.holdAt === undefined;
        const hold = route.holdMark !== undefined && run.holdAt !== undefined ? { hold: { boundary: run.holdAt, mark: route.holdMark } } : {};
        w.child.send({ argv: args, env, cwd: run.cwd, endMark: route.mark, reuse, ...hold } satisfies WorkerRun);
      });
    });
    return {
      get pid() {
        return pid;
      },
      kill: signal,
      done,
      stderrSoFar: () => route.stderr,
      ...(held ? { held: Promise.race([held, done.then(() => false)]) } : {}),
    };
  }

  /** Ends the idle workers; a worker running a run ends with it. */
  async close(): Promise<void> {
    this.closed = true;
    const exits = [...this.all].map((w) => w.gone);
    for (const w of this.idle) w.child.disconnect();
    this.idle = [];
    // One still starting is told when it is ready (topUp's callback).
    await Promise.all(exits);
  }

  /** A waiting worker that is `wanted`, else a new one. */
  private takeWhere(wanted: (w: Worker) => boolean): Promise<Worker> {
    const at = this.idle.findIndex(wanted);
    if (at >= 0) return Promise.resolve(this.idle.splice(at, 1)[0]!);
    return Promise.resolve(this.spawnWorker(() => undefined));
  }

  /**
   * A waiting worker; else one that just ran and is settling, or is starting, when there is one
   * no other run waits for (it is nearer ready than a new one: a second of CPU saved); else a new one.
   */
  private take(): Promise<Worker> {
    const ready = this.idle.shift();
    if (ready) return Promise.resolve(ready);
    if (this.settling + this.starting.size > this.waiters.length) return new Promise((resolve) => this.waiters.push(resolve));
    return Promise.resolve(this.spawnWorker(() => undefined));
  }

  /** A worker free for a run: to the run that waits longest, else it waits. */
  private hand(worker: Worker): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(worker);
    else if (this.idle.length >= this.opts.maxIdle) worker.child.disconnect();
    else this.idle.push(worker);
  }

  /** A worker that runs expected will not come (it was not reusable, or died starting): a new one for each run left waiting. */
  private makeUpFor(): void {
    while (!this.closed && this.waiters.length > this.settling + this.starting.size) this.waiters.shift()!(this.spawnWorker(() => undefined));
  }

  private topUp(to = this.opts.warm): void {
    const wanted = Math.min(to, this.waiters.length + (this.opts.demand?.() ?? Infinity));
    while (!this.closed && this.idle.length + this.starting.size < wanted) {
      const w = this.spawnWorker(() => {
        if (!this.starting.delete(w)) return;
        if (this.closed) w.child.disconnect();
        else this.hand(w);
      });
      this.starting.add(w);
    }
  }

  private release(worker: Worker, reusable: boolean): void {
    this.settling--;
    if (reusable && !this.closed) this.hand(worker);
    // The worker exits by itself when it said it is not reusable; told to when the pool has no more use for it.
    else if (reusable) worker.child.disconnect();
    this.makeUpFor();
  }

  private spawnWorker(onReady: () => void): Worker {
    const child = spawn(process.execPath, [...WORKER_V8_FLAGS, WORKER_BIN], { env: this.opts.baseEnv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    // Not 'close': a child whose IPC channel the parent disconnected may never emit it (Node 20).
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    const drained = (s: NodeJS.ReadableStream) => new Promise<void>((r) => s.once('close', () => r()));
    const gone = Promise.all([exited, drained(child.stdout!), drained(child.stderr!)]).then(([e]) => e);
    const worker: Worker = { child, gone, runs: 0, ready: Promise.resolve(false), startupOutput: '' };
    this.all.add(worker);
    worker.ready = new Promise<boolean>((resolve) => {
      child.on('message', (m: WorkerMessage) => {
        if ('ready' in m) {
          onReady();
          resolve(true);
        } else if ('done' in m) {
          this.settling++;
          worker.settling = true;
          if (worker.current) {
            worker.current.done = m.done;
            worker.current.finish();
          }
        } else if (worker.settling) {
          worker.settling = false;
          this.release(worker, m.reusable && worker.retire !== true);
        }
      });
      void gone.then(() => {
        this.all.delete(worker);
        this.idle = this.idle.filter((w) => w !== worker);
        resolve(false);
        // One that was expected to come free will not.
        if (worker.settling) {
          worker.settling = false;
          this.settling--;
        }
        this.starting.delete(worker);
        this.makeUpFor();
      });
    });
    const route = (which: 'stdout' | 'stderr') => (chunk: string) => {
      const r = worker.current;
      if (!r) {
        worker.startupOutput = (worker.startupOutput + chunk).slice(-STARTUP_OUTPUT);
        return;
      }
      r[which] += chunk;
      if (which === 'stderr' && r.holdMark !== undefined) {
        const at = r.stderr.indexOf(r.holdMark);
        if (at >= 0) {
          r.stderr = r.stderr.slice(0, at) + r.stderr.slice(at + r.holdMark.length);
          r.holdMark = undefined;
          r.held();
        }
      }
      // The mark is written whole, but a pipe may hand it over in two chunks: looked for in what has come.
      const at = r[which].indexOf(r.mark);
      if (at < 0) return;
      r[which] = r[which].slice(0, at) + r[which].slice(at + r.mark.length);
      r.marksSeen++;
      r.finish();
    };
    child.stdout!.setEncoding('utf8').on('data', route('stdout'));
    child.stderr!.setEncoding('utf8').on('data', route('stderr'));
    return worker;
  }
}
