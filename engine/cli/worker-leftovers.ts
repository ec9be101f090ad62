// What a run leaves behind in a warm drill worker (worker.ts): every async resource (socket, timer,
// request, ...) created while the run was in progress that has not ended. A fresh `runbook`
// process ends all of them at its exit (bin.ts); a worker about to take another run must have none,
// or the next run would share a socket to the last run's lab, or hear a timer of the last run's
// (attack r5drill #1: a keep-alive TLS socket to the previous lab's ARM endpoint lived on, because
// process.getActiveResourcesInfo() lists only what keeps the loop alive, and never unref'd
// handles or timers).
//
// Tracked with async_hooks (init and destroy) rather than by kind: whatever Node reports as an
// async resource counts, ref'd or not. Promises are left out: a settled promise holds nothing open.
import { createHook } from 'node:async_hooks';

/** Resources created during the run and not destroyed yet, by async id: their type. */
const open = new Map<number, string>();
let recording = false;

const hook = createHook({
  init(asyncId, type) {
    if (recording && type !== 'PROMISE') open.set(asyncId, type);
  },
  destroy(asyncId) {
    open.delete(asyncId);
  },
});

/** From now on, resources created count as the run's. */
export function recordRunResources(): void {
  open.clear();
  hook.enable();
  recording = true;
}

/** Stops counting new resources (those already counted are still followed until they end). */
export function stopRecording(): void {
  recording = false;
}

/**
 * Stops following resources at all (once none of the run's is open): with the hook enabled, every
 * promise the process creates is registered for its destroy event, the larger part of the tracking's
 * cost, also between runs and in a run that is not tracked.
 */
export function stopTracking(): void {
  recording = false;
  hook.disable();
  open.clear();
}

/**
 * `make()` with nothing it creates counted: the worker's own doings after the run (its end marks,
 * its messages, its settle timer), while what the run left may still start more of its own.
 */
export function untracked<T>(make: () => T): T {
  const was = recording;
  recording = false;
  try {
    return make();
  } finally {
    recording = was;
  }
}

/** The run's resources still open, by type ("Timeout x3"), empty when none is. */
export function leftovers(): string[] {
  const byType = new Map<string, number>();
  for (const type of open.values()) byType.set(type, (byType.get(type) ?? 0) + 1);
  return [...byType].map(([type, n]) => (n > 1 ? `${type} x${n}` : type));
}
