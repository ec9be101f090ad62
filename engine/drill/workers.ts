// Warm `runbook` processes for the drill's runs (engine/cli/worker.ts): a few are kept started and
// loaded ahead of need, each run takes one, and a worker that finished a run cleanly may take the
// next. A run is still a process of its own while it runs: the drill's SIGKILL and Ctrl-C reach
// it as they reach bin.ts, and its pid is the one its journal and lock name.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ChildResult, ChildRun } from './child.js';

const WORKER_BIN = fileURLToPath(new URL('../cli/worker.js', import.meta.url));

/** What a worker's run message and answers look like (engine/cli/worker.ts). */
interface WorkerRun {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  endMark: string;
  reuse: boolean;
}
type WorkerMessage = { ready: true } | { done: number; reusable: boolean };

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
}

interface Worker {
  child: ChildProcess;
  /** The process has exited and its output has all come. */
  gone: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  ready: Promise<boolean>;
  runs: number;
  /** The run in progress: output is routed to it. */
  current?: Routing;
}

interface Routing {
  mark: string;
  stdout: string;
  stderr: string;
  marksSeen: number;
  done?: { code: number; reusable: boolean };
  finish(): void;
}

export class WorkerPool {
  private idle: Worker[] = [];
  /** Started, not ready yet, and not taken by a run. */
  private readonly starting = new Set<Worker>();
  private closed = false;
  private readonly all = new Set<Worker>();

  constructor(private readonly opts: WorkerPoolOptions) {
    this.topUp(opts.initial ?? opts.maxIdle);
  }

  /** `runbook <args>` on a warm worker, with `env` (which should include baseEnv) and `cwd`; SIGKILLed at `deadlineMs`. */
  start(args: string[], run: { env: NodeJS.ProcessEnv; cwd: string; deadlineMs: number }): ChildRun {
    const startedAt = Date.now();
    const worker = this.take();
    this.topUp();
    const env = Object.fromEntries(Object.entries(run.env).filter((e): e is [string, string] => typeof e[1] === 'string'));
    let pid: number | undefined;
    let timedOut = false;
    let killedBefore: NodeJS.Signals | undefined;
    let signalled = false;
    const route: Routing = { mark: `\u0000runbook-worker-end ${randomBytes(6).toString('hex')}\u0000`, stdout: '', stderr: '', marksSeen: 0, finish: () => undefined };
    const done = new Promise<ChildResult>((resolve) => {
      let ended = false;
      const end = (code: number | null, signal: NodeJS.Signals | null) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        worker.current = undefined;
        resolve({ code, signal, stdout: route.stdout, stderr: route.stderr, startedAt, endedAt: Date.now(), timedOut, ...(pid !== undefined ? { pid } : {}) });
      };
      const timer = setTimeout(() => {
        timedOut = true;
        worker.child.kill('SIGKILL');
      }, run.deadlineMs);
      route.finish = () => {
        if (!route.done || route.marksSeen < 2) return;
        const { code, reusable } = route.done;
        end(code, null);
        // A run the caller signalled went through the engine's interrupt path: its process is not used again.
        this.release(worker, reusable && !signalled);
      };
      void worker.gone.then(({ code, signal }) => end(code, signal));
      void worker.ready.then((ok) => {
        if (!ok || ended) return;
        pid = worker.child.pid;
        if (killedBefore) {
          worker.child.kill(killedBefore);
          return;
        }
        worker.current = route;
        worker.runs++;
        const reuse = this.opts.reuse && worker.runs < (this.opts.maxRunsPerWorker ?? 25);
        worker.child.send({ argv: args, env, cwd: run.cwd, endMark: route.mark, reuse } satisfies WorkerRun);
      });
    });
    return {
      get pid() {
        return pid;
      },
      kill: (signal) => {
        signalled = true;
        // A signal for a run whose worker is still loading: the run never starts (as a process killed at start).
        if (pid === undefined) killedBefore = signal;
        else worker.child.kill(signal);
      },
      done,
      stderrSoFar: () => route.stderr,
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

  /** A waiting worker, else the one that has been starting longest (it is nearer ready than a new one), else a new one. */
  private take(): Worker {
    const ready = this.idle.shift();
    if (ready) return ready;
    const [soonest] = this.starting;
    if (soonest) {
      this.starting.delete(soonest);
      return soonest;
    }
    return this.spawnWorker(() => undefined);
  }

  private topUp(to = this.opts.warm): void {
    while (!this.closed && this.idle.length + this.starting.size < to) {
      const w = this.spawnWorker(() => {
        // Not taken while it started: it waits (a taken one is the run's already).
        if (!this.starting.delete(w)) return;
        if (this.closed) w.child.disconnect();
        else this.idle.push(w);
      });
      this.starting.add(w);
    }
  }

  private release(worker: Worker, reusable: boolean): void {
    if (!reusable || this.closed) {
      // The worker exits by itself when it said it is not reusable; told to when the pool has no more use for it.
      if (reusable) worker.child.disconnect();
      return;
    }
    if (this.idle.length >= this.opts.maxIdle) worker.child.disconnect();
    else this.idle.push(worker);
  }

  private spawnWorker(onReady: () => void): Worker {
    const child = spawn(process.execPath, [WORKER_BIN], { env: this.opts.baseEnv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    // Not 'close': a child whose IPC channel the parent disconnected may never emit it (Node 20).
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    const drained = (s: NodeJS.ReadableStream) => new Promise<void>((r) => s.once('close', () => r()));
    const gone = Promise.all([exited, drained(child.stdout!), drained(child.stderr!)]).then(([e]) => e);
    const worker: Worker = { child, gone, runs: 0, ready: Promise.resolve(false) };
    this.all.add(worker);
    worker.ready = new Promise<boolean>((resolve) => {
      child.on('message', (m: WorkerMessage) => {
        if ('ready' in m) {
          onReady();
          resolve(true);
        } else if (worker.current) {
          worker.current.done = { code: m.done, reusable: m.reusable };
          worker.current.finish();
        }
      });
      void gone.then(() => {
        this.all.delete(worker);
        this.starting.delete(worker);
        this.idle = this.idle.filter((w) => w !== worker);
        resolve(false);
      });
    });
    const route = (which: 'stdout' | 'stderr') => (chunk: string) => {
      const r = worker.current;
      if (!r) return;
      r[which] += chunk;
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
