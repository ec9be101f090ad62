// Runs every compiled uvu test file in its own Node process (several at a time, the longest
// expected first: ./runner/schedule.ts), sums uvu's per-file counts, prints the ten slowest files
// (wall and CPU time, children included) and ends with the one line CI reads: `N passed, N failed`.
// A file that crashes, times out or prints no uvu summary counts as one failure. Each file runs with
// ./per-test-timeout/preload.js: a test still running after TEST_TIMEOUT_MS fails by its name, and a
// file stopped after TEST_FILE_TIMEOUT_MS names the test it was in.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CPU_LINE } from './per-test-timeout/cpu-usage.js';
import { cpuCores, defaultConcurrency, expectedDemand, longestFirst, mayStartAnother, nextFile, RAMP_MS, type FileTiming, type Room } from './runner/schedule.js';
import { SpareCpu } from './runner/spare-cpu.js';
import { readTimings, recordTimings } from './runner/timings.js';

const here = dirname(fileURLToPath(import.meta.url));
const concurrency = defaultConcurrency();
const widthChosen = process.env.TEST_CONCURRENCY !== undefined;
const fileTimeoutMs = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 180_000);
const args = process.argv.slice(2);
/** Write this run's timings into test/runner/timings.json (the order later runs use). */
const record = args.includes('--record-timings');
const filter = args.find((a) => !a.startsWith('--'));
const preload = new URL('./per-test-timeout/preload.js', import.meta.url).href;

function findTests(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) found.push(...findTests(full));
    else if (name.endsWith('.test.js')) found.push(full);
  }
  return found;
}

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  output: string;
  ms: number;
  /** CPU of the file's process and its reaped children; undefined when the file did not report it (killed). */
  cpuMs?: number;
}

/** uvu prints `Total: N`, `Passed: N`, `Skipped: N`; failures are total - passed - skipped. */
export function parseUvuSummary(output: string): { passed: number; failed: number } | undefined {
  const num = (label: string) => {
    const m = output.match(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm'));
    return m ? Number(m[1]) : undefined;
  };
  const total = num('Total');
  const passed = num('Passed');
  const skipped = num('Skipped') ?? 0;
  if (total === undefined || passed === undefined) return undefined;
  return { passed, failed: total - passed - skipped };
}

/** The files' processes now running: a runner stopped by a signal stops them too (they would run on, orphaned). */
const children = new Set<ChildProcess>();
function stopChildrenOnSignal(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`[run] ${signal}: stopping ${children.size} running file(s)\n`);
      for (const child of children) child.kill('SIGTERM');
      process.exit(130);
    });
  }
}

function runFile(file: string): Promise<FileResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', preload, file], {
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    let killer: NodeJS.Timeout | undefined;
    // SIGTERM first: the preload then names the test that was running; SIGKILL if that does not end it.
    const timer = setTimeout(() => {
      output += `\n[run] ${relative(here, file)} timed out after ${fileTimeoutMs} ms\n`;
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    }, fileTimeoutMs);
    child.on('close', (code) => {
      children.delete(child);
      clearTimeout(timer);
      clearTimeout(killer);
      const cpu = output.match(CPU_LINE);
      output = output.replace(CPU_LINE, '');
      const counts = parseUvuSummary(output);
      const result = counts ?? { passed: 0, failed: 1 };
      if (code !== 0 && result.failed === 0) result.failed = 1;
      resolve({ file, ...result, output, ms: Date.now() - started, cpuMs: cpu ? Number(cpu[1]) : undefined });
    });
  });
}

/** Files under the repository's `.runbook/` (tests must write journals to temporary folders only). */
function repoJournalFiles(): string[] {
  const dir = join(here, '..', '..', '.runbook');
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((name) => (statSync(join(d, name)).isDirectory() ? walk(join(d, name)) : [join(d, name)]));
  try {
    return walk(dir);
  } catch {
    return [];
  }
}

/**
 * How well the run kept the cores busy: the files' CPU (children's included) over the run's wall
 * time on `cores`. A full run cannot end before its CPU divided by the cores; how far it is from
 * that, and why (files waiting, or others' work on the machine), is what this line measures.
 */
export function coresBusy(cpuMs: number, runMs: number, cores: number): string {
  const share = runMs > 0 ? cpuMs / (runMs * cores) : 0;
  return `the run: ${(runMs / 1000).toFixed(1)} s wall on ${cores} cores, its files' CPU ${(cpuMs / 1000).toFixed(1)} s: ${Math.round(share * 100)}% of the cores busy with them (${(cpuMs / cores / 1000).toFixed(0)} s at the least)\n`;
}

