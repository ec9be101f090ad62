// A wave's runs share one lock session per server (engine/drivers/sql/shared-lock-sessions.ts):
// every link's sp_getapplock on it, each lock still its own. What sharing must not weaken:
//   - the lock session dies (a DBA's KILL): every link's run hears of it at once, takes its own
//     lock back and compares its own link before anything more; a link someone acted on stops
//     (exit 5) while the others go on;
//   - two runs of one wave on the same lock resource: the session's lock is re-entrant, so the
//     second would be granted by the server; it is refused before;
//   - a run that ends lets go of its lock only: the others stay held on the session.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hold } from '../../lab/index.js';
import { startLab } from '../../lab/index.js';
import { acquireLinkLock, LockRefused, type LockLossEvent } from '../../engine/drivers/sql/lock.js';
import type { Inventory } from '../../engine/core/types.js';
import { sharedLockSessions } from '../../engine/drivers/sql/shared-lock-sessions.js';
import { waitFor } from '../helpers/cli.js';
import { connect, run } from '../helpers/lab.js';
import { fleetLab, fleetRoles, type FleetLab } from '../helpers/fleet-run.js';
import { FAST_PLANNED, runbookFile } from '../helpers/lab-run.js';

const planned = runbookFile('planned-failover');
const sets = [...FAST_PLANNED, 'lsnTimeout=30s'].flatMap((s) => ['--set', s]);
/** Each link's first LSN read on SQL Server: every run is pinned in its first wait (caught-up). */
const FIRST_LSN_WAIT = /end_of_log_lsn AS varchar/;

type Rec = Record<string, any>;

function waveRecord(journalDir: string): { waveId: string; finished?: { exitCode: number }; links: Array<{ name: string; runId?: string; state: string; exitCode?: number }> } {
  const dir = join(journalDir, 'waves');
  const file = readdirSync(dir).find((f) => f.endsWith('.json'))!;
  return JSON.parse(readFileSync(join(dir, file), 'utf8'));
}

