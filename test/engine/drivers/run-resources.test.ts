import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRunResources, ReplicaConnectError } from '../../../engine/drivers/run-resources.js';
import { StepRefusal } from '../../../engine/core/errors.js';
import type { Inventory } from '../../../engine/core/types.js';
import { startLab, type Lab } from '../../../lab/index.js';
import { rejection } from '../../helpers/steps.js';
import { classifyConnectFailureProbed, describeConnectError, poolConfig, probeTcp } from '../../../engine/drivers/sql/pool.js';
import { classifyConnectFailure, ConnectionSetupError, isConnectionLoss } from '../../../engine/drivers/sql/connect-failure.js';
import type { ConnectionSpec } from '../../../engine/core/types.js';

const base: ConnectionSpec = { host: '10.0.0.5', port: 1433, user: 'runbook', passwordEnv: 'SQL_PW' };

test('SQL login: user and the password from the named variable; TLS on and verified by default', () => {
  const config = poolConfig('sqlServer', base, { SQL_PW: 'pw-1' });
  assert.is(config.server, '10.0.0.5');
  assert.is(config.port, 1433);
  assert.is(config.user, 'runbook');
  assert.is(config.password, 'pw-1');
  assert.is(config.options?.encrypt, true);
  assert.is(config.options?.trustServerCertificate, false);
  assert.is(config.pool?.max, 1);
  assert.is(config.authentication, undefined);
});

test('a missing password variable is named, and no value is shown', () => {
  assert.throws(
    () => poolConfig('managedInstance', base, { OTHER: 'secret-value' }),
    (e: unknown) =>
      e instanceof ConnectionSetupError &&
      e.message === 'Environment variable SQL_PW is not set; it holds the password for the managedInstance connection (10.0.0.5:1433).',
  );
  assert.throws(() => poolConfig('sqlServer', { ...base, passwordEnv: undefined }, {}), /names no passwordEnv/);
  assert.throws(() => poolConfig('sqlServer', { ...base, user: undefined }, { SQL_PW: 'x' }), /names no user/);
});

test('Entra ID uses azure-active-directory-default and reads no password', () => {
  const config = poolConfig('managedInstance', { host: 'mi.database.windows.net', auth: 'entra' }, {});
  assert.equal(config.authentication, { type: 'azure-active-directory-default', options: {} });
  assert.is(config.password, undefined);
  assert.is(config.port, 1433);
});

test('NTLM needs a domain and passes it to the driver', () => {
  const config = poolConfig('sqlServer', { ...base, auth: 'ntlm', domain: 'CORP' }, { SQL_PW: 'pw' });
  assert.is(config.domain, 'CORP');
  assert.throws(() => poolConfig('sqlServer', { ...base, auth: 'ntlm' }, { SQL_PW: 'pw' }), /names no domain/);
});

test('caFile becomes the trusted CA; serverName is what the certificate is checked against', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'conn-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, 'PEM TEXT');
  const config = poolConfig('sqlServer', { ...base, caFile, serverName: 'sql01.corp' }, { SQL_PW: 'pw' });
  assert.equal((config.options as Record<string, unknown>).cryptoCredentialsDetails, { ca: 'PEM TEXT' });
  assert.is((config.options as Record<string, unknown>).serverName, 'sql01.corp');
  assert.is(config.server, '10.0.0.5');
  assert.throws(() => poolConfig('sqlServer', { ...base, caFile: join(dir, 'missing.pem') }, { SQL_PW: 'pw' }), /Cannot read caFile .*missing\.pem of the sqlServer connection: ENOENT/);
  const trusting = poolConfig('sqlServer', { ...base, trustServerCertificate: true, encrypt: false }, { SQL_PW: 'pw' });
  assert.is(trusting.options?.trustServerCertificate, true);
  assert.is(trusting.options?.encrypt, false);
});

test('connection failures say where and what to check, and scrub the password', () => {
  const login = describeConnectError('managedInstance', base, { code: 'ELOGIN', message: "Login failed for user 'runbook' with Hunter2-Xyz." }, 'Hunter2-Xyz');
  assert.not.match(login, /Hunter2-Xyz/);
  assert.match(login, /^Cannot connect to managedInstance at 10\.0\.0\.5:1433: the login was refused/);
  assert.match(login, /check the login 'runbook' and the password in environment variable SQL_PW\.$/);
  const tls = describeConnectError('sqlServer', base, { code: 'ESOCKET', message: 'Failed to connect - self-signed certificate' });
  assert.match(tls, /TLS certificate was not accepted.*caFile/);
  const port = describeConnectError('sqlServer', { host: 'h' }, { code: 'ESOCKET', message: 'Could not connect (sequence)' });
  assert.match(port, /at h:1433: the connection failed .*firewall/);
  const slow = describeConnectError('sqlServer', base, { code: 'ETIMEOUT', message: 'Failed to connect in 15000ms' });
  assert.match(slow, /did not answer in time.*connectTimeoutMs\.$/);
});

