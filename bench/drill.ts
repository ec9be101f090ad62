// Drill speed: `runbook drill` of planned-failover over a scenario's whole fault matrix (kills at
// every step boundary included) with `npm run drill`'s short windows, run as before round 5 (a
// fresh `runbook` process for each apply, new lab certificates for each run: `fresh`) and as now
// (warm workers, engine/drill/workers.ts, and certificates made once: `warm`),
// interleaved (fresh, warm, fresh, warm, ...) so that a neighbour's load hits both alike. Prints
// each side's runs per second and CPU seconds per run (this process and its children, and the children alone), their
// ratio, and the load average. Asserts nothing: a benchmark informs.
// Run: npm run build && node dist/bench/drill.js   (BENCH_SCENARIOS=healthy,lagging  BENCH_ROUNDS=2  BENCH_SIDES=warm)
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { drillCommand } from '../engine/commands/drill.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const scenarios = process.env.BENCH_SCENARIOS ?? 'healthy';
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
/** BENCH_SIDES=warm measures only the drill as it runs now (the fresh side takes about twice as long). */
const sidesToRun = (process.env.BENCH_SIDES ?? 'fresh,warm').split(',').filter((x): x is 'fresh' | 'warm' => x === 'fresh' || x === 'warm');
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

async function once(fresh: boolean): Promise<Measure> {
  const out = collector();
  const stdin = new PassThrough();
  stdin.end();
  const cpu0 = cpuSeconds();
  const t0 = Date.now();
  const code = await drillCommand(
    { runbook: join(root, 'runbooks', 'planned-failover.yml'), sets, scenarios, seed: '7', format: 'json', coldBaseline: fresh },
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

const sides = { fresh: [] as Measure[], warm: [] as Measure[] };
process.stdout.write(`drill of planned-failover, scenarios ${scenarios}, ${rounds} round(s) of fresh then warm; load ${load()}\n`);
for (let r = 0; r < rounds; r++) {
  for (const side of sidesToRun) {
    const m = await once(side === 'fresh');
    sides[side].push(m);
    process.stdout.write(`  ${side.padEnd(5)} ${m.runs} runs in ${m.seconds.toFixed(1)} s: ${(m.runs / m.seconds).toFixed(2)} runs/s, ${(m.cpu / m.runs).toFixed(2)} CPU s per run (workers ${(m.workers / m.runs).toFixed(2)}, drill and labs ${((m.cpu - m.workers) / m.runs).toFixed(2)}) (load ${load()})\n`);
  }
}
const rate = (ms: Measure[]) => median(ms.map((m) => m.runs / m.seconds));
const cpu = (ms: Measure[]) => median(ms.map((m) => m.cpu / m.runs));
if (sides.fresh.length && sides.warm.length) {
  process.stdout.write(`median: fresh ${rate(sides.fresh).toFixed(2)} runs/s, warm ${rate(sides.warm).toFixed(2)} runs/s (${(rate(sides.warm) / rate(sides.fresh)).toFixed(2)}x); CPU per run fresh ${cpu(sides.fresh).toFixed(2)} s, warm ${cpu(sides.warm).toFixed(2)} s; load ${load()}\n`);
}
