// The runner's order and width (test/runner/): longest expected first, a new file early, one file
// per core always and more (up to four per core, eight in all) only into idle CPU, unless
// TEST_CONCURRENCY says otherwise; the timings file merged, never fatal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConcurrency, expectedDemand, HEAVY_CPU_MS, longestFirst, mayStartAnother, MIN_DEMAND, nextFile, UNKNOWN_FILE_MS, type Room } from './schedule.js';
import { cpuTimes, idleCores, SpareCpu } from './spare-cpu.js';
import { readTimings, recordTimings } from './timings.js';
import { coresBusy, slowestFiles } from '../run.js';
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

test('one file per core always; more, up to the most, only into idle CPU (the load average where it cannot be measured)', () => {
  const room = (running: number, spareCores: number | undefined, load1m = 0, max = 8): Room => ({ running, max, cores: 2, spareCores, load1m });
  assert.ok(mayStartAnother(room(1, 0, 25), 1), 'under one per core: whatever the machine does');
  assert.not.ok(mayStartAnother(room(2, 0.1), 0.2), 'the cores are busy: one per core');
  assert.ok(mayStartAnother(room(2, 0.5), 0.2), 'idle CPU for a file that mostly waits');
  assert.not.ok(mayStartAnother(room(2, 0.5), 0.9), 'not enough for one that computes');
  assert.ok(mayStartAnother(room(7, 2), 0.2), 'up to the most');
  assert.not.ok(mayStartAnother(room(8, 2), 0.2), 'never past the most');
  assert.not.ok(mayStartAnother(room(1, 2, 0, 1), 0.2), 'TEST_CONCURRENCY=1 is one');
  assert.not.ok(mayStartAnother(room(2, undefined, 2), 0.2), 'no /proc/stat: the load average at the cores');
  assert.ok(mayStartAnother(room(2, undefined, 1.2), 0.2), 'no /proc/stat: under the cores');
});

test('a file keeps its CPU over its wall busy, at least MIN_DEMAND; one without a timing counts as a core', () => {
  const timings = { 'wait.js': { wallMs: 40_000, cpuMs: 2_000 }, 'busy.js': { wallMs: 10_000, cpuMs: 9_000 }, 'par.js': { wallMs: 4_000, cpuMs: 6_000 }, 'old.js': { wallMs: 500 } };
  assert.is(expectedDemand('wait.js', timings), MIN_DEMAND);
  assert.is(expectedDemand('busy.js', timings), 0.9);
  assert.is(expectedDemand('par.js', timings), 1.5, 'children in parallel: more than a core');
  assert.is(expectedDemand('old.js', timings), 1, 'no CPU recorded');
  assert.is(expectedDemand('new.js', timings), 1);
});

test('the next file is the first that may start and fits: a lighter one behind a file that does not fit goes first', () => {
  const timings = { 'busy.js': { wallMs: 9, cpuMs: 9 }, 'wait.js': { wallMs: 10, cpuMs: 1 } };
  const fits = (f: string) => expectedDemand(f, timings) <= 0.5;
  assert.is(nextFile(['busy.js', 'wait.js'], [], timings, 2, fits), 'wait.js');
  assert.is(nextFile(['busy.js'], [], timings, 2, fits), undefined);
  assert.is(nextFile(['busy.js', 'wait.js'], [], timings, 2), 'busy.js', 'no room test: the first');
});

test('idle cores from /proc/stat: idle and iowait of the summed first line over all its ticks, times the cores', () => {
  const before = cpuTimes('cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4 5\n')!;
  assert.equal(before, { idle: 800, total: 1000 });
  const after = cpuTimes('cpu  400 0 200 800 100 0 0 0 0 0\n')!;
  assert.is(idleCores(before, after, 2), 0.4, '100 idle ticks of 500 on 2 cores');
  assert.is(idleCores(after, after, 2), undefined, 'no time passed');
  assert.is(cpuTimes('intr 1 2 3'), undefined);
  assert.is(cpuTimes('cpu  1 2 x 4 5'), undefined);
  const texts = ['cpu  100 0 100 700 100 0 0 0 0 0', 'cpu  400 0 200 800 100 0 0 0 0 0'];
  const spare = new SpareCpu(2, () => texts.shift());
  assert.is(spare.idleSinceLast(), 0.4);
  assert.is(spare.idleSinceLast(), undefined, 'unreadable now: unknown');
});

test('four files per core, at least two, at most eight; TEST_CONCURRENCY wins when it is a positive whole number', () => {
  assert.is(defaultConcurrency({}, 2), 8);
  assert.is(defaultConcurrency({}, 1), 4);
  assert.is(defaultConcurrency({}, 32), 8);
  assert.is(defaultConcurrency({ TEST_CONCURRENCY: '1' }, 2), 1);
  assert.is(defaultConcurrency({ TEST_CONCURRENCY: '0' }, 2), 8);
  assert.is(defaultConcurrency({ TEST_CONCURRENCY: 'two' }, 2), 8);
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

test("the cores' share the run's files kept busy, and the least a run of that CPU can take on those cores", () => {
  assert.is(coresBusy(480_000, 400_000, 2), "the run: 400.0 s wall on 2 cores, its files' CPU 480.0 s: 60% of the cores busy with them (240 s at the least)\n");
  assert.match(coresBusy(0, 0, 2), /: 0% of the cores/);
});

test.run();
