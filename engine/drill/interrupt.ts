// Ctrl-C or SIGTERM of a drill: it starts no more runs, stops the ones in progress (their processes
// killed: each run's lab and folder are the drill's own, throwaway), waits until each has stopped
// its lab and removed its folder, and ends with no verdict (attack r7drill #5: it used to end
// silently, a run's folder left in /tmp).

/** A run of an interrupted drill: it is not judged. */
export class DrillInterruptedError extends Error {
  override name = 'DrillInterruptedError';
}

export class DrillInterrupt {
  #signal: NodeJS.Signals | undefined;
  readonly #onInterrupt = new Set<() => void>();
  readonly #running = new Set<Promise<unknown>>();

  /** The signal that interrupted the drill; undefined while it goes on. */
  get signal(): NodeJS.Signals | undefined {
    return this.#signal;
  }

  interrupt(signal: NodeJS.Signals): void {
    if (this.#signal) return;
    this.#signal = signal;
    for (const stop of this.#onInterrupt) stop();
  }

  /** Takes SIGINT and SIGTERM as this drill's interrupt (instead of the process's end) until the returned function is called. */
  listen(): () => void {
    const onSignal = (signal: NodeJS.Signals) => this.interrupt(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }

  /** `stop` is called once, at the interrupt (at once if it already came), until the returned function is called. */
  onInterrupt(stop: () => void): () => void {
    if (this.#signal) {
      stop();
      return () => undefined;
    }
    this.#onInterrupt.add(stop);
    return () => this.#onInterrupt.delete(stop);
  }

  /** Counts `run` as in progress until it settles (cleanup included). */
  track<T>(run: Promise<T>): Promise<T> {
    this.#running.add(run);
    const forget = () => this.#running.delete(run);
    run.then(forget, forget);
    return run;
  }

  /** Settles once every run tracked so far has settled. */
  async settled(): Promise<void> {
    while (this.#running.size) await Promise.allSettled([...this.#running]);
  }
}