test('lost connections are retried; login failures and SQL errors are not', () => {
  assert.ok(isConnectionLoss({ name: 'ConnectionError', code: 'ESOCKET' }));
  assert.ok(isConnectionLoss({ name: 'RequestError', code: 'ECONNCLOSED' }));
  // What mssql raises when the replica goes down while a request is being written.
  assert.ok(isConnectionLoss({ name: 'RequestError', code: 'EPIPE', message: 'write EPIPE' }));
  assert.not.ok(isConnectionLoss({ name: 'ConnectionError', code: 'ELOGIN' }));
  assert.not.ok(isConnectionLoss({ name: 'RequestError', code: 'EREQUEST', number: 208 }));
});

test('loading the step types and connections loads no driver', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const script = `
    const { stepModules } = await import('./steps/index.js');
    for (const t of ['assertRole', 'confirm', 'sqlExec', 'waitLsnStable']) await stepModules[t]();
    const { createRunResources } = await import('./engine/drivers/run-resources.js');
    createRunResources({ link: { sqlServer: {}, managedInstance: {} } }, { env: {} });
    const { createRequire } = await import('node:module');
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => /node_modules[\\\\/](mssql|tedious|@azure)[\\\\/]/.test(k));
    console.log(JSON.stringify(loaded));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.equal(JSON.parse(out), []);
});

// ------------------------------------------------------------------ against the lab, real mssql

let lab: Lab;
test.before(async () => {
  lab = await startLab({ scenario: 'healthy' });
});
test.after(async () => {
  await lab?.stop();
});

const withConnection = (inventory: Inventory, side: 'sqlServer' | 'managedInstance', patch: object): Inventory => {
  const copy = structuredClone(inventory);
  Object.assign(copy.link[side].connection, patch);
  return copy;
};

test('TLS with the lab CA works; one pool per replica, reused, and closed with the run', async () => {
  assert.is(lab.inventory.link.sqlServer.connection.encrypt, true);
  assert.ok(lab.inventory.link.sqlServer.connection.caFile);
  const run = createRunResources(lab.inventory, { env: lab.env });
  const pool = await run.sql('sqlServer');
  assert.is(await run.sql('sqlServer'), pool);
  const result = await pool.request().query('SELECT @@SERVERNAME AS name;');
  assert.is(result.recordset[0].name, lab.link().replicas.sqlServer.serverName);
  assert.is.not(await run.sql('managedInstance'), pool);
  await run.close();
  assert.is(pool.connected, false);
  const error = await rejection(() => run.sql('sqlServer'));
  assert.match(error.message, /connections are closed/);
});

test('a wrong password: the message names side, host and port and never the password', async () => {
  const password = 'Distinctive-Wr0ng-Pa55word-7431';
  const run = createRunResources(lab.inventory, { env: { ...lab.env, LAB_MI_PASSWORD: password } });
  const { port } = lab.endpoints.links[0].managedInstance;
  const error = await rejection(() => run.sql('managedInstance'));
  assert.is(
    error.message,
    `Cannot connect to managedInstance at localhost:${port}: the login was refused (Login failed for user 'runbook'); check the login 'runbook' and the password in environment variable LAB_MI_PASSWORD.`,
  );
  assert.not.ok(JSON.stringify({ ...error, message: error.message, stack: error.stack }).includes(password));
  // The other replica is unaffected, and a later attempt tries again rather than caching the failure.
  assert.ok(await run.sql('sqlServer'));
  await rejection(() => run.sql('managedInstance'));
  await run.close();
});

test('a missing password variable names the variable, not a value', async () => {
  const { LAB_SQL_PASSWORD: _, ...env } = lab.env;
  const run = createRunResources(lab.inventory, { env });
  const error = await rejection(() => run.sql('sqlServer'));
  assert.match(error.message, /^Environment variable LAB_SQL_PASSWORD is not set; it holds the password for the sqlServer connection/);
  assert.not.ok(error.message.includes(lab.env.LAB_MI_PASSWORD));
  await run.close();
});

test('without the CA the certificate is refused, with a TLS hint; trustServerCertificate is only used when asked', async () => {
  const noCa = withConnection(lab.inventory, 'sqlServer', { caFile: undefined });
  const run = createRunResources(noCa, { env: lab.env });
  const error = await rejection(() => run.sql('sqlServer'));
  assert.match(error.message, /the TLS certificate was not accepted .*set caFile to the CA that signed it/);
  await run.close();
  const trusting = createRunResources(withConnection(lab.inventory, 'sqlServer', { caFile: undefined, trustServerCertificate: true }), { env: lab.env });
  assert.ok(await trusting.sql('sqlServer'));
  await trusting.close();
});

test('a closed port names host and port and says to check the server and firewall', async () => {
  const run = createRunResources(withConnection(lab.inventory, 'managedInstance', { host: '127.0.0.1', port: 1 }), { env: lab.env });
  const error = await rejection(() => run.sql('managedInstance'));
  assert.match(error.message, /^Cannot connect to managedInstance at 127\.0\.0\.1:1: the TCP connection was refused \(ECONNREFUSED\) \(.*\); check that the server is running and that the host, port and firewall let this machine in\.$/);
  assert.is((error as unknown as ReplicaConnectError).unreachable, true);
  assert.is((error as unknown as ReplicaConnectError).reason, 'the TCP connection to 127.0.0.1:1 was refused (ECONNREFUSED)');
  await run.close();
});

// Only a replica that never answered may count as unreachable (forced failover's allowUnreachable):
// one that answers and refuses us may be a primary, and forcing the other side then makes two.
test('what counts as unreachable, on the lab: refused or reset while connecting; never a refused login, a missing password, a certificate or a server that accepted TCP and never answered the login', async () => {
  const classify = async (inventory: Inventory, env: Record<string, string>) => {
    const run = createRunResources(inventory, { env });
    try {
      const error = await rejection(() => run.sql('sqlServer'));
      return classifyConnectFailure(error);
    } finally {
      await run.close();
    }
  };
  const { port } = lab.endpoints.links[0].sqlServer;
  const login = await classify(lab.inventory, { ...lab.env, LAB_SQL_PASSWORD: 'Wr0ng-Pa55word' });
  assert.equal(login, { unreachable: false, reason: 'the login was refused' });
  const { LAB_SQL_PASSWORD: _, ...noPassword } = lab.env;
  const missing = await classify(lab.inventory, noPassword);
  assert.is(missing.unreachable, false);
  assert.match(missing.reason, /Environment variable LAB_SQL_PASSWORD is not set/);
  const other = await mkdtemp(join(tmpdir(), 'conn-ca-'));
  const { createLabCertificates } = await import('../../../lab/certs.js');
  const foreign = await createLabCertificates(other);
  const tls = await classify(withConnection(lab.inventory, 'sqlServer', { caFile: foreign.caFile }), lab.env);
  assert.equal(tls, { unreachable: false, reason: 'the TLS certificate was not accepted' });
  const unresolvable = await classify(withConnection(lab.inventory, 'sqlServer', { host: 'no-such-host.invalid' }), lab.env);
  assert.equal(unresolvable, { unreachable: false, reason: 'the host name could not be resolved' });

  lab.setDown('sqlServer', 'refuse');
  try {
    const refused = await classify(lab.inventory, lab.env);
    assert.is(refused.unreachable, true);
    assert.match(refused.reason, new RegExp(`^the TCP connection to localhost:${port} was (refused \\(ECONNREFUSED\\)|reset while connecting \\(ECONNRESET\\))`));
    // Accepts the TCP connection, then never answers (issue 9 attack, F10): up, so never "unreachable".
    lab.setDown('sqlServer', 'hang');
    const silent = await classify(withConnection(lab.inventory, 'sqlServer', { connectTimeoutMs: 300 }), lab.env);
    assert.equal(silent, {
      unreachable: false,
      reason: `the server at localhost:${port} accepted the TCP connection but did not answer the login within 300 ms (ETIMEOUT): it is up, not unreachable`,
    });
  } finally {
    lab.setDown('sqlServer', false);
  }
});

// tedious's connectTimeout covers the TCP connect and the login alike: a plain TCP connect tells them apart.
test('a login timeout is asked again of the network: a TCP connect refused or timed out is unreachable, one that connects is not', async () => {
  const timeout = { name: 'ConnectionError', code: 'ETIMEOUT', message: 'Failed to connect to 127.0.0.1:1 in 300ms' };
  const { createServer } = await import('node:net');
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const closedPort = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));
  assert.equal(await probeTcp('127.0.0.1', closedPort, 1000), { connected: false, code: 'ECONNREFUSED' });
  assert.equal(await classifyConnectFailureProbed(timeout, { host: '127.0.0.1', port: closedPort, connectTimeoutMs: 1000 }), {
    unreachable: true, reason: `the TCP connection to 127.0.0.1:${closedPort} was refused (ECONNREFUSED)`,
  });
  // A listener that accepts and says nothing: the TCP connect succeeds.
  const silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const silentPort = (silent.address() as { port: number }).port;
  try {
    assert.equal(await probeTcp('127.0.0.1', silentPort, 1000), { connected: true });
    const failure = await classifyConnectFailureProbed(timeout, { host: '127.0.0.1', port: silentPort, connectTimeoutMs: 1000 });
    assert.is(failure.unreachable, false);
    assert.match(failure.reason, /accepted the TCP connection but did not answer the login within 1000 ms/);
  } finally {
    silent.close();
  }
  // An address that does not answer at all (TEST-NET-1, RFC 5737): no connection, whatever the network says why.
  const nowhere = await probeTcp('192.0.2.1', 1433, 300);
  assert.is(nowhere.connected, false);
  assert.ok(['ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNREFUSED'].includes((nowhere as { code: string }).code), JSON.stringify(nowhere));
  // Anything but a login timeout is classified as before, without a probe.
  assert.equal(await classifyConnectFailureProbed({ code: 'ELOGIN' }, { host: '127.0.0.1', port: silentPort }), { unreachable: false, reason: 'the login was refused' });
});

test('classifyConnectFailure without servers: a slow query is not a connect timeout; a reset after connecting is not unreachable', () => {
  assert.is(classifyConnectFailure({ name: 'RequestError', code: 'ETIMEOUT', message: 'Timeout: Request failed to complete in 30000ms' }).unreachable, false);
  assert.is(classifyConnectFailure({ name: 'ConnectionError', code: 'ESOCKET', message: 'Connection lost - socket hang up', originalError: { cause: { code: 'ECONNRESET' } } }).unreachable, false);
  const agg = Object.assign(new AggregateError([Object.assign(new Error('connect EHOSTUNREACH'), { code: 'EHOSTUNREACH' })], 'Could not connect (sequence)'));
  assert.equal(classifyConnectFailure({ name: 'ConnectionError', code: 'ESOCKET', originalError: { cause: agg } }, 'h:1433'), {
    unreachable: true, reason: 'the TCP connection to h:1433 found no route to the host (EHOSTUNREACH)',
  });
  const mixed = new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), Object.assign(new Error('y'), { code: 'EPROTO' })], 'Could not connect (sequence)');
  assert.is(classifyConnectFailure({ name: 'ConnectionError', originalError: { cause: mixed } }).unreachable, false, 'one address answered with something else');
  assert.is(isConnectionLoss(new ReplicaConnectError('sqlServer', 'x', 'ESOCKET', { unreachable: false, reason: 'the TLS certificate was not accepted' })), false);
});

test('resolveTarget reads the roles once, caches them, and reads again after invalidateRoles', async () => {
  const run = createRunResources(lab.inventory, { env: lab.env });
  const roleQueries = () => lab.statements().filter((s) => /ag\.name = @link/.test(s.statement)).length;
  const before = roleQueries();
  assert.is(await run.resolveTarget('primary'), 'sqlServer');
  assert.is(await run.resolveTarget('secondary'), 'managedInstance');
  assert.is(await run.resolveTarget('managedInstance'), 'managedInstance');
  assert.is(roleQueries() - before, 2, 'one role query per replica');
  run.invalidateRoles();
  await run.resolveTarget('primary');
  assert.is(roleQueries() - before, 4);
  await run.close();
});

test('resolveTarget refuses on split-brain, naming what each replica said; a lone secondary resolves', async () => {
  const split = await startLab({ scenario: 'split-brain' });
  const run = createRunResources(split.inventory, { env: split.env });
  try {
    const error = await rejection(() => run.resolveTarget('primary'));
    assert.instance(error, StepRefusal);
    assert.is(error.message, 'Cannot resolve primary: both replicas say PRIMARY (split-brain): sqlServer says PRIMARY; managedInstance says PRIMARY.');
  } finally {
    await run.close();
    await split.stop();
  }
  const down = await startLab({ scenario: 'primary-down' });
  const run2 = createRunResources(down.inventory, { env: down.env });
  try {
    assert.is(await run2.resolveTarget('secondary'), 'managedInstance');
    const error = await rejection(() => run2.resolveTarget('primary'));
    assert.instance(error, StepRefusal);
    assert.match(error.message, /^Cannot resolve primary: no replica says PRIMARY \(sqlServer is unreachable \(Cannot connect to sqlServer at localhost:\d+: .*\); managedInstance says SECONDARY\)\.$/);
  } finally {
    await run2.close();
    await down.stop();
  }
});

test.run();
