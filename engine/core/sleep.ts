// The one pause of the engine and its steps: a retry's delay, a verification's poll, a step's wait
// between two reads. Cut short by a signal, it rejects, so that a caller cannot mistake an
// interrupted wait for a full one.

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first (at once when it already has). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
