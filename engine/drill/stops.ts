// Whether the drill itself was stopped: SIGSTOP or a terminal's Ctrl-Z of its process group, a
// paused VM or container. Every process of the drill stands still then, but wall time runs on, so
// a run's deadline fires as soon as they go on again, and the run would be judged `run-hung`
// against the runbook though it never had the time (attack r7drill #4). A process cannot see its
// own stop, only its aftermath: a short interval timer that comes due far later than it should
// means the process did not run in between.

export interface StopWatch {
  /** How long (ms) the drill was seen stopped within [from, to] (Date.now() times). */
  stoppedDuring(from: number, to: number): number;
  close(): void;
}

export interface StopWatchOptions {
  /** How often the timer comes due. */
  tickMs?: number;
  /**
   * How late a tick must be to count as a stop. A drill on a loaded machine only waits on I/O, so
   * its timers are late by tens or hundreds of milliseconds; seconds mean it did not run at all.
   */
  minStopMs?: number;
}

export function watchForStops(o: StopWatchOptions = {}): StopWatch {
  const tickMs = o.tickMs ?? 250;
  const minStopMs = o.minStopMs ?? 2000;
  const stops: Array<{ from: number; to: number }> = [];
  // Wall time, the clock run results carry (child.ts startedAt/endedAt); a clock set forward looks
  // like a stop, which only ever withholds a verdict.
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    if (now - last - tickMs >= minStopMs) stops.push({ from: last + tickMs, to: now });
    last = now;
  }, tickMs);
  // The drill ends when its runs do, not when this timer says so.
  timer.unref();
  return {
    stoppedDuring: (from, to) => stops.reduce((sum, s) => sum + Math.max(0, Math.min(to, s.to) - Math.max(from, s.from)), 0),
    close: () => clearInterval(timer),
  };
}
