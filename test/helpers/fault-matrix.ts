// Shared by the fault-matrix tests: the invariants every run must keep, read from the lab itself
// (statement log, ledger, roles), and a CLI child process that can be killed at a step boundary.
// The statement tests, the journal reading and the kill-then-resume driver are the drill's
// (engine/drill/), so that `runbook drill` and these tests judge and kill the same way.
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, type CliResult } from './cli.js';
import yaml from 'js-yaml';
import type { TestLab } from './lab-run.js';
import { isFailover } from '../../engine/drill/judge.js';
import { stopThenResume, type ChildResult, type StartRun } from '../../engine/drill/child.js';
import { WorkerPool } from '../../engine/drill/workers.js';

export { FAILOVER_STATEMENT, isFailover } from '../../engine/drill/judge.js';
export { journalRecords } from '../../engine/drill/child.js';

/** Planned-failover invariants: nothing lost, FAILOVER at most once, never two primaries. */
export function assertPlannedInvariants(t: TestLab, context: string): void {
  const failovers = t.lab.statements().filter((s) => isFailover(s.statement));
  assert.ok(failovers.length <= 1, `${context}: FAILOVER issued ${failovers.length} times`);
  assert.is(t.lab.ledger().lost, 0, `${context}: a committed transaction was lost`);
  const roles = t.roles();
  assert.not.ok(roles.sqlServer === 'PRIMARY' && roles.managedInstance === 'PRIMARY', `${context}: two primaries`);
}

/** The summary's claim (exit code, "Nothing was changed", the failover step's line) matches the lab. */
export function assertTrueSummary(t: TestLab, out: string, code: number, context: string): void {
  const roles = t.roles();
  const swapped = roles.sqlServer === 'SECONDARY' && roles.managedInstance === 'PRIMARY';
  const failedOver = t.lab.statements().some((s) => isFailover(s.statement) && s.errorNumber === null);
  assert.is(swapped, failedOver, `${context}: roles and the statement log disagree`);
  if (code === 0) assert.ok(swapped, `${context}: exit 0 but the roles did not swap`);
  if (/Nothing was changed\./.test(out)) {
    assert.not.ok(t.lab.statements().some((s) => /^\s*ALTER\s/i.test(s.statement) && s.errorNumber === null), `${context}: says nothing changed, but an ALTER succeeded`);
  }
  if (/\bok\s+\d+\.\s+failover\b/.test(out)) assert.ok(swapped, `${context}: says failover ok, but the roles did not swap`);
  if (failedOver && code !== 0) {
    assert.ok(/Changed: .*failover|UNKNOWN\s+\d+\.\s+failover|outcome unknown/.test(out), `${context}: the failover happened but the summary does not say so:\n${out}`);
  }
  if (code === 1) assert.match(out, /Nothing was changed\./, `${context}: exit 1 claims no change`);
}

export function runIdIn(dir: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  return readdirSync(dir).find((n) => n.endsWith('.jsonl'))?.replace(/\.jsonl$/, '');
}

/** waitFor, polled more often and for longer: the fault matrix catches a run between two steps. */
export const until = (check: () => boolean, timeoutMs = 15_000, everyMs = 5): Promise<void> => waitFor(check, timeoutMs, everyMs);

/** The step ids of a runbook file, in order (read at test time: the runbook may grow steps). */
export function stepIdsOf(file: string): string[] {
  const doc = yaml.load(readFileSync(file, 'utf8')) as { steps: Array<{ id: string }> };
  return doc.steps.map((s) => s.id);
}

/**
 * Runs planned-failover in a child process, SIGKILLs it as soon as the journal shows the
 * `boundary`-th step reached (started, so it may or may not have acted, or skipped), then
 * `apply --resume <run-id>` and returns both. On a warm worker the run is held at the boundary
 * for the kill (engine/cli/worker-hold.ts); a plain child is killed where the journal poll sees it.
 * `afterEnd`: the kill landed once the run had journaled its end.
 */
export async function killAtStepThenResume(t: TestLab, boundary: number, sets: string[], start?: StartRun): Promise<{ killed: boolean; afterEnd: boolean; first: CliResult; resumed?: CliResult }> {
  const journalDir = join(t.dir, `journal-kill-${boundary}`);
  mkdirSync(journalDir, { recursive: true });
  const env = { ...matrixBaseEnv(), ...t.lab.env, RUNBOOK_JOURNAL_DIR: journalDir };
  const args = ['apply', plannedRunbook, '-i', t.inventoryFile, '--yes', ...sets.flatMap((s) => ['--set', s])];
  const r = await stopThenResume(args, ['--yes'], { env, cwd: t.dir, journalDir, deadlineMs: 40_000, boundary, ...(start ? { start } : {}) });
  if (r.stopped) assert.ok(r.runId, 'the killed run left a journal');
  return { killed: r.stopped, afterEnd: r.afterEnd, first: cliResult(r.first), ...(r.resumed ? { resumed: cliResult(r.resumed) } : {}) };
}

/** What every matrix run's environment holds besides the lab's passwords and its journal folder. */
function matrixBaseEnv(): Record<string, string> {
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return { ...env, NO_COLOR: '1', CI: '' };
}

/**
 * Warm `runbook` workers for a file of matrix tests (engine/drill/workers.ts, as the drill runs
 * them): the next run's process is started and loaded while this one runs; a run to be killed at
 * a boundary is held there (stopThenResume). The killed run always gets a process that has run
 * nothing (stopThenResume asks for a fresh one, as a real crash's process would be); the resume
 * may take a worker whose last run ended cleanly, as `runbook drill` gives a shipped runbook's
 * runs (each with a clean registry, environment and folder, engine/cli/worker.ts): a worker's
 * start and driver load is ~0.7 s of CPU, a third of a case. Two kept warm: the next case's
 * fresh one and the resume's. Ends with the file (`test.after`).
 */
export function matrixWorkers(): WorkerPool {
  return new WorkerPool({ baseEnv: matrixBaseEnv(), warm: 2, maxIdle: 2, reuse: true });
}

const cliResult = (r: ChildResult): CliResult => ({ code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr });

let plannedRunbook = '';
export function usePlannedRunbook(file: string): void {
  plannedRunbook = file;
}
