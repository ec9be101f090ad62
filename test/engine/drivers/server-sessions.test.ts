// A wave's step sessions per server (engine/drivers/sql/server-sessions.ts), on the lab with the
// real mssql client. What each link having its own session guaranteed must still hold when the
// links borrow a few shared sessions: a script's batches share one session; nothing one borrower
// set reaches the next; idle sessions sit in master; a session lost is replaced (and counted); a
// statement with no answer holds its one session only; and the server never sees more than the bound.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConnectionPool } from 'mssql';
import { startLab, type Lab } from '../../../lab/index.js';
import { inOneSession, serverSessions, type ServerSessions } from '../../../engine/drivers/sql/server-sessions.js';
import { createRunResources } from '../../../engine/drivers/run-resources.js';
import { runSql } from '../../../engine/drivers/sql/pool.js';
import { isConnectionLoss } from '../../../engine/drivers/sql/connect-failure.js';
import type { Inventory } from '../../../engine/core/types.js';
import { connect, poll, run } from '../../helpers/lab.js';

let lab: Lab;
test.before(async () => {
  lab = await startLab({ fleet: true, links: 2 });
});
test.after(async () => {
  await lab?.stop();
});

/** The fleet's first link, with its requests bounded at `requestTimeoutMs` when given. */
function inventory(requestTimeoutMs?: number): Inventory {
  const copy = structuredClone(lab.inventories[0]!) as Inventory;
  if (requestTimeoutMs !== undefined) copy.link.sqlServer.connection.requestTimeoutMs = requestTimeoutMs;
  return copy;
}

async function borrower(sessions: ServerSessions, inv: Inventory = inventory()): Promise<ConnectionPool> {
  return sessions.borrower('sqlServer', inv.link.sqlServer.connection, lab.env);
}

async function one(pool: ConnectionPool, text: string): Promise<Record<string, unknown>> {
  return ((await runSql(pool, text)).recordset ?? [])[0] as Record<string, unknown>;
}

/** Where each of the server's sessions opened by `program` is now (the lab's own view). */
function databases(program: string): string[] {
  const sessions = [...lab.model.sessionsOf(0, 'sqlServer').values()].filter((s) => s.programName === program);
  return sessions.map((s) => s.database);
}

const delta = (before: Record<string, number>, server = 'sql01') => (lab.logins()[server] ?? 0) - (before[server] ?? 0);

test("a script's batches share one session (USE carries); the next borrower starts in master, as after a login; idle sessions sit in master", async () => {
  const sessions = serverSessions(2);
  try {
    const database = lab.inventories[0]!.link.database;
    const script = await borrower(sessions);
    const seen = await inOneSession(script, async () => {
      await runSql(script, `USE [${database}];`);
      const first = await one(script, 'SELECT DB_NAME() AS db, @@SPID AS spid;');
      const second = await one(script, 'SELECT DB_NAME() AS db, @@SPID AS spid;');
      return [first, second];
    });
    assert.equal(seen.map((r) => r.db), [database, database], 'USE held from one batch to the next');
    assert.is(seen[0]!.spid, seen[1]!.spid);
    const next = await borrower(sessions);
    const after = await one(next, 'SELECT DB_NAME() AS db, @@SPID AS spid;');
    assert.is(after.db, 'master', `nothing leaked from the script's session (spid ${String(seen[0]!.spid)}) to the next borrower (spid ${String(after.spid)})`);
    assert.ok(databases('runbook').every((db) => db === 'master'), `idle sessions in master: ${databases('runbook').join(', ')}`);
  } finally {
    await sessions.close();
  }
});

