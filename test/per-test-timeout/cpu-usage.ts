// The runner (test/run.ts) reports each file's CPU time next to its wall time, to tell a file that
// waits (windows, polls) from one that computes. The file's own CPU comes from process.cpuUsage();
// its child processes' (CLI runs, labs, drill workers) from /proc/self/stat's cutime + cstime,
// which count every descendant the process has reaped (Linux, proc(5)). Where /proc is not there,
// only the file's own CPU is reported.
import { readFileSync, writeSync } from 'node:fs';

/** The line the runner reads and removes from a file's output. */
export const CPU_LINE = /^\[run\] cpu (\d+) ms \(own (\d+) ms\)\n?/m;

/** User + system ticks of the reaped children (fields 16 and 17 of /proc/self/stat), in ms. */
function childrenCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // The command name (field 2) may hold spaces or parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[13]) + Number(fields[14]);
    // USER_HZ is 100 on every Linux the project runs on (getconf CLK_TCK).
    return Number.isFinite(ticks) ? ticks * 10 : 0;
  } catch {
    return 0;
  }
}

export function reportCpuAtExit(): void {
  process.on('exit', () => {
    const own = process.cpuUsage();
    const ownMs = Math.round((own.user + own.system) / 1000);
    writeSync(2, `\n[run] cpu ${ownMs + childrenCpuMs()} ms (own ${ownMs} ms)\n`);
  });
}
