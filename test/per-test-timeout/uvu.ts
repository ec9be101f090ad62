// uvu's `test` and `suite`, each test limited to TEST_TIMEOUT_MS (default 120 s, under the runner's
// 180 s per file). A test still running then fails with its name at once, on stderr, and as an
// ordinary uvu failure; the rest of the file runs; after uvu's summary the process exits, since
// whatever the timed-out test started may still be running. If the runner has to stop the file
// (SIGTERM), the test running at that moment is named too.
import { exec, suite as uvuSuite, type Callback, type Test } from 'uvu';

const perTestMs = Number(process.env.TEST_TIMEOUT_MS ?? 120_000);

let running: { label: string; started: number } | undefined;
let timedOut = false;

process.on('SIGTERM', () => {
  const what = running ? `while running "${running.label}" (for ${Date.now() - running.started} ms)` : 'between tests';
  process.stderr.write(`\n[test] stopped by the runner ${what}\n`);
  process.exit(1);
});

function limited<T>(label: string, handler: Callback<T>): Callback<T> {
  return async (context) => {
    running = { label, started: Date.now() };
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        process.stderr.write(`\n[test] "${label}" still running after ${perTestMs} ms: failed by the per-test timeout (TEST_TIMEOUT_MS)\n`);
        reject(new Error(`still running after ${perTestMs} ms (the per-test timeout, TEST_TIMEOUT_MS); what it started may still be running`));
      }, perTestMs);
    });
    try {
      await Promise.race([handler(context), limit]);
    } finally {
      clearTimeout(timer);
      running = undefined;
    }
  };
}

let scheduled: NodeJS.Timeout | undefined;

/** As uvu does by itself without UVU_DEFER: run the queue once the file has registered its suites. */
function runQueueSoon(): void {
  clearTimeout(scheduled);
  scheduled = setTimeout(async () => {
    await exec();
    if (timedOut) process.exit();
  });
}

export function suite<T = Record<string, any>>(title = '', context?: T): Test<T> {
  const inner = uvuSuite<T>(title, context);
  const labelOf = (name: string) => (title ? `${title} › ${name}` : name);
  const wrapped = ((name: string, handler: Callback<T>) => inner(name, limited(labelOf(name), handler))) as Test<T>;
  // The project runs every test: a focused or skipped one is refused when the file loads.
  for (const narrowing of ['only', 'skip'] as const) {
    wrapped[narrowing] = () => {
      throw new Error(`test.${narrowing} is not allowed here: every test runs (README, Development)`);
    };
  }
  wrapped.before = inner.before;
  wrapped.after = inner.after;
  wrapped.run = () => {
    inner.run();
    runQueueSoon();
  };
  return wrapped;
}

export const test = suite();
export { exec };