/** Every run's journal records so far, by run id. */
function journals(journalDir: string): Map<string, Rec[]> {
  const out = new Map<string, Rec[]>();
  if (!existsSync(journalDir)) return out;
  for (const f of readdirSync(journalDir).filter((n) => n.endsWith('.jsonl'))) {
    out.set(f.replace(/\.jsonl$/, ''), readFileSync(join(journalDir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec));
  }
  return out;
}

const linkOf = (records: Rec[]) => records.find((r) => r.kind === 'run-started')?.link as string | undefined;

/** Starts a wave on every link of `f`, each run pinned in its first LSN wait on SQL Server. */
async function pinnedWave(f: FleetLab, links: number): Promise<{ done: ReturnType<FleetLab['run']>; pins: Hold[] }> {
  // The fleet's links share one server, so a hold cannot pick a link: each catches one LSN read,
  // and a run pinned in one sends no other on SQL Server, so the holds pin one run each.
  const pins = Array.from({ length: links }, () => f.lab.hold({ match: FIRST_LSN_WAIT, side: 'sqlServer' }));
  // A run pinned in a query holds a step session: the wave may open one per link here (its
  // default, 3 per server, would leave the other runs waiting their turn: server-sessions.test.ts).
  const done = f.run(['apply', planned, '-i', f.fleetFile, '--all', '--parallel', String(links), '--yes', ...sets], { RUNBOOK_SESSIONS_PER_SERVER: String(links) });
  await Promise.race([Promise.all(pins.map((p) => p.reached)), done.then((r) => Promise.reject(new Error(`the wave ended before every run was pinned: ${r.stdout}${r.stderr}`)))]);
  return { done, pins };
}

test('a wave of 20 links: every link locked on one session per server, named after the wave; 2 lock logins per server instead of 2 per link', async () => {
  const links = 20;
  const f = await fleetLab({ links });
  try {
    const { done, pins } = await pinnedWave(f, links);
    for (const [replica, side] of [['sql01', 'sqlServer'], ['sqlmi1', 'managedInstance']] as const) {
      const rows = f.lab.model.applocks.rows().filter((r) => r.replica === replica && r.resource.startsWith('runbook:link:'));
      assert.is(rows.length, links, `every link locked on ${side}`);
      assert.equal([...new Set(rows.map((r) => r.resource))].sort(), Array.from({ length: links }, (_, i) => `runbook:link:dag${i + 1}`).sort());
      assert.is(new Set(rows.map((r) => r.holder.sessionId)).size, 1, `one lock session on ${side}, not one per link`);
      assert.match(rows[0]!.holder.programName, /^runbook wave:wave-\S+ \S*@\S* since \S+$/);
      assert.ok(rows.every((r) => r.database === 'master' && r.holder.count === 1));
    }
    // A second operator on one of the wave's links is refused, told which wave holds it.
    const single = join(f.dir, 'dag3.yml');
    writeFileSync(single, JSON.stringify(f.lab.inventories[2]));
    const before = f.lab.logins();
    const second = await f.run(['apply', planned, '-i', single, '--yes', ...sets]);
    const secondsLogins = Object.fromEntries(Object.entries(f.lab.logins()).map(([server, n]) => [server, n - (before[server] ?? 0)]));
    assert.is(second.code, 3, second.stdout + second.stderr);
    assert.match(second.stderr, new RegExp(`link dag3 is locked by wave ${waveRecord(f.journalDir).waveId} of \\S+ on host \\S+, since \\d{4}-`));
    // The lock goes when the wave's run of dag3 ends, not when the wave's process does.
    assert.match(second.stderr, /Wait for the wave's run of link dag3 to end \(its lock goes when that run ends; the wave's process may go on for its other links\)/);
    assert.not.match(second.stderr, /when its process ends/);
    for (const p of pins) p.release();
    const r = await done;
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.ok(Object.values(fleetRoles(f.lab)).every((roles) => roles === 'SP'), 'every link failed over');
    // Per server: the wave's lock session (and mssql's test login before it) plus the wave's step
    // sessions, one per link in this test (and their pool's test login). Each run kept a lock
    // session of its own before: 4 per link.
    const logins = Object.fromEntries(Object.entries(f.lab.logins()).map(([server, n]) => [server, n - (secondsLogins[server] ?? 0)]));
    assert.ok(logins.sql01! <= 2 + links + 1 && logins.sqlmi1! <= 2 + links + 1, `the wave's logins: ${JSON.stringify(logins)}`);
    // Every lock was let go: nothing left on either server.
    assert.equal(f.lab.model.applocks.rows().filter((row) => row.resource.startsWith('runbook:link:')), []);
  } finally {
    await f.stop();
  }
});

