// `runbook lab up` through the built CLI, as a user runs it: a child process in the foreground,
// its inventory accepted by `runbook validate`, its export lines good enough to log in with the
// real mssql client and ARM client, Ctrl-C (SIGINT) stopping it cleanly; bad scenarios are exit 2.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sql from 'mssql';
import yaml from 'js-yaml';
import { SqlManagementClient } from '@azure/arm-sql';
import { root, runCli, startCli, tempDir, waitFor } from '../helpers/cli.js';
import type { Inventory } from '../../engine/core/types.js';

/** `export NAME=value` lines as a shell would `eval` them (values may be single-quoted). */
function exportsOf(stdout: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of stdout.matchAll(/^export ([A-Z_][A-Z0-9_]*)=(.*)$/gm)) {
    const raw = m[2];
    env[m[1]] = raw.startsWith("'") ? raw.slice(1, -1).replace(/'\\''/g, "'") : raw;
  }
  return env;
}

async function login(inv: Inventory, side: 'sqlServer' | 'managedInstance', password: string): Promise<string> {
  const c = inv.link[side].connection;
  const pool = new sql.ConnectionPool({
    server: c.host, port: c.port, user: c.user, password, database: 'master',
    connectionTimeout: 5000, requestTimeout: 5000, pool: { max: 1, min: 0 },
    options: { encrypt: true, trustServerCertificate: false, cryptoCredentialsDetails: { ca: readFileSync(c.caFile!, 'utf8') } },
  });
  await pool.connect();
  try {
    return (await pool.request().query('SELECT @@SERVERNAME AS name')).recordset[0].name as string;
  } finally {
    await pool.close();
  }
}

