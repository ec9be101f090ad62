// The runner's per-test timeout (test/per-test-timeout/): a test that never ends fails by its name,
// the rest of the file runs, and the file ends although the hung test keeps the event loop alive.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseUvuSummary } from './run.js';

const preload = new URL('./per-test-timeout/preload.js', import.meta.url).href;
const hangs = fileURLToPath(new URL('./fixtures/per-test-timeout/hangs.js', import.meta.url));

function runHanging(env: Record<string, string>, stopAfterMs?: number): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', preload, hangs], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    // The stop signal once the hung test has started (its pass mark for the first test is out).
    if (stopAfterMs !== undefined) child.stdout.once('data', () => setTimeout(() => child.kill('SIGTERM'), stopAfterMs));
    const backstop = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(backstop);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

test('a test still running after TEST_TIMEOUT_MS fails by its name, the next test runs, and the file ends', async () => {
  const { code, output, ms } = await runHanging({ TEST_TIMEOUT_MS: '500' });
  assert.is(code, 1, output);
  assert.ok(ms < 15_000, `ended after ${ms} ms`);
  assert.match(output, /\[test\] "never ends" still running after 500 ms: failed by the per-test timeout \(TEST_TIMEOUT_MS\)/);
  assert.match(output, /FAIL\s+"never ends"\n\s+still running after 500 ms/);
  assert.equal(parseUvuSummary(output), { passed: 2, failed: 1 }, output);
});

test('a file the runner stops (SIGTERM) names the test it was in', async () => {
  const { code, output } = await runHanging({ TEST_TIMEOUT_MS: '60000' }, 300);
  assert.is(code, 1, output);
  assert.match(output, /\[test\] stopped by the runner while running "never ends" \(for \d+ ms\)/);
});

test.run();
