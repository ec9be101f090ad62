// How many times a single run logs in to each server (engine/drivers/sql/kept-login.ts): its own
// session and its lock's, one login each. mssql's connect() checked the settings with a login of
// its own and closed it before the pool made the session, so a single run logged in 4 times.
// The shipped planned-failover with the short windows (a few seconds): the run whose figure the
// README and issue 13 give.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FAST_PLANNED, TestLab } from '../../helpers/lab-run.js';

test('a single run of planned-failover logs in twice per server: its session and its lock session (it was 4); no SELECT 1 before its requests', async () => {
  const t = await TestLab.start();
  try {
    const r = await t.apply('planned-failover', { sets: FAST_PLANNED });
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.equal(t.lab.logins(), { sql01: 2, sqlmi1: 2 });
    // Each is a session that did work: the run's statements and the lock's, never a bare login.
    assert.is(t.lab.peakSessions().sql01, 2);
    // And no request waits behind a check of its connection by query (mssql's default validation
    // sent `SELECT 1` before each: 53 of the run's 176 statements); poolConfig checks the socket.
    assert.equal(t.lab.statements().filter((s) => s.statement.trim() === 'SELECT 1').map((s) => s.side), []);
  } finally {
    await t.lab.stop();
  }
});

test.run();
