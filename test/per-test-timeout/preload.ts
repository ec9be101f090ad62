// Loaded by the test runner (`node --import`) before a test file: every uvu test gets a time limit
// and a name on its way out. uvu prints a failure's name only once the whole file has run, so a
// test that never ends (a wait that ignores its timeout) used to leave nothing but dots and the
// runner's kill after TEST_FILE_TIMEOUT_MS. Here the file's `import ... from 'uvu'` resolves to
// ./uvu.ts, which wraps each test; running a file directly with `node` leaves uvu as it is.
// The file's CPU time is reported at exit for the runner's timing table (./cpu-usage.ts).
import { register } from 'node:module';
import { reportCpuAtExit } from './cpu-usage.js';

// uvu runs its queue by itself unless UVU_DEFER is set; ./uvu.ts runs it, so that it can end the
// process after a test that timed out and may still hold the event loop.
const uvuGlobals = globalThis as { UVU_DEFER?: number; UVU_QUEUE?: unknown[][] };
uvuGlobals.UVU_DEFER = 1;
uvuGlobals.UVU_QUEUE = [[null]];

register('./hooks.js', import.meta.url, { data: { wrapper: new URL('./uvu.js', import.meta.url).href } });
reportCpuAtExit();
