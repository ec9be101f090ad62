// Fleet benchmark (issue 13, "Performance"): a wave of planned failovers on the lab's fleet, the
// engine in a child process (as `runbook` runs) and the lab in this one. Prints, never asserts:
//  - the wave's wall time with --parallel N against one link's, same stability window (budget 1.5x);
//  - the engine's peak RSS (budget 300 MB);
//  - logins per server (budget 4): the most sessions a server had open at once (what its
//    connection and worker limits see), and the logins over the whole wave (each one a TLS
//    handshake and an authentication: a session replaced after it was lost counts too);
//  - how wall time grows for 1, 10, 50, 100 links (BENCH_FLEET_SIZES=1,10 for a quick look).
// The lab answers every link's DMVs on one server, so part of what grows with the fleet is the
// lab's own work (its tables hold every link); the load average is printed beside the numbers.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { startLab } from '../lab/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The engine run; BENCH_ENGINE_BIN names another checkout's (dist/engine/cli/bin.js) to compare two versions on this lab. */
const bin = process.env.BENCH_ENGINE_BIN ?? join(root, 'dist', 'engine', 'cli', 'bin.js');
const runbook = join(root, 'runbooks', 'planned-failover.yml');
const sizes = (process.env.BENCH_FLEET_SIZES ?? '1,10,50,100').split(',').map(Number);
const stableFor = process.env.BENCH_STABLE_FOR ?? '2s';
/** Extra node flags for the engine's process, e.g. BENCH_ENGINE_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' (where its time goes). */
const engineNodeArgs = (process.env.BENCH_ENGINE_NODE_ARGS ?? '').split(' ').filter(Boolean);
const RSS_PRELOAD = `data:text/javascript,process.on("exit",()=>{const u=process.resourceUsage();process.stderr.write("bench-maxrss-kb "+u.maxRSS+" cpu-us "+(u.userCPUTime+u.systemCPUTime)+"\\n")})`;

interface WaveRun {
  links: number;
  ms: number;
  exitCode: number | null;
  rssMb: number;
  logins: Record<string, number>;
  peak: Record<string, number>;
  /** CPU seconds (user + system) of the engine's process and of the lab (this process) during the wave: less at the mercy of the machine's load than wall time. */
  engineCpuS: number;
  labCpuS: number;
}

async function wave(links: number): Promise<WaveRun> {
  const lab = await startLab({ fleet: true, links });
  const dir = mkdtempSync(join(tmpdir(), 'runbook-bench-fleet-'));
  const fleetFile = join(dir, 'fleet.yml');
  writeFileSync(fleetFile, yaml.dump(lab.fleetInventory));
  try {
    const args = [...engineNodeArgs, '--import', RSS_PRELOAD, bin, 'apply', runbook, '-i', fleetFile, '--all', '--parallel', String(links), '--yes', '--format', 'json',
      '--set', `stableFor=${stableFor}`, '--set', 'pollInterval=200ms'];
    const started = Date.now();
    const labCpu = process.cpuUsage();
    const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, ...lab.env, RUNBOOK_JOURNAL_DIR: join(dir, 'journals'), NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exitCode = await new Promise<number | null>((r) => child.on('close', r));
    const ms = Date.now() - started;
    const labUsed = process.cpuUsage(labCpu);
    const rss = /bench-maxrss-kb (\d+) cpu-us (\d+)/.exec(stderr);
    if (exitCode !== 0) process.stderr.write(`wave of ${links} exited ${exitCode}: ${stderr.split('\n').slice(0, 3).join(' | ')}\n`);
    return { links, ms, exitCode, rssMb: rss ? Number(rss[1]) / 1024 : NaN, logins: lab.logins(), peak: lab.peakSessions(), engineCpuS: rss ? Number(rss[2]) / 1e6 : NaN, labCpuS: (labUsed.user + labUsed.system) / 1e6 };
  } finally {
    await lab.stop();
  }
}

const runs: WaveRun[] = [];
for (const n of sizes) {
  const r = await wave(n);
  runs.push(r);
  const perServer = Math.max(...Object.values(r.logins));
  const peak = Math.max(...Object.values(r.peak));
  console.log(`${String(n).padStart(3)} link(s): wall ${(r.ms / 1000).toFixed(1)} s, engine peak RSS ${r.rssMb.toFixed(0)} MB, CPU engine ${r.engineCpuS.toFixed(1)} s + lab ${r.labCpuS.toFixed(1)} s, sessions per server at once ${peak}, logins per server ${perServer} (${(perServer / n).toFixed(1)} per link), exit ${r.exitCode}`);
}
const one = runs.find((r) => r.links === 1);
const fifty = runs.find((r) => r.links === 50) ?? runs.at(-1)!;
if (one && fifty !== one) {
  const ratio = fifty.ms / one.ms;
  const logins = Math.max(...Object.values(fifty.logins));
  const peak = Math.max(...Object.values(fifty.peak));
  console.log(`wave of ${fifty.links} / one link: ${ratio.toFixed(2)}x (budget 1.5x) ${ratio <= 1.5 ? 'PASS' : 'OVER'}`);
  console.log(`engine peak RSS: ${fifty.rssMb.toFixed(0)} MB (budget 300 MB) ${fifty.rssMb <= 300 ? 'PASS' : 'OVER'}`);
  console.log(`sessions per server at once: ${peak} (budget 4) ${peak <= 4 ? 'PASS' : 'OVER'}; logins per server over the wave: ${logins}`);
}
console.log(`growth: ${runs.map((r) => `${r.links}: ${(r.ms / (one?.ms ?? r.ms)).toFixed(2)}x`).join(', ')}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
