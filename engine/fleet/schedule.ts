// How a wave starts its links: the canary first (K links run to their end; any failure stops the
// wave there), then the rest, at most `parallel` at a time; after `maxFailures` failures no new
// link starts (running ones finish), nor after an interrupt. Each link is a whole run the caller
// makes (runLink); this decides only when, and reads only exit codes.
import { ExitCode } from '../core/exit-codes.js';

export interface ScheduleOptions {
  parallel: number;
  /** Links run to the end first; 0 for none. */
  canary: number;
  /** Stop starting links after this many failed; undefined for no limit. */
  maxFailures?: number;
  /** True once the wave must start nothing more (an interrupt). */
  stopped?(): boolean;
}

export type StopReason = 'canary' | 'max-failures' | 'interrupted';

export interface ScheduleResult {
  /** Exit code of every link that ran, by name. */
  exitCodes: Map<string, number>;
  /** Links the wave did not start, in order. */
  notStarted: string[];
  stoppedBy?: StopReason;
}

export async function scheduleWave<L extends { name: string }>(links: readonly L[], o: ScheduleOptions, runLink: (link: L) => Promise<number>): Promise<ScheduleResult> {
  const exitCodes = new Map<string, number>();
  let failures = 0;
  let stoppedBy: StopReason | undefined;
  const canary = links.slice(0, Math.max(0, o.canary));
  const rest = links.slice(canary.length);

  const runAll = async (queue: readonly L[], width: number): Promise<void> => {
    const waiting = [...queue];
    const worker = async () => {
      for (;;) {
        if (o.stopped?.()) stoppedBy ??= 'interrupted';
        if (o.maxFailures !== undefined && failures >= o.maxFailures) stoppedBy ??= 'max-failures';
        if (stoppedBy !== undefined) return;
        const link = waiting.shift();
        if (!link) return;
        const code = await runLink(link);
        exitCodes.set(link.name, code);
        if (code !== ExitCode.done) failures++;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(width, queue.length)) }, worker));
  };

  await runAll(canary, Math.min(o.parallel, canary.length));
  if (stoppedBy === undefined && canary.some((l) => exitCodes.get(l.name) !== ExitCode.done)) stoppedBy = 'canary';
  if (stoppedBy === undefined) await runAll(rest, o.parallel);
  return { exitCodes, notStarted: links.filter((l) => !exitCodes.has(l.name)).map((l) => l.name), ...(stoppedBy ? { stoppedBy } : {}) };
}

/**
 * The wave's exit code is its worst link's. Worst first: outcome unknown (5), failed after a
 * change (4), interrupted (130), refused (3), failed before any change (1), invalid input (2),
 * done (0): what needs a look on a server outranks what changed nothing.
 */
const SEVERITY = [ExitCode.outcomeUnknown, ExitCode.failedAfterChange, ExitCode.interrupted, ExitCode.refused, ExitCode.failedBeforeChange, ExitCode.invalidInput, ExitCode.done] as number[];

export function worstExitCode(codes: Iterable<number>): number {
  let worst: number = ExitCode.done;
  const rank = (c: number) => (SEVERITY.includes(c) ? SEVERITY.indexOf(c) : 0);
  for (const c of codes) if (rank(c) < rank(worst)) worst = c;
  return worst;
}
