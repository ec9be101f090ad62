// Shared by the fault-matrix tests: the invariants every run must keep, read from the lab itself
// (statement log, ledger, roles), and a CLI child process that can be killed at a step boundary.
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCli, waitFor, type CliResult } from './cli.js';
import yaml from 'js-yaml';
import type { TestLab } from './lab-run.js';

/** A planned FAILOVER statement, alone (the text of a statement as the lab logs it). */
export const FAILOVER_STATEMENT = /^\s*ALTER\s+AVAILABILITY\s+GROUP\s+\S+\s+FAILOVER\s*;?\s*$/i;
export const isFailover = (s: string) => FAILOVER_STATEMENT.test(s);

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

export function journalRecords(dir: string): Array<Record<string, unknown>> {
  if (!existsSync(dir)) return [];
  const out: Array<Record<string, unknown>> = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.jsonl'))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      try {
        if (line.trim()) out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a torn line
      }
    }
  }
  return out;
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

/** How many distinct steps the journal shows reached (started or skipped). */
function stepsReached(dir: string): number {
  const seen = new Set<string>();
  for (const r of journalRecords(dir)) if (r.kind === 'step-started' || r.kind === 'step-skipped') seen.add(String(r.step));
  return seen.size;
}

/**
 * Runs planned-failover in a child process, SIGKILLs it as soon as the journal shows the
 * `boundary`-th step reached (started, so it may or may not have acted, or skipped), then
 * `apply --resume <run-id>` and returns both.
 */
export async function killAtStepThenResume(t: TestLab, boundary: number, sets: string[]): Promise<{ killed: boolean; first: CliResult; resumed?: CliResult }> {
  const journalDir = join(t.dir, `journal-kill-${boundary}`);
  mkdirSync(journalDir, { recursive: true });
  const env = { ...t.lab.env, RUNBOOK_JOURNAL_DIR: journalDir };
  const args = ['apply', plannedRunbook, '-i', t.inventoryFile, '--yes', ...sets.flatMap((s) => ['--set', s])];
  const first = startCli(args, { env, cwd: t.dir });
  let finished = false;
  void first.done.then(() => (finished = true));
  await until(() => finished || stepsReached(journalDir) >= boundary, 20_000, 2);
  const killed = !finished;
  if (killed) first.child.kill('SIGKILL');
  const firstResult = await first.done;
  if (!killed || firstResult.code !== null) return { killed: false, first: firstResult };
  const runId = runIdIn(journalDir);
  assert.ok(runId, 'the killed run left a journal');
  const resumed = await startCli(['apply', '--resume', runId!, '--yes'], { env, cwd: t.dir }).done;
  return { killed: true, first: firstResult, resumed };
}

let plannedRunbook = '';
export function usePlannedRunbook(file: string): void {
  plannedRunbook = file;
}