test('lab up: inventory validated, exported passwords log in over TLS, Ctrl-C stops it cleanly', async () => {
  const dir = tempDir('lab-up-');
  const { child, done } = startCli(['lab', 'up', '--scenario', 'healthy', '--inventory-out', 'lab.yml'], { cwd: dir, timeoutMs: 60_000 });
  let stdout = '';
  child.stdout!.on('data', (d) => (stdout += d));
  const invFile = join(dir, 'lab.yml');
  await waitFor(() => stdout.includes('Press Ctrl-C') && existsSync(invFile), 30_000);

  const text = readFileSync(invFile, 'utf8');
  const inv = yaml.load(text) as Inventory;
  const env = exportsOf(stdout);
  assert.equal(Object.keys(env).sort(), ['LAB_ARM_TOKEN', 'LAB_ENTRA_AUTHORITY_HOST', 'LAB_ENTRA_CLIENT_ID', 'LAB_ENTRA_CLIENT_SECRET', 'LAB_ENTRA_TENANT_ID', 'LAB_MI_PASSWORD', 'LAB_SQL_PASSWORD']);
  // The Entra tenant, client id and authority host are not secrets (the host is the ARM endpoint).
  for (const name of ['LAB_ARM_TOKEN', 'LAB_ENTRA_CLIENT_SECRET', 'LAB_MI_PASSWORD', 'LAB_SQL_PASSWORD']) {
    assert.not.ok(text.includes(env[name]!), `no secret in the inventory file (${name})`);
  }
  assert.is(inv.link.sqlServer.connection.passwordEnv, 'LAB_SQL_PASSWORD');
  assert.is(inv.link.managedInstance.connection.passwordEnv, 'LAB_MI_PASSWORD');
  const caFile = inv.link.sqlServer.connection.caFile!;
  assert.ok(existsSync(caFile), 'the CA file the inventory names exists while the lab runs');
  assert.ok(stdout.includes(caFile), 'how to connect names the CA');
  assert.match(stdout, new RegExp(`SQL Server localhost:${inv.link.sqlServer.connection.port}\\b`));

  const validated = await runCli(['validate', invFile, join(root, 'runbooks', 'planned-failover.yml')]);
  assert.is(validated.code, 0, validated.stderr);

  // The command it prints runs as printed from where lab up ran, with no runbook on the PATH and no
  // npx (which, outside the clone, would fetch whatever the registry calls runbook).
  const howTo = stdout.match(/^ {2}(node \S+ plan \S+ -i lab\.yml)$/m)?.[1];
  assert.ok(howTo, stdout);
  assert.match(stdout, /^ {2}runbook plan \S+ -i lab\.yml +# the same, with runbook on your PATH/m);
  assert.not.match(stdout, /npx/);
  const planned = spawnSync('sh', ['-c', howTo!], { cwd: dir, env: { ...process.env, ...env, PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
  assert.is(planned.status, 0, planned.stderr);
  assert.match(planned.stdout, /^Plan: 3 changes/m);

  assert.is(await login(inv, 'sqlServer', env[inv.link.sqlServer.connection.passwordEnv!]), 'sql01');
  assert.is(await login(inv, 'managedInstance', env[inv.link.managedInstance.connection.passwordEnv!]), 'sqlmi1');
  const token = env[inv.arm!.tokenEnv!];
  const arm = new SqlManagementClient({ getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3.6e6 }) }, inv.link.managedInstance.subscriptionId, {
    endpoint: inv.arm!.endpoint, tlsOptions: { ca: readFileSync(inv.arm!.caFile!, 'utf8') },
  });
  const dag = await arm.distributedAvailabilityGroups.get(inv.link.managedInstance.resourceGroup, inv.link.managedInstance.name, inv.link.name);
  assert.is(dag.name, 'dag1');

  child.kill('SIGINT');
  const result = await done;
  assert.is(result.signal, null);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, /Stopping the lab/);
  assert.not.match(result.stderr, /Error|at .*\.js:\d+/);
  assert.not.ok(existsSync(caFile), 'the throwaway CA is removed on stop');
  const refused = await login(inv, 'sqlServer', env.LAB_SQL_PASSWORD).then(() => false, () => true);
  assert.ok(refused, 'nothing listens after stop');
});

test('lab up --links 2 writes the fleet inventory and one inventory per link, each valid; SIGTERM stops it too', async () => {
  const dir = tempDir('lab-up-');
  const { child, done } = startCli(['lab', 'up', '--links', '2', '--scenario', 'lagging', '--link-scenario', '2=split-brain', '--inventory-out', 'drill.yml'], { cwd: dir, timeoutMs: 60_000 });
  let stdout = '';
  child.stdout!.on('data', (d) => (stdout += d));
  await waitFor(() => stdout.includes('Press Ctrl-C'), 30_000);
  const files = ['drill-1.yml', 'drill-2.yml'].map((f) => join(dir, f));
  const names = files.map((f) => (yaml.load(readFileSync(f, 'utf8')) as Inventory).link.name);
  assert.equal(names, ['dag1', 'dag2']);
  const fleet = yaml.load(readFileSync(join(dir, 'drill.yml'), 'utf8')) as { sqlServers: object; links: Array<{ name: string; sqlServer: string }> };
  assert.equal(fleet.links.map((l) => `${l.name}@${l.sqlServer}`), ['dag1@sql01', 'dag2@sql01']);
  assert.equal(Object.keys(fleet.sqlServers), ['sql01']);
  assert.match(stdout, 'link 2: scenario split-brain');
  const validated = await runCli(['validate', ...files, join(dir, 'drill.yml')]);
  assert.is(validated.code, 0, validated.stderr);
  child.kill('SIGTERM');
  assert.is((await done).code, 0);
});

test('lab up: --links past 100, or a --link-scenario for a link that is not there, is one line and exit 2', async () => {
  const tooMany = await runCli(['lab', 'up', '--links', '101']);
  assert.is(tooMany.code, 2);
  assert.match(tooMany.stderr, 'from 1 to 100');
  const noLink = await runCli(['lab', 'up', '--links', '3', '--link-scenario', '7=lagging']);
  assert.is(noLink.code, 2);
  assert.match(noLink.stderr, '--link-scenario takes <link number 1-3>=<scenario>, not "7=lagging"');
  const unknown = await runCli(['lab', 'up', '--links', '3', '--link-scenario', '2=nope']);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, "unknown lab scenario 'nope'");
});

test('lab up: a link\'s own scenario with server faults (primary-down) is refused on the shared fleet lab, exit 2, nothing started', async () => {
  const dir = tempDir('lab-up-');
  const r = await runCli(['lab', 'up', '--links', '3', '--link-scenario', '2=primary-down', '--inventory-out', 'f.yml'], { cwd: dir });
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, 'lab up: --link-scenario 2=primary-down: its faults (replicaDown) act on a server, which every link of the fleet lab shares');
  assert.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.not.ok(existsSync(join(dir, 'f.yml')), 'no lab started, no inventory written');
});

test('a bad scenario file is exit 2 with one file:line:col line per problem; an unknown name too', async () => {
  const dir = tempDir('lab-up-');
  writeFileSync(join(dir, 'bad.yml'), 'name: bad\nreplication:\n  lagMs: -5\n  stalld: true\n');
  const bad = await runCli(['lab', 'up', '--scenario', 'bad.yml'], { cwd: dir });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^bad\.yml:3:3: .*lagMs must be >= 0$/m);
  assert.match(bad.stderr, /^bad\.yml:4:3: .*unknown key 'stalld'$/m);
  assert.not.match(bad.stderr, /at .*\.js:\d+/);
  assert.is(bad.stdout, '');
  const unknown = await runCli(['lab', 'up', '--scenario', 'no-such-scenario'], { cwd: dir });
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /no such scenario \(built-in: .*healthy/);
});

test.run();
