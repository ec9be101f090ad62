// Startup budget: median wall time of `runbook plan <runbook> --lab` against `node -e 0`, over
// at least 20 runs each, printed as a ratio. Budget 2.5x. Prints PASS or OVER and exits 0: a
// benchmark informs, it does not gate (tests never assert timings). The machine's load average
// and each side's middle half (25th to 75th percentile) are printed too: on a shared machine a
// busy neighbour moves the ratio by a few tenths, and the spread says how far to trust one run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'dist', 'engine', 'cli', 'bin.js');
const runs = Math.max(20, Number(process.env.BENCH_RUNS ?? 21));
const budget = 2.5;

const shipped = join(root, 'runbooks', 'planned-failover.yml');
// Until the shipped runbook exists, a fixture with the same kinds of built-in steps stands in.
const runbook = existsSync(shipped) ? shipped : join(root, 'test', 'fixtures', 'runbooks', 'engine-back', 'builtins.yml');

function timeOnce(args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${String(r.stderr).trim().split('\n')[0]}`);
  return ms;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function middleHalf(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return `${at(0.25).toFixed(1)}-${at(0.75).toFixed(1)} ms`;
}

function main(): void {
  const planArgs = [bin, 'plan', runbook, '--lab'];
  const loadBefore = loadavg()[0]!;
  // One warm-up each so the first run's disk cache misses do not skew either side.
  timeOnce(['-e', '0']);
  timeOnce(planArgs);
  const baseline: number[] = [];
  const plan: number[] = [];
  // Interleaved, so a machine-wide slowdown hits both sides alike.
  for (let i = 0; i < runs; i++) {
    baseline.push(timeOnce(['-e', '0']));
    plan.push(timeOnce(planArgs));
  }
  const b = median(baseline);
  const p = median(plan);
  const ratio = p / b;
  process.stdout.write(`startup: runbook plan ${relative(root, runbook)} --lab${runbook === shipped ? '' : ' (fixture: runbooks/planned-failover.yml does not exist yet)'}\n`);
  process.stdout.write(`  load average       ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after\n`);
  process.stdout.write(`  node -e 0          median ${b.toFixed(1)} ms over ${runs} runs (middle half ${middleHalf(baseline)})\n`);
  process.stdout.write(`  runbook plan --lab median ${p.toFixed(1)} ms over ${runs} runs (middle half ${middleHalf(plan)})\n`);
  process.stdout.write(`  ratio ${ratio.toFixed(2)}x (budget ${budget}x): ${ratio <= budget ? 'PASS' : 'OVER'}\n`);
}

main();
