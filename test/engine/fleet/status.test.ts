// `runbook status` on a mixed lab fleet: read only, one table row per link, exit 0/1/2.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { judgeLink } from '../../../engine/fleet/status.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { fleetLab } from '../../helpers/fleet-run.js';

test('status: healthy, lagging and split-brain links; JSON and text; exit 1; nothing sent but reads, no lock', async () => {
  const f = await fleetLab({ links: 3, linkScenarios: { 2: 'lagging', 3: 'split-brain' }, overrides: { replication: { catchUpAfterMs: 60_000 } } });
  try {
    const before = f.lab.logins();
    const json = await f.run(['status', '-i', f.fleetFile, '--format', 'json']);
    assert.is(json.code, 1, json.stderr);
    const out = JSON.parse(json.stdout) as { healthy: boolean; links: Array<{ link: string; healthy: boolean; problems: string[]; sqlServer: { role: string; mode: string; kbBehind?: number }; managedInstance: { role: string; sync: string }; arm: { exists: boolean; instanceRole: string } }> };
    assert.is(out.healthy, false);
    // The lagging link's replication is stalled (lab scenario `lagging`): its secondary is NOT SYNCHRONIZING.
    assert.equal(out.links.map((l) => `${l.link}:${l.healthy}`), ['dag1:true', 'dag2:false', 'dag3:false']);
    assert.equal(out.links[1]!.problems, ["the secondary's database is NOT SYNCHRONIZING"]);
    assert.equal([out.links[0]!.sqlServer.role, out.links[0]!.sqlServer.mode, out.links[0]!.managedInstance.role, out.links[0]!.managedInstance.sync], ['PRIMARY', 'ASYNCHRONOUS_COMMIT', 'SECONDARY', 'SYNCHRONIZING']);
    assert.equal([out.links[0]!.arm.exists, out.links[0]!.arm.instanceRole], [true, 'Secondary']);
    assert.ok((out.links[1]!.sqlServer.kbBehind ?? 0) > 0, 'the lagging link shows its log behind');
    assert.match(out.links[2]!.problems.join(), 'split-brain');
    // One session per server for all three links, one login each: mssql's connect() checks the
    // settings with the login it then keeps (engine/drivers/sql/kept-login.ts; it logged in twice).
    const after = f.lab.logins();
    assert.equal({ sql01: after.sql01! - (before.sql01 ?? 0), sqlmi1: after.sqlmi1! - (before.sqlmi1 ?? 0) }, { sql01: 1, sqlmi1: 1 });
    const sent = f.lab.statements().filter((s) => !/^(set |select|SELECT)/i.test(s.statement.trim()));
    assert.equal(sent.map((s) => s.statement), [], 'reads only: no lock, no change');
    const text = await f.run(['status', '-i', f.fleetFile]);
    assert.is(text.code, 1);
    assert.match(text.stdout, /^dag3 .*UNHEALTHY/m);
    assert.match(text.stdout, 'dag3: split-brain: both sides say PRIMARY');
    assert.match(text.stdout, '3 link(s): 1 healthy, 2 unhealthy');
    const healthyOnly = await f.run(['status', '-i', f.fleetFile, '--links', 'dag1']);
    assert.is(healthyOnly.code, 0, healthyOnly.stdout);
    const wrongPassword = await f.run(['status', '-i', f.fleetFile], { LAB_SQL_PASSWORD: 'wrong' });
    assert.is(wrongPassword.code, 2);
    assert.match(wrongPassword.stderr, 'set-up error');
  } finally {
    await f.stop();
  }
});