test('a session that ran only a plain SELECT goes back as it is; one that ran anything else (USE, SET) is reset first', async () => {
  const sessions = serverSessions(1);
  const resets = () => lab.statements().filter((s) => /^set ansi_nulls on$/i.test(s.statement)).length;
  try {
    const database = lab.inventories[0]!.link.database;
    const pool = await borrower(sessions);
    await one(pool, 'SELECT 1 AS warm;');
    const before = resets();
    for (let i = 0; i < 5; i++) await one(pool, `SELECT ${i} AS n, DB_NAME() AS db;`);
    assert.is(resets(), before, 'no reset after plain reads');
    await runSql(pool, `USE [${database}];`);
    assert.is((await one(await borrower(sessions), 'SELECT DB_NAME() AS db;')).db, 'master', 'the USE did not reach the next query');
    await runSql(pool, 'SET NOCOUNT ON;');
    await one(pool, 'SELECT 1 AS x;');
    assert.is(resets(), before + 2, 'a reset (tedious\'s SET batch after the RESETCONNECTION) after the USE and after the SET, none after the reads');
  } finally {
    await sessions.close();
  }
});

test('twelve runs querying at once on one server: never more than the bound of sessions there, each query answered', async () => {
  const before = lab.logins();
  const sessions = serverSessions(3);
  const pins = Array.from({ length: 3 }, () => lab.hold({ match: /pinned-query/, side: 'sqlServer' }));
  try {
    const runs = await Promise.all(Array.from({ length: 12 }, () => borrower(sessions)));
    const answers = Promise.all(runs.map((pool, i) => one(pool, `SELECT ${i} AS n /* pinned-query */;`)));
    await Promise.all(pins.map((p) => p.reached));
    // Three queries are pinned on the server: the other nine wait for a session, none opens a fourth.
    assert.is(lab.model.openSessions.get('sql01'), 3, 'three sessions, every one busy');
    for (const p of pins) p.release();
    assert.equal((await answers).map((r) => r.n), Array.from({ length: 12 }, (_, i) => i));
    // One login per session: the login mssql's connect() checks the settings with is kept as the
    // first session (engine/drivers/sql/kept-login.ts), not closed and opened again (it was 3 + 1).
    assert.is(delta(before), 3);
  } finally {
    for (const p of pins) p.release();
    await sessions.close();
  }
});

test('a statement with no answer holds its one session, for its request timeout; the other sessions keep serving meanwhile', async () => {
  const sessions = serverSessions(2);
  const pin = lab.hold({ match: /never-answered/, side: 'sqlServer' });
  try {
    const bounded = inventory(400);
    const hung = runSql(await borrower(sessions, bounded), 'SELECT 1 AS x /* never-answered */;').then(() => undefined, (error: Error) => error);
    await pin.reached;
    const started = Date.now();
    const other = await borrower(sessions, bounded);
    for (let i = 0; i < 5; i++) assert.is((await one(other, `SELECT ${i} AS n;`)).n, i);
    const error = await hung;
    assert.ok(error, 'the hung statement failed');
    assert.match(String((error as { code?: string }).code), /ETIMEOUT/);
    assert.ok(Date.now() - started < 5000, 'within its request timeout, not forever');
    // Its session was cancelled, reset and handed back: both sessions serve again.
    const again = await Promise.all([0, 1, 2, 3].map(async (i) => one(await borrower(sessions, bounded), `SELECT ${i} AS n;`)));
    assert.equal(again.map((r) => r.n), [0, 1, 2, 3]);
  } finally {
    pin.release();
    await sessions.close();
  }
});

test('a script waiting for a session gives up when its signal aborts; the session it would have had is not lost', async () => {
  const sessions = serverSessions(1);
  const pin = lab.hold({ match: /keeps-the-only-session/, side: 'sqlServer' });
  try {
    const busy = runSql(await borrower(sessions), 'SELECT 1 AS x /* keeps-the-only-session */;');
    await pin.reached;
    const stop = new AbortController();
    const waiting = inOneSession(await borrower(sessions), async () => 'ran', stop.signal).then((v) => v, (error: unknown) => error);
    stop.abort(new Error('step timed out'));
    assert.match(String(await waiting), /step timed out/);
    pin.release();
    await busy;
    assert.is((await one(await borrower(sessions), 'SELECT 5 AS x;')).x, 5, 'the one session still serves');
  } finally {
    pin.release();
    await sessions.close();
  }
});

