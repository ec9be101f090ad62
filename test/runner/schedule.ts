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
 * start (a heavy one only while fewer than `heavySlots` heavy ones run) and that `fits` (the room
 * the machine has for it, mayStartAnother); undefined when none may.
 */
export function nextFile(queue: string[], running: Iterable<string>, timings: Record<string, FileTiming>, heavySlots: number, fits: (file: string) => boolean = () => true): string | undefined {
  let heavyRunning = 0;
  for (const f of running) if (isHeavy(f, timings)) heavyRunning++;
  return queue.find((f) => (heavyRunning < heavySlots || !isHeavy(f, timings)) && fits(f));
}

/**
 * The cores a file keeps busy while it runs: its CPU over its wall time in test/runner/timings.json
 * (its children's included), at least MIN_DEMAND (a file that mostly waits still starts Node and
 * its labs); a file without a timing counts as one core.
 */
export function expectedDemand(file: string, timings: Record<string, FileTiming>): number {
  const t = timings[file];
  if (!t || t.cpuMs === undefined || t.wallMs <= 0) return 1;
  return Math.max(MIN_DEMAND, t.cpuMs / t.wallMs);
}
export const MIN_DEMAND = 0.2;

/** How long a started file's expected demand is kept for it: its start (Node, imports, a lab) does not show in the idle measure at once. */
export const RAMP_MS = 3000;

/** What the machine can give one more file now. */
export interface Room {
  /** Files running. */
  running: number;
  /** The most at once (defaultConcurrency). */
  max: number;
  cores: number;
  /**
   * Cores left idle lately (./spare-cpu.ts), less what the files started since then are expected
   * to take; undefined where that cannot be measured.
   */
  spareCores: number | undefined;
  /** The 1-minute load average: the measure where spareCores is unknown. */
  load1m: number;
}

/**
 * Whether a file expected to keep `demand` cores busy may start: always up to one per core (what
 * the runner did first); beyond that, up to `max`, only into CPU the machine leaves idle. Most
 * files mostly wait (a runbook's windows, a lab's held statement, a child starting), so on a machine
 * of its own the run widens while its files wait, and stops widening once the cores are busy; on
 * one that others keep busy (five helpers on 2 cores) it stays at one per core: four files at once
 * there ran most heavy files past the 180 s file timeout.
 */
export function mayStartAnother(room: Room, demand: number): boolean {
  if (room.running >= room.max) return false;
  if (room.running < room.cores) return true;
  if (room.spareCores === undefined) return room.load1m < room.cores;
  return room.spareCores >= demand;
}

/** `files` (paths under dist/test/), longest expected first; ties keep their given order. */
export function longestFirst(files: string[], timings: Record<string, FileTiming>): string[] {
  const expected = (f: string) => timings[f]?.wallMs ?? UNKNOWN_FILE_MS;
  return files.map((f, i) => ({ f, i, ms: expected(f) })).sort((a, b) => b.ms - a.ms || a.i - b.i).map((x) => x.f);
}

/**
 * The most files run at once: four per core, capped at eight (so that a large machine does not
 * start dozens of labs); mayStartAnother decides whether more than one per core run. Most of a
 * file's wall time is waiting: at two files per core, CI's full run took 660 s on 2 cores, 1320
 * core-seconds, for about 730 s of CPU, so the cores were idle about half the time.
 * TEST_CONCURRENCY wins (and is then kept whatever the machine's load).
 */
export function defaultConcurrency(env: NodeJS.ProcessEnv = process.env, cores = cpuCores()): number {
  const given = Number(env.TEST_CONCURRENCY);
  if (Number.isInteger(given) && given > 0) return given;
  return Math.min(8, Math.max(2, 4 * cores));
}
