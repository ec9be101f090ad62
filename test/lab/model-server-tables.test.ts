// What one server of a fleet lab serves: every link's catalog and DMV rows together, and its own
// tables (lab.*, the server-wide DMVs) once. A catalog asks for the tables one statement reads,
// and the model builds only those (bench/fleet: on a server holding 50 links, building every
// table of every link for a lock check's read of sys.dm_tran_locks was most of the lab's CPU).
// Pure: a hand-driven clock, no sockets.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TABLES } from '../../lab/sql/engine.js';
import { LabModel } from '../../lab/model/lab-model.js';
import { replicaTables } from '../../lab/model/tables.js';
import { loadScenario } from '../../lab/scenario.js';
import type { Side } from '../../lab/model/types.js';

const LINKS = 3;
const now = 2_000_000;
const fleet = new LabModel({ scenario: loadScenario('workload-running'), links: LINKS, sharedServers: true, clock: () => now });
const all = [...Array(LINKS).keys()];
fleet.applocks.acquire(fleet.links[0]!.replicas.sqlServer.serverName, 'master', 'runbook:link:x', { mode: 'Exclusive', sessionId: 51, login: 'runbook', hostName: 'h', programName: 'p', description: 'd' }, new Date(now));

for (const side of ['sqlServer', 'managedInstance'] as Side[]) {
  test(`${side}: each table asked for alone has the rows it has in the whole set, and nothing else comes`, () => {
    const whole = fleet.serverTables(all, side);
    assert.equal(Object.keys(whole).sort(), Object.keys(TABLES).sort());
    for (const name of Object.keys(TABLES)) {
      assert.equal(fleet.serverTables(all, side, new Set([name])), { [name]: whole[name] }, name);
    }
  });
}

test("the server's own tables are the server's once, not once per link", () => {
  const t = fleet.serverTables(all, 'sqlServer', new Set(['lab.ledger', 'lab.applocks', 'sys.dm_tran_locks', 'sys.databases']));
  assert.equal(t['lab.ledger']!.map((r) => r.link_name), fleet.links.map((l) => l.name));
  assert.is(t['lab.applocks']!.length, 1);
  assert.is(t['sys.dm_tran_locks']!.length, 1);
  // master, tempdb, model, msdb once, then each link's database.
  assert.equal(t['sys.databases']!.map((r) => r.name), ['master', 'tempdb', 'model', 'msdb', ...fleet.links.map((l) => l.id.database)]);
});

test("each link's rows of a catalog view are all there, in link order", () => {
  const groups = fleet.serverTables(all, 'sqlServer', new Set(['sys.availability_groups']))['sys.availability_groups']!;
  for (const link of fleet.links) assert.ok(groups.some((g) => g.name === link.name), link.name);
});

test('a link that did not change keeps its HADR rows; the link that changed, or a change of everything, rebuilds them', () => {
  const view = 'sys.availability_groups';
  const dagRow = (link: number) => fleet.serverTables(all, 'sqlServer', new Set([view]))[view]!.find((r) => r.name === fleet.links[link]!.name);
  const before = [dagRow(0), dagRow(1)];
  assert.is(dagRow(1), before[1], 'nothing changed: the same rows');
  fleet.links[0]!.setReplication({ lagMs: 5 });
  assert.is.not(dagRow(0), before[0], 'link 1 changed: rebuilt');
  assert.is(dagRow(1), before[1], 'link 2 did not change: kept');
  fleet.bump();
  assert.is.not(dagRow(1), before[1], 'everything may have changed: rebuilt');
});

test('a link builds only the groups of tables asked for', () => {
  const link = fleet.links[0]!;
  const created = new Date(0);
  assert.equal(Object.keys(replicaTables(link, 'sqlServer', now, created, new Set(['sys.databases']))), ['sys.databases']);
  assert.equal(Object.keys(replicaTables(link, 'sqlServer', now, created, new Set(['msdb.dbo.backupset']))).sort(), ['msdb.dbo.backupmediafamily', 'msdb.dbo.backupset']);
  assert.equal(Object.keys(replicaTables(link, 'sqlServer', now, created, new Set(['sys.dm_tran_locks', 'lab.ledger']))), []);
});

test('while a link has log unsent, the HADR views change every second (secondary_lag_seconds); without, time alone changes nothing', () => {
  let at = 5_000_000;
  const model = new LabModel({ scenario: loadScenario('lagging'), links: 1, clock: () => at });
  const view = 'sys.dm_hadr_database_replica_states';
  model.version();
  assert.ok(model.links[0]!.pending.length > 0, 'the lagging scenario starts with a backlog');
  const before = model.versionOf(view);
  at += 1000;
  model.version();
  assert.is.not(model.versionOf(view), before);

  const quiet = new LabModel({ scenario: loadScenario('healthy', { miBackups: { logEveryMs: 0, diffEveryMs: 0 } }), links: 1, clock: () => at });
  quiet.version();
  const still = quiet.versionOf(view);
  at += 5000;
  quiet.version();
  assert.is(quiet.versionOf(view), still);
});

test.run();
