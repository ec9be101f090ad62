// A resume accepts the link as its journal left it (lock.observe()) and then restores the steps that
// finished, which call no ensure(). The lock's "before any step ran" rule (take the link as read now,
// compare nothing) used to apply until the first step it ran: a loss while restoring took whatever
// someone had done meanwhile as the run's own starting point. Once observed, a loss is judged as
// after a step: the link is compared with what the run accepted (engine/drivers/sql/lock.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startLab } from '../../lab/index.js';
import { acquireLinkLock, LockLost, type LockLossEvent } from '../../engine/drivers/sql/lock.js';
import { judgeRetakeBeforeSteps } from '../../engine/drivers/sql/lock-lost.js';
import { connect, poll, run } from '../helpers/lab.js';

const holder = { runId: 'resume-test', user: 'u', host: 'h', since: '2026-01-01T00:00:00Z' };

test('after a resume accepted the link, a lost lock taken back over a changed link stops the run (exit 5), however the steps were reached', async () => {
  const lab = await startLab({ reuseSessionIds: true });
  const dba = await connect(lab, 'sqlServer', { appName: 'dba-console' });
  const losses: LockLossEvent[] = [];
  const inventory = lab.inventories[0]!;
  const lock = await acquireLinkLock(inventory, { env: lab.env, holder, resuming: true, retryMs: 100, onLoss: (e) => losses.push(e) });
  try {
    await lock.observe();
    const mine = lab.model.applocks.rows().find((r) => r.replica === 'sql01' && r.holder.programName.startsWith('runbook '));
    assert.ok(mine, 'the run holds the lock');
    // Someone changes the link and ends the run's lock session, as the resume restores its finished steps.
    await run(dba, `ALTER AVAILABILITY GROUP [dag1] MODIFY AVAILABILITY GROUP ON N'${inventory.link.sqlServer.agName}' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);\nKILL ${mine!.holder.sessionId};`);
    await poll(() => (losses.length > 0 ? true : undefined), 10_000);
    // Old code: "before any step ran; it was taken again at once, and the run starts from the link as read now".
    assert.match(losses[0]!.message, /it was taken again at once, but the link had changed: .*SYNCHRONOUS_COMMIT/);
    try {
      await lock.ensure();
      assert.unreachable('the first step after the restored ones must not start');
    } catch (error) {
      assert.instance(error, LockLost);
    }
  } finally {
    await lock.release().catch(() => undefined);
    await dba.close().catch(() => undefined);
    await lab.stop();
  }
});

test('a loss while a resume takes its lock is worded for a resume: none of its steps ran yet, and it compares the link with its journal next', () => {
  const retaken = {
    linkName: 'dag1', resource: 'runbook:link:dag1', side: 'sqlServer' as const,
    loss: { how: "the link lock's session on sqlServer ended" } as never,
    known: {}, now: { sqlServer: { readable: true, role: 'PRIMARY' } } as never,
  };
  const fresh = judgeRetakeBeforeSteps(retaken);
  assert.match(fresh.message, /while the lock was being taken, before any step ran; it was taken again at once \(lock runbook:link:dag1\), and the run starts from the link as read now/);
  const resumed = judgeRetakeBeforeSteps(retaken, true);
  assert.match(resumed.message, /while the lock was being taken, before this resume ran or restored any step; it was taken again at once \(lock runbook:link:dag1\), and the resume compares the link as read now with its journal before anything else/);
});

test.run();