test("the wave's shared lock session is killed, and the killer takes dag2's lock and demotes it: every run takes its own lock back at once and compares its own link; dag2 stops (exit 5) naming the holder, the others go on", async () => {
  const links = 4;
  const f = await fleetLab({ links });
  const dba = await connect(f.lab, 'sqlServer', { appName: 'dba-console' });
  try {
    const { done, pins } = await pinnedWave(f, links);
    const shared = f.lab.model.applocks.rows().filter((r) => r.replica === 'sql01' && r.resource.startsWith('runbook:link:'));
    const sessions = [...new Set(shared.map((r) => r.holder.sessionId))];
    assert.is(sessions.length, 1, 'one lock session for the wave on SQL Server');
    const seen = f.lab.statements().length;
    await run(dba, `KILL ${sessions[0]};
DECLARE @r int;
EXEC @r = sp_getapplock @Resource = N'runbook:link:dag2', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
IF @r < 0 THROW 50000, 'lock not granted', 1;
ALTER AVAILABILITY GROUP [dag2] SET (ROLE = SECONDARY);`);
    // Every run journals what it found while all are still pinned in caught-up: not at their next step.
    const lost = () => [...journals(f.journalDir).values()].filter((recs) => recs.some((r) => r.kind === 'lock-lost' && r.side === 'sqlServer'));
    await waitFor(() => lost().length === links, 10_000);
    // Taken again on one new session, each link its own lock (dag2's is the DBA's).
    const now = f.lab.model.applocks.rows().filter((r) => r.replica === 'sql01' && r.resource.startsWith('runbook:link:'));
    const ours = now.filter((r) => r.holder.programName.startsWith('runbook wave:'));
    assert.equal(ours.map((r) => r.resource).sort(), ['runbook:link:dag1', 'runbook:link:dag3', 'runbook:link:dag4']);
    assert.is(new Set(ours.map((r) => r.holder.sessionId)).size, 1);
    assert.ok(!sessions.includes(ours[0]!.holder.sessionId), 'on a new session');
    assert.is(now.find((r) => r.resource === 'runbook:link:dag2')?.holder.programName, 'dba-console');
    for (const p of pins) p.release();
    const r = await done;
    assert.is(r.code, 5, r.stdout + r.stderr);

    const record = waveRecord(f.journalDir);
    assert.equal(record.links.map((l) => `${l.name}:${l.exitCode}`), ['dag1:0', 'dag2:5', 'dag3:0', 'dag4:0']);
    const byLink = new Map([...journals(f.journalDir).values()].map((recs) => [linkOf(recs), recs]));
    for (const name of ['dag1', 'dag2', 'dag3', 'dag4']) {
      const recs = byLink.get(name)!;
      const loss = recs.findIndex((x) => x.kind === 'lock-lost' && x.side === 'sqlServer');
      assert.ok(loss > 0, `${name} journaled the lost lock`);
      // Nothing changed by any run between the KILL and its own re-take and comparison.
      const changedBefore = recs.slice(0, loss).some((x) => x.kind === 'step-started' && /^sync-commit|^failover/.test(String(x.step)));
      assert.not.ok(changedBefore, `${name}: no change step before the lock was taken back`);
      const event = recs[loss]!;
      if (name === 'dag2') {
        assert.is(event.retaken, false);
        assert.match(String(event.holder), /dba-console/);
        assert.ok(!recs.some((x) => x.kind === 'step-started' && /^sync-commit|^failover/.test(String(x.step))), 'dag2: no change step after');
      } else {
        assert.is(event.retaken, true, `${name} took its lock back`);
        assert.equal(event.changes, [], `${name}: nothing changed on its link`);
      }
    }
    assert.match(r.stdout, /\[dag2\] .*took it/);
    // dag2 stays as the DBA left it; the others failed over once each.
    assert.equal(fleetRoles(f.lab), { dag1: 'SP', dag2: 'SS', dag3: 'SP', dag4: 'SP' });
    const failovers = f.lab.statements().slice(seen).filter((s) => /FAILOVER/i.test(s.statement) && !/FORCE/i.test(s.statement));
    assert.is(failovers.length, 3, failovers.map((s) => s.statement).join('\n'));
  } finally {
    await dba.close().catch(() => undefined);
    await f.stop();
  }
});

test("two runs of one wave on the same lock are refused before the server's re-entrant grant, whichever of the server's sessions holds it; one run letting go keeps the others' locks", async () => {
  const lab = await startLab({ fleet: true, links: 2 });
  // One link per session here, so that the refusal holds across a server's sessions too.
  const sessions = sharedLockSessions({ runId: 'wave:test', user: 'u', host: 'h', since: '2026-01-01T00:00:00Z' }, { linksPerSession: 1, sessionsPerServer: 2 });
  try {
    const holder = (runId: string) => ({ runId, user: 'u', host: 'h', since: '2026-01-01T00:00:00Z' });
    const [one, two] = lab.inventories;
    const first = await acquireLinkLock(one!, { env: lab.env, holder: holder('r1'), sessions });
    // The same link spelled as the server may equal it: the same lock resource on the same session.
    const again = { ...one!, link: { ...one!.link, name: one!.link.name.toUpperCase() } };
    try {
      await acquireLinkLock(again, { env: lab.env, holder: holder('r2'), sessions });
      assert.unreachable('the second run of the same lock must be refused');
    } catch (error) {
      assert.instance(error, LockRefused);
      assert.match((error as Error).message, /locked by link dag1 of this same wave/);
    }
    const second = await acquireLinkLock(two!, { env: lab.env, holder: holder('r3'), sessions });
    const held = () => lab.model.applocks.rows().filter((r) => r.replica === 'sql01').map((r) => `${r.resource}:${r.holder.count}`).sort();
    assert.equal(held(), ['runbook:link:dag1:1', 'runbook:link:dag2:1']);
    assert.is(new Set(lab.model.applocks.rows().filter((r) => r.replica === 'sql01').map((r) => r.holder.sessionId)).size, 2, 'past linksPerSession, a second session');
    await first.release();
    assert.equal(held(), ['runbook:link:dag2:1'], 'dag2 stays locked when dag1 lets go');
    await second.ensure();
    await second.release();
    assert.equal(held(), []);
  } finally {
    await sessions.close();
    await lab.stop();
  }
});

