// Interrupts and the run's connections, in process through applyPlan against the lab: after a
// SIGINT during waitLsnStable the run stops at the step boundary and closes its SQL connections;
// an abandoning third signal during a FAILOVER in flight still closes them (and the link lock)
// before it exits, waiting only a short deadline.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLab, type Lab } from '../../lab/index.js';
import { applyPlan } from '../../engine/apply/run.js';
import { buildPlan } from '../../engine/plan/build.js';
import { loadRunbook, resolveInputsOrThrow } from '../../engine/commands/prepare.js';
import { createRunResources } from '../../engine/drivers/run-resources.js';
import { Interrupts } from '../../engine/apply/interrupt.js';
import { newRunId } from '../../engine/apply/journal/write.js';
import type { RunResources } from '../../engine/core/types.js';
import type { RunEvent } from '../../engine/apply/events.js';
import type { ConnectionPool } from 'mssql';
import { root, tempDir, waitFor } from '../helpers/cli.js';

/** The lab's real connections, with a record of when close() was called and of the pools handed out. */
function recordingResources(lab: Lab, log: string[], pools: ConnectionPool[]): RunResources {
  const real = createRunResources(lab.inventory, { env: lab.env });
  return {
    sql: async (side) => {
      const pool = await real.sql(side);
      if (!pools.includes(pool)) pools.push(pool);
      return pool;
    },
    arm: () => real.arm(),
    resolveTarget: (t) => real.resolveTarget(t),
    invalidateRoles: () => real.invalidateRoles(),
    close: async () => {
      log.push('close');
      await real.close();
      log.push('closed');
    },
  };
}

async function start(lab: Lab, sets: string[], log: string[], pools: ConnectionPool[], onEvent: (e: RunEvent, interrupts: Interrupts) => void, abandonDeadlineMs?: number) {
  const loaded = await loadRunbook(join(root, 'runbooks', 'planned-failover.yml'));
  const inputs = resolveInputsOrThrow(loaded.runbook, loaded.source, sets);
  const plan = buildPlan({ runbook: loaded.runbook, source: loaded.source, inventory: lab.inventory, inventorySource: { lab: {} }, inputs, steps: loaded.steps });
  const interrupts = new Interrupts({ say: () => undefined, exit: (code) => log.push(`exit ${code}`), ...(abandonDeadlineMs !== undefined ? { abandonDeadlineMs } : {}) });
  const resources = recordingResources(lab, log, pools);
  const runId = newRunId();
  const journalDir = tempDir('runbook-int-conn-');
  const result = applyPlan({
    plan: { ...plan, runId }, runbook: loaded.runbook, inventory: lab.inventory, steps: loaded.steps, inputs, runId, yes: true, env: lab.env,
    resources, reporter: { emit: (e) => onEvent(e, interrupts) }, signal: interrupts.signal, interrupts, journalDir,
    lock: { holder: { runId, user: 'tester', host: 'test', since: new Date().toISOString() } }, interruptGraceMs: 2000,
  });
  return { result, interrupts, journal: () => readFileSync(join(journalDir, `${runId}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('SIGINT during waitLsnStable: exit 130 and the run closed its SQL connections', async () => {
  const lab = await startLab({});
  try {
    const log: string[] = [];
    const pools: ConnectionPool[] = [];
    const { result } = await start(lab, ['stableFor=30s', 'pollInterval=50ms', 'lsnTimeout=40s'], log, pools, (e, interrupts) => {
      if (e.event === 'step-started' && e.step === 'caught-up') setTimeout(() => interrupts.press('SIGINT'), 200);
    });
    const { exitCode, summary } = await result;
    assert.is(exitCode, 130);
    assert.match(summary.stoppedAt ?? '', /during step caught-up/);
    assert.equal(log, ['close', 'closed'], 'closed once, and no process exit was asked for');
    assert.ok(pools.length > 0 && pools.every((p) => !p.connected), 'every pool the run opened is closed');
  } finally {
    await lab.stop();
  }
});

test('an abandoning third SIGINT during a FAILOVER in flight closes the connections before it exits', async () => {
  const lab = await startLab({ overrides: { faults: [{ kind: 'slow', match: 'FAILOVER', delayMs: 4000, count: 1 }] } });
  try {
    const log: string[] = [];
    const { result, journal } = await start(lab, ['stoppedFor=200ms', 'stableFor=300ms', 'pollInterval=50ms', 'lsnTimeout=10s'], log, [], (e, interrupts) => {
      if (e.event === 'step-started' && e.step === 'failover') {
        setTimeout(() => ['SIGINT', 'SIGINT', 'SIGINT'].forEach((s) => interrupts.press(s)), 300);
      }
    }, 3000);
    await waitFor(() => log.includes('exit 130'), 15_000);
    const exitAt = log.indexOf('exit 130');
    assert.ok(log.indexOf('close') >= 0 && log.indexOf('close') < exitAt, `close() before the exit: ${log.join(', ')}`);
    assert.ok(log.indexOf('closed') < exitAt, `the exit waited for the close to finish: ${log.join(', ')}`);
    const records = journal();
    assert.ok(records.some((r) => r.kind === 'interrupted' && r.abandonedDuring === 'failover'), 'the journal says the run was abandoned during the failover');
    assert.ok(records.some((r) => r.kind === 'step-failed' && r.step === 'failover' && r.outcome === 'unknown'), "the journal marks the failover's outcome unknown");
    await result.catch(() => undefined);
  } finally {
    await lab.stop();
  }
});

test('the abandoning exit waits only its deadline for a close that does not finish', async () => {
  const log: string[] = [];
  const interrupts = new Interrupts({ say: () => undefined, exit: (code) => log.push(`exit ${code}`), abandonDeadlineMs: 100 });
  interrupts.onAbandon(() => new Promise(() => undefined));
  const started = Date.now();
  interrupts.press('SIGINT');
  interrupts.press('SIGINT');
  await waitFor(() => log.length > 0, 5000);
  assert.equal(log, ['exit 130']);
  assert.ok(Date.now() - started < 2000);
});

test.run();
