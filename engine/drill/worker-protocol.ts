// What the drill's pool (workers.ts) and a warm `runbook` worker (engine/cli/worker.ts) say to each
// other over the worker's IPC channel. The run's output goes over the worker's stdout and stderr,
// not here: the engine writes them as bin.ts would, and they end with the run's `endMark`.

/** The parent to a ready worker: run this. */
export interface WorkerRun {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** Written to stdout and stderr after the run's own output, so that the parent knows where it ends. */
  endMark: string;
  /** The parent wants this process again after the run, if it is clean. */
  reuse: boolean;
  /**
   * Stop the run still once its journal shows step boundary `boundary` (drill/boundary.ts), write
   * `mark` to stderr and block until killed: the parent's SIGKILL then lands exactly there.
   */
  hold?: { boundary: number; mark: string };
}

/**
 * A worker to the parent: loaded and waiting; the run's exit code (as soon as it ends); then,
 * once its sockets and timers had time to close, whether it is clean enough for another run.
 */
export type WorkerMessage = { ready: true } | { done: number } | { reusable: boolean };
