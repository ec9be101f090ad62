// How much CPU the machine left idle lately: the runner starts a file beyond one per core only
// into idle CPU. The 1-minute load average it used before lags a minute behind: a run widened on
// the quiet start and then overloaded the cores, or stayed narrow long after the heavy files ended.
// Linux's /proc/stat (proc(5)): the first line sums every CPU's time in USER_HZ ticks since boot;
// its 4th and 5th numbers are idle and iowait (a CPU waiting for a disk could run a file).
import { readFileSync } from 'node:fs';

export interface CpuTimes {
  idle: number;
  total: number;
}

/** The machine's summed CPU times from /proc/stat's text; undefined when it cannot be read. */
export function cpuTimes(statText: string): CpuTimes | undefined {
  const first = statText.split('\n', 1)[0] ?? '';
  if (!/^cpu\s/.test(first)) return undefined;
  const ticks = first.trim().split(/\s+/).slice(1).map(Number);
  if (ticks.length < 5 || ticks.some((n) => !Number.isFinite(n))) return undefined;
  return { idle: ticks[3]! + ticks[4]!, total: ticks.reduce((a, b) => a + b, 0) };
}

/** Cores idle between two readings (0 to cores); undefined when no time passed. */
export function idleCores(before: CpuTimes, after: CpuTimes, cores: number): number | undefined {
  const total = after.total - before.total;
  if (total <= 0) return undefined;
  return (cores * (after.idle - before.idle)) / total;
}

/** Reads /proc/stat each time it is asked and says how many cores were idle since the last time. */
export class SpareCpu {
  private last: CpuTimes | undefined;

  constructor(
    private readonly cores: number,
    private readonly read: () => string | undefined = () => {
      try {
        return readFileSync('/proc/stat', 'utf8');
      } catch {
        return undefined;
      }
    },
  ) {
    this.last = this.now();
  }

  /** Cores idle since the last call; undefined where /proc/stat is not there (the runner then falls back to the load average). */
  idleSinceLast(): number | undefined {
    const now = this.now();
    const idle = this.last && now ? idleCores(this.last, now, this.cores) : undefined;
    if (now) this.last = now;
    return idle;
  }

  private now(): CpuTimes | undefined {
    const text = this.read();
    return text === undefined ? undefined : cpuTimes(text);
  }
}
