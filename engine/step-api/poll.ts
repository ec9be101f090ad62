// A step's wait: look, and if what it waits for is not there yet, look again a poll interval later,
// until a timeout. Interrupts end it at once; the last wait is cut to the deadline, so a step with
// a 1s timeout and a 30s poll interval still gives up after about 1s.
import { sleep } from '../core/sleep.js';

export interface PollOptions {
  /** How long to wait in all, in ms, counted from the call. */
  timeoutMs: number;
  /** The pause between two looks, in ms. */
  pollMs: number;
  /** The run's signal (ctx.signal): an interrupt rejects with its reason. */
  signal: AbortSignal;
}

/**
 * Calls `look` until it returns a value (not `undefined`), and returns that value. A look that
 * starts before the deadline is always finished; once the deadline has passed after a look that
 * found nothing, `timedOut()` is thrown (built then, from what the last look saw). `look` throws
 * what must end the wait (a refusal, a failure); it returns `undefined` for "not yet".
 */
export async function pollUntil<T>(options: PollOptions, look: () => Promise<T | undefined>, timedOut: () => Error): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal.throwIfAborted();
    const found = await look();
    if (found !== undefined) return found;
    const left = deadline - Date.now();
    if (left <= 0) throw timedOut();
    await sleep(Math.min(options.pollMs, left), options.signal);
  }
}