/**
 * The slowest files by wall time, with their CPU time: a file whose CPU is far below its wall time
 * waits (windows, polls, timeouts); one near or above it computes (or runs children in parallel).
 */
export function slowestFiles(results: Array<Pick<FileResult, 'file' | 'ms' | 'cpuMs'>>, count: number): string {
  const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, count);
  const wall = results.reduce((n, r) => n + r.ms, 0);
  const cpu = results.reduce((n, r) => n + (r.cpuMs ?? 0), 0);
  const lines = slowest.map((r) => {
    const cpuText = r.cpuMs === undefined ? '      ?' : `${(r.cpuMs / 1000).toFixed(1).padStart(7)}`;
    return `  ${(r.ms / 1000).toFixed(1).padStart(6)} s wall ${cpuText} s cpu  ${relative(here, r.file)}`;
  });
  return `slowest ${slowest.length} of ${results.length} files (all files: ${(wall / 1000).toFixed(1)} s wall summed, ${(cpu / 1000).toFixed(1)} s cpu):\n${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  stopChildrenOnSignal();
  const runStarted = Date.now();
  const journalsBefore = new Set(repoJournalFiles());
  // The filter is matched against the path under dist/test/, not the checkout's (a worktree named r4-steps matched every file for `steps/`).
  const timings = readTimings();
  const found = findTests(here).filter((f) => !filter || relative(here, f).includes(filter));
  const files = longestFirst(found.map((f) => relative(here, f)), timings).map((f) => join(here, f));
  const results: FileResult[] = [];
  const queue = [...files];
  const running = new Set<string>();
  const heavySlots = Math.max(1, Math.min(concurrency, cpuCores()));
  const spareCpu = new SpareCpu(cpuCores());
  let idle: number | undefined;
  /** Files started lately: their CPU does not show in the idle measure yet, so it is kept for them. */
  const started: Array<{ at: number; demand: number }> = [];
  const room = (): Room => {
    const now = Date.now();
    const kept = started.filter((s) => now - s.at < RAMP_MS).reduce((n, s) => n + s.demand, 0);
    // A width the caller chose (TEST_CONCURRENCY) is kept whatever the load.
    return { running: running.size, max: Math.max(1, concurrency), cores: heavySlots, spareCores: widthChosen ? Infinity : idle === undefined ? undefined : idle - kept, load1m: widthChosen ? 0 : loadavg()[0]! };
  };
  await new Promise<void>((allDone) => {
    const launch = (): void => {
      for (;;) {
        const now = room();
        const name = nextFile(queue.map((f) => relative(here, f)), [...running], timings, heavySlots, (f) => mayStartAnother(now, expectedDemand(f, timings)));
        if (name === undefined) break;
        const file = join(here, name);
        queue.splice(queue.indexOf(file), 1);
        running.add(name);
        started.push({ at: Date.now(), demand: expectedDemand(name, timings) });
        void runFile(file).then((r) => {
          running.delete(name);
          results.push(r);
          const status = r.failed ? 'FAIL' : 'ok  ';
          process.stdout.write(`${status} ${name}  (${r.passed} passed, ${r.failed} failed, ${r.ms} ms, cpu ${r.cpuMs ?? '?'} ms)\n`);
          if (r.failed) process.stdout.write(r.output.replace(/^/gm, '    ') + '\n');
          launch();
        });
      }
      if (running.size === 0 && queue.length === 0) {
        clearInterval(widen);
        allDone();
      }
    };
    // The machine's idle CPU moves while files run: measured every second, not only when one ends.
    const widen = setInterval(() => {
      idle = spareCpu.idleSinceLast();
      launch();
    }, 1000);
    launch();
  });
  const passed = results.reduce((n, r) => n + r.passed, 0);
  let failed = results.reduce((n, r) => n + r.failed, 0);
  const written = repoJournalFiles().filter((f) => !journalsBefore.has(f));
  if (written.length) {
    failed++;
    process.stdout.write(`FAIL a test wrote into the repository's .runbook/ (use a temporary RUNBOOK_JOURNAL_DIR):\n${written.map((f) => `    ${relative(join(here, '..', '..'), f)}`).join('\n')}\n`);
  }
  if (files.length === 0) process.stdout.write('no test files found\n');
  else process.stdout.write(slowestFiles(results, 10) + coresBusy(results.reduce((n, r) => n + (r.cpuMs ?? 0), 0), Date.now() - runStarted, cpuCores()));
  if (record) {
    const measured: Record<string, FileTiming> = {};
    for (const r of results) measured[relative(here, r.file)] = { wallMs: r.ms, ...(r.cpuMs !== undefined ? { cpuMs: r.cpuMs } : {}) };
    recordTimings(measured, concurrency);
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exitCode = failed > 0 || files.length === 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) void main();