test('a session killed while idle is replaced by a fresh login when next needed, which the lab counts', async () => {
  const sessions = serverSessions(1);
  const dba = await connect(lab, 'sqlServer', { appName: 'dba-console' });
  try {
    const pool = await borrower(sessions);
    const { spid } = await one(pool, 'SELECT @@SPID AS spid;');
    await run(dba, 'SELECT 1 AS warm;'); // the console's own session logs in on its first query
    const before = lab.logins();
    await run(dba, `KILL ${String(spid)};`);
    // The lab drops the session's socket just after KILL's reply: until the client hears, the old
    // session may still be lent, and a query sent on it is lost with it (the steps' polls retry).
    const after = await poll(async () => {
      try {
        const now = await one(await borrower(sessions), 'SELECT @@SPID AS spid;');
        return now.spid === spid ? undefined : now;
      } catch (error) {
        if (isConnectionLoss(error)) return undefined;
        throw error;
      }
    });
    assert.is.not(after.spid, spid);
    assert.is(delta(before), 1, 'one new login replaces the killed session');
  } finally {
    await dba.close();
    await sessions.close();
  }
});

test("two links' runs on one server borrow the same sessions (the run's handle, not its own pool); a run's own pool is unchanged without them", async () => {
  const sessions = serverSessions(2);
  try {
    const before = lab.logins();
    const runs = [0, 1].map((i) => createRunResources(lab.inventories[i]! as Inventory, { env: lab.env, sessions }));
    const spids = new Set<unknown>();
    for (const r of runs) for (let i = 0; i < 3; i++) spids.add((await one(await r.sql('sqlServer'), 'SELECT @@SPID AS spid;')).spid);
    // Both links' queries on the same two sessions at most (a session is reset before it is lent
    // again, so a query right after another may find the first still resetting and open the second).
    assert.ok(spids.size <= 2, `sessions used: ${[...spids].join(', ')}`);
    assert.ok(delta(before) <= 2, `logins: ${delta(before)} (two sessions, the first of them mssql's checking login)`);
    await Promise.all(runs.map((r) => r.close()));
    // A run's close leaves the wave's sessions to the others.
    assert.is((await one(await borrower(sessions), 'SELECT 7 AS x;')).x, 7);
  } finally {
    await sessions.close();
  }
});

test("live() asks the server on a session (a borrower alone sends nothing once the pool is open); with the server gone, a classified line: unreachable, naming the endpoint (attack r5conn finding 8)", async () => {
  const sessions = serverSessions(2);
  const spec = inventory().link.sqlServer.connection;
  const asked = () => lab.statements().filter((s) => s.side === 'sqlServer' && /SELECT 1 AS live/.test(s.statement)).length;
  try {
    await one(await borrower(sessions), 'SELECT 1 AS warm;');
    const before = asked();
    await borrower(sessions);
    assert.is(asked(), before, 'a borrower connects nothing');
    await sessions.live('sqlServer', spec, lab.env);
    assert.is(asked(), before + 1, 'live() asked the server');
    lab.setDown('sqlServer', 'refuse');
    const error = (await sessions.live('sqlServer', spec, lab.env).then(() => undefined, (e: unknown) => e)) as { message?: string; unreachable?: boolean } | undefined;
    assert.ok(error, 'live() fails with the server down');
    assert.is(error!.unreachable, true);
    assert.match(String(error!.message), new RegExp(`^Cannot connect to sqlServer at localhost:${spec.port}: the TCP connection was refused \\(ECONNREFUSED\\)`));
  } finally {
    lab.setDown('sqlServer', false);
    await sessions.close();
  }
});

test('live(): a server that takes the check and does not answer it within the request timeout fails the check (ETIMEOUT), once, not asked again as a lost session would be', async () => {
  const sessions = serverSessions(2);
  const spec = inventory(400).link.sqlServer.connection;
  const pin = lab.hold({ match: /SELECT 1 AS live/, side: 'sqlServer' });
  try {
    const checked = sessions.live('sqlServer', spec, lab.env).then(() => undefined, (e: unknown) => e as { code?: string });
    await pin.reached;
    const error = await checked;
    assert.ok(error, 'the check failed');
    assert.is(error!.code, 'ETIMEOUT');
  } finally {
    pin.release();
    await sessions.close();
  }
});

test.run();