test("a lock request with no answer on the wave's shared session ends that session within the connection's request timeout: every run on it takes its lock back on a fresh session and goes on; the question is not taken for a lost lock granted again on the silent session", async () => {
  const lab = await startLab({ fleet: true, links: 2 });
  const boundMs = 1000;
  const sessions = sharedLockSessions({ runId: 'wave:test', user: 'u', host: 'h', since: '2026-01-01T00:00:00Z' });
  const bounded = (inv: Inventory): Inventory => ({ ...inv, link: { ...inv.link, sqlServer: { ...inv.link.sqlServer, connection: { ...inv.link.sqlServer.connection, requestTimeoutMs: boundMs } } } });
  const losses: Record<string, LockLossEvent[]> = { dag1: [], dag2: [] };
  const lockFor = (inv: Inventory, runId: string) =>
    acquireLinkLock(bounded(inv), { env: lab.env, holder: { runId, user: 'u', host: 'h', since: '2026-01-01T00:00:00Z' }, sessions, retryMs: 100, onLoss: (e) => losses[inv.link.name]!.push(e) });
  const hold = lab.hold({ match: /APPLOCK_MODE/, side: 'sqlServer' });
  try {
    const [one, two] = [await lockFor(lab.inventories[0]!, 'r1'), await lockFor(lab.inventories[1]!, 'r2')];
    const held = () => lab.model.applocks.rows().filter((r) => r.replica === 'sql01' && r.resource.startsWith('runbook:link:'));
    const before = new Set(held().map((r) => r.holder.sessionId));
    assert.is(before.size, 1, 'both links on one shared session');
    // dag1's check before a change has no answer; dag2's waits its turn behind it.
    const first = one.confirm();
    await hold.reached;
    const both = Promise.all([first, two.confirm()]);
    const limit = new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), 8 * boundMs).unref());
    assert.is(await Promise.race([both.then(() => 'answered'), limit]), 'answered', 'the runs on the session go on within the bound, not when the silent request ends');
    const now = held();
    assert.equal(now.map((r) => `${r.resource}:${r.holder.count}`).sort(), ['runbook:link:dag1:1', 'runbook:link:dag2:1'], 'each lock taken once, on a fresh session');
    assert.not.ok(now.some((r) => before.has(r.holder.sessionId)), 'not on the session that did not answer');
    for (const link of ['dag1', 'dag2']) {
      const onSql = losses[link]!.filter((e) => e.side === 'sqlServer');
      assert.is(onSql.length, 1, `${link}: one loss, ${JSON.stringify(losses[link])}`);
      assert.is(onSql[0]!.retaken, true);
      assert.equal(onSql[0]!.changes, []);
      assert.match(onSql[0]!.message, /the link lock's session on sqlServer ended \(/);
      assert.not.match(onSql[0]!.message, /no longer held/);
    }
    assert.match(losses.dag2![0]!.message, new RegExp(`runbook ended it: a request on it had no answer within ${boundMs} ms`));
    await one.release();
    await two.release();
  } finally {
    hold.release();
    await sessions.close();
    await lab.stop();
  }
});

test.run();
