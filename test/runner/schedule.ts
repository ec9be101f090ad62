// The order and the number of test files run at once. A full run is as long as its slowest lane:
// run in alphabetical order, the heaviest files (test/safety/, two minutes each under load) came
// last and ran side by side while the other lane had nothing left. Longest first (by the timings
// of an earlier run, test/runner/timings.json) lets the short files fill the gaps at the end.
import { availableParallelism } from 'node:os';

export const cpuCores = (): number => availableParallelism();

export interface FileTiming {
  wallMs: number;
  cpuMs?: number;
}

/**
 * A file with no recorded timing (a new one) is taken to be this long: early enough that a new
 * slow file does not start last and stretch the run, while the known long ones still lead.
 */
export const UNKNOWN_FILE_MS = 30_000;

/**
 * A file that computes more than this (its own CPU and its children's, in test/runner/timings.json)
 * counts as heavy: a kill-and-resume matrix, a drill, a file of many CLI runs. At most one heavy
 * file per core runs at once: four of them side by side on 2 busy cores (the first longest-first
 * order) each ran past the 180 s file timeout.
 */
export const HEAVY_CPU_MS = 20_000;

const isHeavy = (file: string, timings: Record<string, FileTiming>) => (timings[file]?.cpuMs ?? 0) >= HEAVY_CPU_MS;

/**
 * The file to start next from `queue` (in order), given the files running: the first one that may
 * start (a heavy one only while fewer than `heavySlots` heavy ones run); undefined when none may.
 */
export function nextFile(queue: string[], running: Iterable<string>, timings: Record<string, FileTiming>, heavySlots: number): string | undefined {
  let heavyRunning = 0;
  for (const f of running) if (isHeavy(f, timings)) heavyRunning++;
  return queue.find((f) => heavyRunning < heavySlots || !isHeavy(f, timings));
}

/**
 * Whether another file may start with `running` files running: always up to one per core (what
 * the runner did before); beyond that, up to `max`, only while the machine has CPU to spare (the
 * 1-minute load average under the number of cores). Waiting files add nothing to the load, so on
 * a machine of its own the run widens while its files wait; on one that others keep busy (six
 * helpers on 2 cores: load 20 and more) it stays at one per core: four at once there ran most
 * heavy files past the 180 s file timeout.
 */
export function mayStartAnother(running: number, max: number, cores: number, load1m: number): boolean {
  if (running >= max) return false;
  return running < cores || load1m < cores;
}

/** `files` (paths under dist/test/), longest expected first; ties keep their given order. */
export function longestFirst(files: string[], timings: Record<string, FileTiming>): string[] {
  const expected = (f: string) => timings[f]?.wallMs ?? UNKNOWN_FILE_MS;
  return files.map((f, i) => ({ f, i, ms: expected(f) })).sort((a, b) => b.ms - a.ms || a.i - b.i).map((x) => x.f);
}

/**
 * The most files run at once: two per core (mayStartAnother decides whether the second of each runs). Most of a file's wall time is waiting (a runbook's windows and
 * polls, a lab's held statement, a child process starting): two at a time, CI's full run took
 * 660 s on 2 cores, 1320 core-seconds, for about 730 s of CPU (test/runner/timings.json, files
 * and their children summed), so the cores were idle about half the time. Capped so that a large
 * machine does not start dozens of labs. TEST_CONCURRENCY wins.
 */
export function defaultConcurrency(env: NodeJS.ProcessEnv = process.env, cores = cpuCores()): number {
  const given = Number(env.TEST_CONCURRENCY);
  if (Number.isInteger(given) && given > 0) return given;
  return Math.min(8, Math.max(2, 2 * cores));
}