test('F8: one server\'s refused login shows its links unreadable and every other link still read; the set-up error on its own line, exit 2', async () => {
  const f = await fleetLab({ links: 3 });
  try {
    // A second SQL Server entry serving dag2 only, with its own password variable: the lab has one
    // SQL Server endpoint, reached here by its address (validate refuses one host:port declared twice;
    // an alias of the same server cannot be seen, which is what stands in for a second server here).
    const fleet = yaml.load(readFileSync(f.fleetFile, 'utf8')) as { sqlServers: Record<string, { connection: { host: string; serverName?: string; passwordEnv: string } }>; links: Array<{ sqlServer: string }> };
    const server = Object.values(fleet.sqlServers)[0]!;
    assert.is(server.connection.host, 'localhost');
    fleet.sqlServers.sql02 = {
      ...structuredClone(server),
      connection: { ...structuredClone(server.connection), host: '127.0.0.1', serverName: server.connection.serverName ?? 'localhost', passwordEnv: 'LAB_SQL2_PASSWORD' },
    };
    fleet.links[1]!.sqlServer = 'sql02';
    const file = join(f.dir, 'two-servers.yml');
    writeFileSync(file, yaml.dump(fleet));
    const password = f.lab.env[server.connection.passwordEnv]!;
    const fine = await f.run(['status', '-i', file], { LAB_SQL2_PASSWORD: password });
    assert.is(fine.code, 0, fine.stdout + fine.stderr);
    const text = await f.run(['status', '-i', file], { LAB_SQL2_PASSWORD: 'wrong-Pa55' });
    assert.is(text.code, 2, text.stdout + text.stderr);
    assert.match(text.stdout, /^dag1 .*healthy$/m);
    assert.match(text.stdout, /^dag2 .*UNREADABLE.*UNHEALTHY$/m);
    assert.match(text.stdout, /^dag3 .*healthy$/m);
    assert.match(text.stdout, '3 link(s): 2 healthy, 1 unhealthy');
    const errors = text.stderr.split('\n').filter(Boolean);
    assert.is(errors.length, 1, text.stderr);
    assert.match(errors[0]!, /^runbook: status: set-up error: .*login/i);
    const json = await f.run(['status', '-i', file, '--format', 'json'], { LAB_SQL2_PASSWORD: 'wrong-Pa55' });
    assert.is(json.code, 2);
    const out = JSON.parse(json.stdout) as { links: Array<{ link: string; healthy: boolean; sqlServer: { read: boolean; setUp?: boolean } }>; setUpErrors: string[] };
    assert.equal(out.links.map((l) => `${l.link}:${l.healthy}:${l.sqlServer.read}`), ['dag1:true:true', 'dag2:false:false', 'dag3:true:true']);
    assert.is(out.links[1]!.sqlServer.setUp, true);
    assert.is(out.setUpErrors.length, 1);
    assert.not.match(text.stdout + text.stderr + json.stdout, 'wrong-Pa55');
  } finally {
    await f.stop();
  }
});

test('the verdict: unreadable, no primary, a secondary not synchronizing, ARM missing or disagreeing are unhealthy; lag is not', () => {
  const ok = { read: true, role: 'PRIMARY', mode: 'ASYNCHRONOUS_COMMIT', sync: 'SYNCHRONIZED', kbBehind: 900, secondsBehind: 40 };
  const sec = { read: true, role: 'SECONDARY', mode: 'ASYNCHRONOUS_COMMIT', sync: 'SYNCHRONIZING' };
  const arm = { read: true, exists: true, instanceRole: 'Secondary' };
  const base = { link: 'd', database: 'db', sqlServer: ok, managedInstance: sec, arm };
  assert.equal(judgeLink(base), { healthy: true, problems: [] });
  assert.equal(judgeLink({ ...base, managedInstance: { read: false, error: 'refused' } }).problems, ['managedInstance cannot be read (refused)']);
  assert.equal(judgeLink({ ...base, sqlServer: { ...ok, role: 'SECONDARY' } }).problems, ['no side says PRIMARY']);
  assert.equal(judgeLink({ ...base, managedInstance: { ...sec, sync: 'NOT SYNCHRONIZING' } }).problems, ["the secondary's database is NOT SYNCHRONIZING"]);
  assert.equal(judgeLink({ ...base, arm: { read: true, exists: false } }).problems, ['ARM has no such link on the managed instance']);
  assert.equal(judgeLink({ ...base, arm: { ...arm, instanceRole: 'Primary' } }).problems, ['ARM says the managed instance is Primary, the managed instance says SECONDARY']);
});

test.run();
