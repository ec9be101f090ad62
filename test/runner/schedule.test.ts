// The runner's order and width (test/runner/): longest expected first, a new file early, two
// files per core unless TEST_CONCURRENCY says otherwise; the timings file merged, never fatal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConcurrency, HEAVY_CPU_MS, longestFirst, mayStartAnother, nextFile, UNKNOWN_FILE_MS } from './schedule.js';
import { readTimings, recordTimings } from './timings.js';
import { slowestFiles } from '../run.js';
import { tempDir } from '../helpers/cli.js';

test('longest expected first; a file without a timing counts as UNKNOWN_FILE_MS; equal ones keep their order', () => {
  const timings = { 'a.test.js': { wallMs: 1000 }, 'b.test.js': { wallMs: 90_000 }, 'c.test.js': { wallMs: UNKNOWN_FILE_MS + 1 }, 'd.test.js': { wallMs: 1000 } };
  assert.equal(longestFirst(['a.test.js', 'b.test.js', 'new.test.js', 'c.test.js', 'd.test.js'], timings), ['b.test.js', 'c.test.js', 'new.test.js', 'a.test.js', 'd.test.js']);
  assert.equal(longestFirst([], timings), []);
});

test('a heavy file (CPU at least HEAVY_CPU_MS) starts only while fewer than the heavy slots run; a light one after it may go first', () => {
  const timings = { 'h1.js': { wallMs: 9, cpuMs: HEAVY_CPU_MS }, 'h2.js': { wallMs: 8, cpuMs: HEAVY_CPU_MS + 1 }, 'l.js': { wallMs: 7, cpuMs: HEAVY_CPU_MS - 1 } };
  const queue = ['h2.js', 'l.js', 'new.js'];
  assert.is(nextFile(queue, [], timings, 2), 'h2.js');
  assert.is(nextFile(queue, ['h1.js'], timings, 2), 'h2.js');
  assert.is(nextFile(queue, ['h1.js'], timings, 1), 'l.js', 'one heavy slot, taken');
  assert.is(nextFile(['h2.js'], ['h1.js', 'l.js'], timings, 1), undefined, 'only heavy ones are left: wait');
  assert.is(nextFile(['new.js'], ['h1.js'], timings, 1), 'new.js', 'a file without a timing is not heavy');
});

test('one file per core always; more, up to the most, only while the load average is under the cores', () => {
  assert.ok(mayStartAnother(1, 4, 2, 25), 'under one per core: whatever the load');
  assert.not.ok(mayStartAnother(2, 4, 2, 25), 'a busy machine: one per core');
  assert.not.ok(mayStartAnother(2, 4, 2, 2), 'load at the cores: no CPU to spare');
  assert.ok(mayStartAnother(3, 4, 2, 1.2), 'CPU to spare: wider');
  assert.not.ok(mayStartAnother(4, 4, 2, 0), 'never past the most');
  assert.not.ok(mayStartAnother(1, 1, 2, 0), 'TEST_CONCURRENCY=1 is one');
});

test('two files per core, at least two, at most eight; TEST_CONCURRENCY wins when it is a positive whole number', () => {
  assert.is(defaultConcurrency({}, 2), 4);
  assert.is(defaultConcurrency({}, 1), 2);
  assert.is(defaultConcurrency({}, 32), 8);
  assert.is(defaultConcurrency({ TEST_CONCURRENCY: '1' }, 2), 1);
  assert.is(defaultConcurrency({ TEST_CONCURRENCY: '0' }, 2), 4);
  assert.is(defaultConcurrency({ TEST_CONCURRENCY: 'two' }, 2), 4);
});

test('recorded timings merge into the file (files not run keep theirs); a damaged file reads as none', () => {
  const file = join(tempDir('runner-timings-'), 'timings.json');
  assert.equal(readTimings(file), {}, 'no file yet');
  recordTimings({ 'b.test.js': { wallMs: 2, cpuMs: 1 } }, 4, file);
  recordTimings({ 'a.test.js': { wallMs: 3 } }, 4, file);
  assert.equal(readTimings(file), { 'a.test.js': { wallMs: 3 }, 'b.test.js': { wallMs: 2, cpuMs: 1 } });
  assert.match(JSON.parse(readFileSync(file, 'utf8')).measured, /4 files at once, load average at the end [\d.]+ [\d.]+ [\d.]+$/);
  writeFileSync(file, '{"files": {"a.test.js": ');
  assert.equal(readTimings(file), {});
});

test("the slowest files by wall time with their CPU time ('?' when a file did not report it), and the sums", () => {
  const here = join(process.cwd(), 'dist', 'test');
  const text = slowestFiles(
    [
      { file: join(here, 'x.test.js'), ms: 1500, cpuMs: 300 },
      { file: join(here, 'y.test.js'), ms: 61_000 },
      { file: join(here, 'z.test.js'), ms: 200, cpuMs: 250 },
    ],
    2,
  );
  assert.match(text, /^slowest 2 of 3 files \(all files: 62\.7 s wall summed, 0\.6 s cpu\):\n/);
  assert.match(text, /\n\s+61\.0 s wall\s+\? s cpu  .*y\.test\.js\n\s+1\.5 s wall\s+0\.3 s cpu  .*x\.test\.js\n$/);
});

test.run();
