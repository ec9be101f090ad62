// A stand-in for the `runbook apply` process the drill starts (engine/drill/child.ts StartRun), for
// tests of the drill's own logic: it journals what the test says at once, and ends when signalled.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildResult, ChildRun, StartRun } from '../../engine/drill/child.js';

/**
 * A stand-in for `runbook apply`: each start journals `records` (after its run-started, which names
 * its pid) at once into the run's RUNBOOK_JOURNAL_DIR, then ends when signalled, with that signal,
 * or at once with `exitsWith` when given; a resume ends at once with exit 0. With `interruptExits`,
 * a SIGINT or SIGTERM ends it with that exit code instead, as the engine's interrupt does. `stderr`
 * is what it wrote. Every start's arguments are added to `starts`.
 */
export function standIn(records: Array<Record<string, unknown>>, starts: string[][], o: { exitsWith?: number; interruptExits?: number; stderr?: string } = {}): StartRun {
  let pid = 4000;
  return (args, opts) => {
    starts.push(args);
    const journalDir = String(opts.env.RUNBOOK_JOURNAL_DIR);
    const own = ++pid;
    const id = `20261207T000000Z-${own}`;
    mkdirSync(journalDir, { recursive: true });
    for (const r of [{ kind: 'run-started', runId: id, pid: own }, ...records]) appendFileSync(join(journalDir, `${id}.jsonl`), `${JSON.stringify(r)}\n`);
    let end: (r: ChildResult) => void = () => undefined;
    const done = new Promise<ChildResult>((resolve) => (end = resolve));
    const result = (signal: NodeJS.Signals | null, code: number | null): ChildResult => ({ code, signal, stdout: '', stderr: o.stderr ?? '', startedAt: 0, endedAt: 0, timedOut: false, pid: own });
    // A resume is not signalled: it ends at once.
    if (args[1] === '--resume') end(result(null, 0));
    else if (o.exitsWith !== undefined) end(result(null, o.exitsWith));
    const interrupted = (signal: NodeJS.Signals) => o.interruptExits !== undefined && (signal === 'SIGINT' || signal === 'SIGTERM');
    const run: ChildRun = { pid: own, kill: (signal) => end(interrupted(signal) ? result(null, o.interruptExits!) : result(signal, null)), done, stderrSoFar: () => o.stderr ?? '' };
    return run;
  };
}

