// How many more `runbook` processes a drill's runs may still ask for: the most the worker pool
// need start. Without it the pool keeps its spares starting to the last run, and at the end of a
// drill a few workers load the engine and its drivers (about half a CPU second each) for no run.

/** Faults whose run has a second `apply` process: the resume after a kill or Ctrl-C, or the second operator. */
export const TWO_PROCESSES: ReadonlySet<string> = new Set(['kill-at-step', 'kill-random', 'hang', 'second-operator']);

export class ProcessDemand {
  /** Processes each run may still ask for; a run that ended asks for none. */
  private readonly left: number[];
  /** Runs not started yet that might yet turn out never to run (pruned): asked of `pruned` when counting. */
  private readonly notStarted: Set<number>;

  /**
   * `kinds`: each run's fault kind, in the drill's order of runs; `pruned(i)`: whether run i is
   * known by now never to run (its scenario's run without a fault shows the fault cannot strike).
   */
  constructor(kinds: readonly string[], private readonly pruned: (run: number) => boolean) {
    this.left = kinds.map((k) => (TWO_PROCESSES.has(k) ? 2 : 1));
    this.notStarted = new Set(kinds.keys());
  }

  /** Run `i` begins: from now on only its asks count it down. */
  started(i: number): void {
    this.notStarted.delete(i);
  }

  /** Run `i` asked for a process. */
  asked(i: number): void {
    this.left[i] = Math.max(0, this.left[i]! - 1);
  }

  /** Run `i` ended (or was not run): it asks for nothing more. */
  ended(i: number): void {
    this.notStarted.delete(i);
    this.left[i] = 0;
  }

  /** The most processes the runs may still ask for. */
  count(): number {
    let sum = 0;
    this.left.forEach((n, i) => {
      if (n > 0 && !(this.notStarted.has(i) && this.pruned(i))) sum += n;
    });
    return sum;
  }
}
