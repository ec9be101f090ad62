// Scenario faults that need a clock: a replica down for a window (refusing, or accepting and never
// answering) and back after it, a replica that goes down under an open session; ARM 500s through
// the real client's retries; the new api-version's list and PATCH against the link model.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SqlManagementClient } from '@azure/arm-sql';
import type { RestError } from '@azure/core-rest-pipeline';
import type { Lab } from '../../lab/index.js';
import { createConnection } from 'node:net';
import { LAB_RESOURCE_GROUP, LAB_SUBSCRIPTION } from '../../lab/model/names.js';
import { sendArm } from '../helpers/arm-lro.js';
import { connect, poll, run, withStartedLab } from '../helpers/lab.js';

const connectError = (lab: Lab, side: 'sqlServer' | 'managedInstance') =>
  connect(lab, side).then(async (p) => (await p.close(), undefined), (e: Error & { code?: string }) => e);

test('replicaDown windows: refuse and hang until untilMs, then the replicas answer again', () =>
  withStartedLab({
    overrides: {
      faults: [
        { kind: 'replicaDown', replica: 'managedInstance', fromMs: 0, untilMs: 1500 },
        { kind: 'replicaDown', replica: 'sqlServer', mode: 'hang', fromMs: 0, untilMs: 1500 },
      ],
    },
  }, async (lab) => {
    const refused = await connectError(lab, 'managedInstance');
    assert.ok(refused, 'refused inside the window');
    assert.is(refused!.code, 'ESOCKET');
    const t0 = Date.now();
    const hung = await connectError(lab, 'sqlServer');
    assert.ok(hung, 'never answered inside the window');
    assert.is(hung!.code, 'ETIMEOUT');
    assert.ok(Date.now() - t0 >= 2500, 'the client gave up on its own connect timeout, not on a refusal');
    for (const side of ['managedInstance', 'sqlServer'] as const) {
      const pool = await poll(() => connect(lab, side).catch(() => undefined), 8000, 100);
      const [[row]] = await run(pool, 'SELECT @@SERVERNAME AS s');
      assert.is(row.s, side === 'sqlServer' ? 'sql01' : 'sqlmi1');
      await pool.close();
    }
  }));

test('replicaDown from fromMs: an open session is dropped on its next request, new ones are refused', () =>
  withStartedLab({ overrides: { faults: [{ kind: 'replicaDown', replica: 'sqlServer', fromMs: 1200 }] } }, async (lab) => {
    const pool = await connect(lab, 'sqlServer');
    const [[row]] = await run(pool, 'SELECT 1 AS up');
    assert.is(row.up, 1, 'up before fromMs');
    const err = await poll(() => pool.request().query('SELECT 1 AS up').then(() => undefined, (e: Error) => e), 8000, 100);
    assert.match(String((err as Error & { code?: string }).code ?? err.message), /ECONNRESET|ESOCKET|ECONNCLOSED|closed/i);
    assert.ok(await connectError(lab, 'sqlServer'), 'refused after fromMs');
    await pool.close().catch(() => {});
  }));

/** A bare TCP connect: 'connected', or the socket error's code. */
const tcpConnect = (port: number) =>
  new Promise<string>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve('connected')));
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });

test('a replica down refuses the TCP connect itself (ECONNREFUSED), as a stopped server does; back up, it listens on the same port', () =>
  withStartedLab({ overrides: { faults: [{ kind: 'replicaDown', replica: 'managedInstance', fromMs: 0, untilMs: 800 }] } }, async (lab) => {
    const mi = lab.endpoints.links[0].managedInstance.port;
    const sqlPort = lab.endpoints.links[0].sqlServer.port;
    assert.is(await tcpConnect(mi), 'ECONNREFUSED', 'inside the scenario window');
    await poll(async () => ((await tcpConnect(mi)) === 'connected' ? true : undefined), 5000, 50);
    lab.setDown('sqlServer', true);
    assert.is(await tcpConnect(sqlPort), 'ECONNREFUSED', 'setDown: refused at once');
    lab.setDown('sqlServer', false);
    assert.is(await tcpConnect(sqlPort), 'connected', 'setDown(false): listening again at once');
    const pool = await connect(lab, 'sqlServer');
    await pool.close();
  }));

function client(lab: Lab): SqlManagementClient {
  const token = lab.env.LAB_ARM_TOKEN;
  return new SqlManagementClient({ getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3.6e6 }) }, LAB_SUBSCRIPTION, {
    endpoint: lab.endpoints.arm,
    tlsOptions: { ca: lab.ca },
    retryOptions: { maxRetries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 20 },
  });
}

const url = (lab: Lab, name = '/dag1', api = '2025-01-01') =>
  `${lab.endpoints.arm}/subscriptions/${LAB_SUBSCRIPTION}/resourceGroups/${LAB_RESOURCE_GROUP}/providers/Microsoft.Sql` +
  `/managedInstances/sqlmi1/distributedAvailabilityGroups${name}?api-version=${api}`;

test('ARM 500s: retried by the client, then a RestError 500 InternalServerError; the next GET works', () =>
  withStartedLab({ overrides: { arm: { lroDurationMs: 40, retryAfterSeconds: 0 }, faults: [{ kind: 'armStatus', op: 'get', status: 500, count: 3 }] } }, async (lab) => {
    const c = client(lab);
    const e = (await c.distributedAvailabilityGroups.get(LAB_RESOURCE_GROUP, 'sqlmi1', 'dag1').then(() => undefined, (x: RestError) => x))!;
    assert.ok(e, 'the GET fails');
    assert.is(e.statusCode, 500);
    assert.is(e.code, 'InternalServerError');
    assert.equal(lab.armRequests().map((r) => r.status), [500, 500, 500], 'the client retried twice');
    assert.is((await c.distributedAvailabilityGroups.get(LAB_RESOURCE_GROUP, 'sqlmi1', 'dag1')).name, 'dag1');
  }));

test('api-version 2025-01-01: list and PATCH (202 + Location + Retry-After) change the link model', () =>
  withStartedLab({ links: 1, overrides: { arm: { lroDurationMs: 40, retryAfterSeconds: 1 } } }, async (lab) => {
    const c = client(lab);
    const list = (await sendArm(c, 'GET', url(lab, ''))).body as { value: Array<{ name: string; properties: Record<string, unknown> }> };
    assert.equal(list.value.map((v) => [v.name, v.properties.instanceLinkRole]), [['dag1', 'Secondary']]);
    const accepted = await sendArm(c, 'PATCH', url(lab), { properties: { replicationMode: 'Sync' } });
    assert.is(accepted.status, 202);
    assert.is(accepted.headers['retry-after'], '1');
    const location = accepted.headers.location;
    assert.match(location, /^https:\/\/localhost:\d+\/subscriptions\/.*api-version=2025-01-01/);
    const done = await poll(async () => {
      const r = await sendArm(c, 'GET', location);
      return r.status === 200 ? r : undefined;
    }, 5000, 20);
    assert.is((done.body as { properties: { replicationMode: string } }).properties.replicationMode, 'Sync');
    // ARM changes the MI's copy of the DAG only; SQL Server's copy stays as T-SQL left it.
    assert.is(lab.link().miReplicationMode, 'Sync');
    assert.equal(lab.link().sqlServerModes, { sqlServer: 'ASYNCHRONOUS_COMMIT', managedInstance: 'ASYNCHRONOUS_COMMIT' });
  }));

test.run();
