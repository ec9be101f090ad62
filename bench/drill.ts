// Drill speed: `runbook drill` of planned-failover with `npm run drill`'s short windows, this
// build against a baseline, interleaved (baseline, now, baseline, now, ...) so that a neighbour's
// load hits both alike. Prints each side's runs per second and CPU seconds per run, split into the
// `runbook` workers' (Node start, driver load, the engine's runs) and the drill process's (labs,
// judge, pool), their ratio, and the load average. Asserts nothing: a benchmark informs.
//
// Sides (BENCH_SIDES, comma-separated, in the order run each round):
//   now    this build, as `runbook drill` runs;
//   fresh  this build run as before round 5 (a fresh `runbook` process for each apply, new lab
//          certificates for each run), the drill's own cold baseline;
//   base   another built tree's drill (BENCH_BASELINE=<dir with dist/>: e.g. a checkout of main,
//          built), to compare a change against the code it replaces on the same machine at once.
// What is drilled: BENCH_SCENARIOS (default healthy: its whole matrix, 35 runs), or one case
// (BENCH_ONLY=healthy/kill-at-13-sync-commit-sql-server) BENCH_RUNS times (default 1): one kind
// of run's own cost (a plain run on a reused worker, a kill and its resume, a second operator).
// Run: npm run build && node dist/bench/drill.js
//   (BENCH_ROUNDS=2  BENCH_SIDES=base,now  BENCH_BASELINE=/tmp/main  BENCH_ONLY=...  BENCH_RUNS=10)
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { drillCommand } from '../engine/commands/drill.js';

type Side = 'now' | 'fresh' | 'base';
type DrillCommand = typeof drillCommand;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const scenarios = process.env.BENCH_SCENARIOS ?? 'healthy';
const only = process.env.BENCH_ONLY;
const runsPerCase = process.env.BENCH_RUNS;
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const baselineDir = process.env.BENCH_BASELINE;
const sidesToRun = (process.env.BENCH_SIDES ?? (baselineDir ? 'base,now' : 'now')).split(',').filter((x): x is Side => x === 'now' || x === 'fresh' || x === 'base');
const sets = ['stableFor=300ms', 'pollInterval=50ms', 'lsnTimeout=3s', 'stoppedFor=300ms'];

/**
 * CPU seconds of this process (the drill: its labs, judge and pool) and of its children that have
 * ended (the `runbook` workers), from /proc/self/stat: utime, stime, cutime, cstime.
 */
function cpuSeconds(): { own: number; children: number } {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // After the name: state is field 3, so utime (14) .. cstime (17) are indices 11..14 here.
  const ticks = (at: number[]) => at.reduce((sum, i) => sum + Number(fields[i]), 0) / 100;
  return { own: ticks([11, 12]), children: ticks([13, 14]) };
}

function collector(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) }), text: () => text };
}

interface Measure {
  runs: number;
  seconds: number;
  cpu: number;
  /** Of cpu, the workers' (the `runbook apply` processes: Node start, driver load, the engine's run). */
  workers: number;
}

async function drillOf(side: Side): Promise<DrillCommand> {
  if (side !== 'base') return drillCommand;
  if (!baselineDir) throw new Error('BENCH_SIDES has base: set BENCH_BASELINE to a built tree (a directory with dist/)');
  const mod = (await import(pathToFileURL(join(resolve(baselineDir), 'dist', 'engine', 'commands', 'drill.js')).href)) as { drillCommand: DrillCommand };
  return mod.drillCommand;
}

async function once(side: Side): Promise<Measure> {
  const drill = await drillOf(side);
  const out = collector();
  const stdin = new PassThrough();
  stdin.end();
  const cpu0 = cpuSeconds();
  const t0 = Date.now();
  const code = await drill(
    {
      runbook: join(root, 'runbooks', 'planned-failover.yml'), sets, scenarios: only ? only.split('/')[0]! : scenarios, seed: '7', format: 'json',
      ...(only ? { only } : {}), ...(runsPerCase ? { runs: runsPerCase } : {}), ...(side === 'fresh' ? { coldBaseline: true } : {}),
    },
    { stdout: out.stream, stderr: collector().stream, stdin: stdin as unknown as NodeJS.ReadStream, env: process.env, cwd: root },
  );
  const seconds = (Date.now() - t0) / 1000;
  const verdict = JSON.parse(out.text()) as { runs: number; ok: boolean };
  if (code !== 0 || !verdict.ok) process.stdout.write(`  (that drill exited ${code}, ok ${verdict.ok})\n`);
  const cpu1 = cpuSeconds();
  const workers = cpu1.children - cpu0.children;
  return { runs: verdict.runs, seconds, cpu: cpu1.own - cpu0.own + workers, workers };
}

const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const sides: Record<Side, Measure[]> = { now: [], fresh: [], base: [] };
const what = only ? `case ${only} x ${runsPerCase ?? 1}` : `scenarios ${scenarios}`;
process.stdout.write(`drill of planned-failover, ${what}, ${rounds} round(s) of ${sidesToRun.join(', ')}; load ${load()}\n`);
for (let r = 0; r < rounds; r++) {
  for (const side of sidesToRun) {
    const m = await once(side);
    sides[side].push(m);
    process.stdout.write(`  ${side.padEnd(5)} ${m.runs} runs in ${m.seconds.toFixed(1)} s: ${(m.runs / m.seconds).toFixed(2)} runs/s, ${(m.cpu / m.runs).toFixed(2)} CPU s per run (workers ${(m.workers / m.runs).toFixed(2)}, drill and labs ${((m.cpu - m.workers) / m.runs).toFixed(2)}) (load ${load()})\n`);
  }
}
const rate = (ms: Measure[]) => median(ms.map((m) => m.runs / m.seconds));
const cpu = (ms: Measure[]) => median(ms.map((m) => m.cpu / m.runs));
const against = sides.base.length ? 'base' : sides.fresh.length ? 'fresh' : undefined;
if (against && sides.now.length) {
  const b = sides[against];
  process.stdout.write(`median: ${against} ${rate(b).toFixed(2)} runs/s, now ${rate(sides.now).toFixed(2)} runs/s (${(rate(sides.now) / rate(b)).toFixed(2)}x); CPU per run ${against} ${cpu(b).toFixed(2)} s, now ${cpu(sides.now).toFixed(2)} s (${(cpu(sides.now) / cpu(b)).toFixed(2)}x); load ${load()}\n`);
}
