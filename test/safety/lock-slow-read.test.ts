// A replica that does not answer the lock's first read of the link used to leave the operator ~30 s
// of silence (the request timeout) before the run went on (attack r4apply A6). The lock now says
// what it waits for once the read has had no answer for a moment (engine/drivers/sql/lock.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startLab } from '../../lab/index.js';
import { acquireLinkLock } from '../../engine/drivers/sql/lock.js';
import { poll } from '../helpers/lab.js';

test('the first read of the link on the lock session has no answer: the lock says what it waits for, once, and goes on when the answer comes', async () => {
  const lab = await startLab();
  const hold = lab.hold({ match: /role_desc AS link_role/, side: 'sqlServer' });
  const said: string[] = [];
  try {
    const taking = acquireLinkLock(lab.inventories[0]!, {
      env: lab.env, holder: { runId: 'slow-read', user: 'u', host: 'h', since: '2026-01-01T00:00:00Z' },
      waitNoticeMs: 100, waiting: (line) => said.push(line),
    });
    taking.catch(() => undefined);
    await hold.reached;
    // Old code: nothing is said until the request times out.
    await poll(() => (said.length > 0 ? true : undefined), 5000);
    assert.equal(said, ["waiting for sqlServer to answer the read of link dag1 on the lock's session (no answer for 100ms; the request is given up after 30s, the connection's requestTimeoutMs)"]);
    hold.release();
    const lock = await taking;
    assert.is(said.length, 1, 'said once');
    assert.equal(lock.held.sort(), ['managedInstance', 'sqlServer']);
    await lock.release();
  } finally {
    hold.release();
    await lab.stop();
  }
});

test.run();
