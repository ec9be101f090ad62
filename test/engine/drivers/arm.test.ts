// engine/drivers/arm/client.ts and engine/drivers/arm/lro.ts, link-action.ts and link-operation.ts with the real @azure/arm-sql 10.0.0 client over HTTPS
// against the lab's ARM endpoint: client construction, new-schema reads, typed errors, and the
// failover/setRole actions with their polling and their refusal to re-send blindly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ARM_SCOPE, createArmClient, getLinkDetails, parseLinkBody, retryOptionsFrom, scopeFor } from '../../../engine/drivers/arm/client.js';
import { linkIdsOf, linkUrl } from '../../../engine/drivers/arm/link-ids.js';
import { ArmAuthError, ArmNotFoundError, ArmOperationFailed, ArmRequestError, isLinkGone } from '../../../engine/drivers/arm/errors.js';
import { nextDelay, parseRetryAfter } from '../../../engine/drivers/arm/lro.js';
import { postLinkAction, type LinkActionProgress } from '../../../engine/drivers/arm/link-action.js';
import { resendSchedule } from '../../../engine/drivers/arm/operation-in-progress.js';
import { definitelyNotApplied, OutcomeUnknown } from '../../../engine/core/errors.js';
import { armFailure } from '../../../steps/support/arm-link.js';
import type { ArmFault, ArmOperation } from '../../../lab/arm/contract.js';
import { PlainArmBackend, sampleLink, startArmFixture, token, type ArmFixture } from '../../helpers/arm-backend.js';
import { fixtureInventory } from '../../helpers/arm-step-context.js';
import { sendArm } from '../../helpers/arm-lro.js';

let fx: ArmFixture;
test.before(async () => {
  fx = await startArmFixture({ lroDurationMs: 20, retryAfterSeconds: 0 });
});
test.after(async () => fx.close());

async function setup(linkOverrides: Parameters<typeof sampleLink>[1] = {}) {
  fx.backend.links.splice(0, fx.backend.links.length, sampleLink('dag_sales', linkOverrides));
  fx.backend.faults.clear();
  fx.backend.requests.length = 0;
  fx.backend.calls.length = 0;
  const { inventory, env } = await fixtureInventory(fx);
  const client = await createArmClient(inventory, env);
  return { inventory, env, client, ids: linkIdsOf(inventory) };
}

const fast = { pollIntervalMs: 10 };
const posts = () => fx.backend.requests.filter((r) => r.method === 'POST');

test('createArmClient names a missing token variable and never prints a value', async () => {
  const { inventory } = await setup();
  const err = await createArmClient(inventory, {}).then(() => undefined, (e: Error) => e);
  assert.ok(err);
  assert.match(err!.message, /LAB_ARM_TOKEN is not set/);
  const noName = await createArmClient({ ...inventory, arm: { ...inventory.arm, tokenEnv: undefined } }, { LAB_ARM_TOKEN: token }).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.match(noName!.message, /names no variable/);
});

test('createArmClient refuses http endpoints and unreadable CA files with a clear line', async () => {
  const { inventory, env } = await setup();
  const http = await createArmClient({ ...inventory, arm: { ...inventory.arm, endpoint: 'http://127.0.0.1:1' } }, env).catch((e: Error) => e);
  assert.match((http as Error).message, /must use https/);
  const ca = await createArmClient({ ...inventory, arm: { ...inventory.arm, caFile: '/nonexistent/ca.pem' } }, env).catch((e: Error) => e);
  assert.match((ca as Error).message, /Cannot read the ARM CA file \/nonexistent\/ca\.pem .*ENOENT/);
});

test('a wrong token gives a typed auth error that does not contain the token', async () => {
  const { inventory } = await setup();
  const wrong = 'wrong-token-value-123';
  const client = await createArmClient(inventory, { LAB_ARM_TOKEN: wrong });
  const err = await getLinkDetails(client, linkIdsOf(inventory)).catch((e: Error) => e);
  assert.instance(err, ArmAuthError);
  assert.is((err as ArmAuthError).status, 401);
  assert.is((err as ArmAuthError).code, 'AuthenticationFailed');
  assert.not.match((err as Error).message, wrong);
  assert.not.match((err as Error).message, token);
  assert.match((err as Error).message, /arm\.tokenEnv/);
});

test('getLinkDetails reads the new schema with exact LSN strings above 2^53', async () => {
  const lsn = '71000009408100001';
  const { client, ids } = await setup();
  const link = await getLinkDetails(client, ids);
  assert.is(link.name, 'dag_sales');
  assert.is(link.instanceLinkRole, 'Secondary');
  assert.is(link.partnerLinkRole, 'Primary');
  assert.is(link.replicationMode, 'Async');
  assert.is(link.databases[0].lastHardenedLsn, lsn);
  assert.ok(BigInt(lsn) > BigInt(Number.MAX_SAFE_INTEGER));
  const get = fx.backend.requests.find((r) => r.method === 'GET');
  assert.is(get?.apiVersion, '2025-01-01');
});

test('parseLinkBody keeps every digit even when an LSN arrives as a bare JSON number', () => {
  const body = '{"name":"d","properties":{"databases":[{"databaseName":"x","lastHardenedLsn":71000009408100001,"lastSentLsn":"71000009408100002"}]}}';
  const link = parseLinkBody(body);
  assert.is(link.databases[0].lastHardenedLsn, '71000009408100001');
  assert.is(link.databases[0].lastSentLsn, '71000009408100002');
});

test('a missing link is a typed not-found; a missing managed instance is not "link gone"', async () => {
  const { client, ids } = await setup();
  const gone = await getLinkDetails(client, { ...ids, name: 'nope' }).catch((e: Error) => e);
  assert.instance(gone, ArmNotFoundError);
  assert.ok(isLinkGone(gone));
  const parent = await getLinkDetails(client, { ...ids, managedInstance: 'other-mi' }).catch((e: Error) => e);
  assert.instance(parent, ArmNotFoundError);
  assert.is((parent as ArmNotFoundError).code, 'ParentResourceNotFound');
  assert.not.ok(isLinkGone(parent));
});

test('postLinkAction: planned failover is accepted, polled and returns the swapped roles', async () => {
  const { client, ids } = await setup({ replicationMode: 'Sync' });
  const seen: LinkActionProgress[] = [];
  const result = await postLinkAction(client, ids, 'failover', { failoverType: 'Planned' }, { ...fast, onProgress: (p) => seen.push(p) });
  assert.is(result.before.instanceLinkRole, 'Secondary');
  assert.is(result.after.instanceLinkRole, 'Primary');
  assert.is(result.after.partnerLinkRole, 'Secondary');
  assert.ok(result.polls >= 1);
  assert.is(seen[0].phase, 'accepted');
  assert.equal(fx.backend.calls, ['failover:dag_sales:Planned']);
  assert.is(posts().length, 1);
  assert.is(posts()[0].apiVersion, '2025-01-01');
});

test('postLinkAction: a refused precondition throws with the ARM code', async () => {
  const { client, ids } = await setup();
  fx.backend.links[0].databases[0].synchronizationHealth = 'NOT_HEALTHY';
  const err = await postLinkAction(client, ids, 'failover', { failoverType: 'Planned' }, fast).catch((e: Error) => e);
  assert.instance(err, ArmOperationFailed);
  assert.is((err as ArmRequestError).code, 'DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing');
  assert.is(fx.backend.links[0].instanceLinkRole, 'Secondary');
});

test('postLinkAction: a long-running operation that fails reports its code', async () => {
  const { client, ids } = await setup();
  fx.backend.queueFault('failover', { kind: 'lroFails', code: 'OperationTimedOut', message: 'The operation timed out.' });
  const err = await postLinkAction(client, ids, 'failover', { failoverType: 'Planned' }, fast).catch((e: Error) => e);
  assert.instance(err, ArmOperationFailed);
  assert.is((err as ArmOperationFailed).code, 'OperationTimedOut');
});

test('postLinkAction: after a 500 the POST is not re-sent by the pipeline; the link is read first, then sent again', async () => {
  const { client, ids } = await setup();
  fx.backend.queueFault('failover', { kind: 'status', status: 500, code: 'InternalServerError' });
  const seen: string[] = [];
  const result = await postLinkAction(client, ids, 'failover', { failoverType: 'Planned' }, { ...fast, onProgress: (p) => seen.push(p.phase) });
  assert.is(result.after.instanceLinkRole, 'Primary');
  assert.is(result.resends, 1);
  const log = fx.backend.requests.map((r) => `${r.method} ${r.status}`);
  const first = log.indexOf('POST 500');
  const second = log.indexOf('POST 202');
  assert.ok(first >= 0 && second > first, log.join(', '));
  assert.ok(log.slice(first + 1, second).includes('GET 200'), `a GET of the link sits between the POSTs: ${log.join(', ')}`);
  assert.is(posts().length, 2);
  assert.ok(seen.includes('checking') && seen.includes('resending'));
});

/** A backend whose failover "happens" although the front door answers 500 (or starts and stalls). */
class AmbiguousBackend extends PlainArmBackend {
  effect: 'swap' | 'inProgress' = 'swap';
  override nextFault(op: ArmOperation): ArmFault | undefined {
    if (op === 'failover' && this.faults.get('failover')?.length) {
      const link = this.links[0];
      if (this.effect === 'swap') [link.instanceLinkRole, link.partnerLinkRole] = [link.partnerLinkRole, link.instanceLinkRole];
      else link.databases[0].replicaState = 'LinkFailoverInProgress';
    }
    return super.nextFault(op);
  }
}

test('postLinkAction: a 500 after the failover took effect is success confirmed by state, with one POST', async () => {
  const backend = new AmbiguousBackend();
  const own = await startArmFixture({ backend, lroDurationMs: 20, retryAfterSeconds: 0 });
  try {
    const { inventory, env } = await fixtureInventory(own);
    const client = await createArmClient(inventory, env);
    backend.queueFault('failover', { kind: 'status', status: 500, code: 'InternalServerError' });
    const result = await postLinkAction(client, linkIdsOf(inventory), 'failover', { failoverType: 'Planned' }, fast);
    assert.ok(result.confirmedByState);
    assert.is(result.after.instanceLinkRole, 'Primary');
    assert.is(backend.requests.filter((r) => r.method === 'POST').length, 1);

    backend.effect = 'inProgress';
    backend.queueFault('failover', { kind: 'status', status: 500, code: 'InternalServerError' });
    // The link reports the operation in progress and never stops: waited for, then unknown.
    const waits: string[] = [];
    const err = await postLinkAction(client, linkIdsOf(inventory), 'failover', { failoverType: 'Planned' }, {
      ...fast,
      operationWaitMs: 150,
      onProgress: (p) => void (p.phase === 'waiting' && waits.push(p.status)),
    }).catch((e: Error) => e);
    assert.instance(err, OutcomeUnknown);
    assert.match((err as Error).message, /the link still reports LinkFailoverInProgress after \d+s; the failover may still complete\. Check the link/);
    assert.ok(waits.length > 0 && waits.every((w) => w === 'LinkFailoverInProgress'), waits.join(', '));
    assert.is(backend.requests.filter((r) => r.method === 'POST').length, 2);
  } finally {
    await own.close();
  }
});

test('postLinkAction: a 429 is re-sent by the pipeline (throttled requests were not acted on)', async () => {
  const { client, ids } = await setup();
  fx.backend.queueFault('setRole', { kind: 'status', status: 429, code: 'SubscriptionTooManyRequests', retryAfterSeconds: 0 });
  const result = await postLinkAction(client, ids, 'setRole', { instanceRole: 'Primary', roleChangeType: 'Forced' }, fast);
  assert.is(result.after.instanceLinkRole, 'Primary');
  assert.is(result.resends, 0);
  assert.equal(posts().map((p) => p.status), [429, 202]);
});

test('postLinkAction: interrupting while Azure runs the operation is an unknown outcome', async () => {
  const { client, ids } = await setup();
  const controller = new AbortController();
  const err = await postLinkAction(client, ids, 'failover', { failoverType: 'ForcedAllowDataLoss' }, {
    pollIntervalMs: 200,
    signal: controller.signal,
    onProgress: (p) => {
      if (p.phase === 'accepted') controller.abort();
    },
  }).catch((e: Error) => e);
  assert.instance(err, OutcomeUnknown);
  assert.match((err as Error).message, /Interrupted while Azure was running the failover request/);
});

test('postLinkAction: an operation already in progress is waited for; when it ends with the result, nothing is sent', async () => {
  const slow = await startArmFixture({ lroDurationMs: 20, retryAfterSeconds: 0 });
  try {
    const { inventory, env } = await fixtureInventory(slow);
    const client = await createArmClient(inventory, env);
    const ids = linkIdsOf(inventory);
    // Another request (the run killed before a --resume) started the failover; it is held in
    // progress until postLinkAction says it is waiting for it.
    slow.holdOperations(true);
    const first = await sendArm(client, 'POST', linkUrl(client, ids, '/failover'), { failoverType: 'Planned' });
    assert.is(first.status, 202);
    const phases: string[] = [];
    const result = await postLinkAction(client, ids, 'failover', { failoverType: 'Planned' }, {
      ...fast,
      onProgress: (p) => {
        phases.push(`${p.phase} ${p.status}`);
        if (p.phase === 'waiting') slow.holdOperations(false);
      },
    });
    assert.ok(result.confirmedByState);
    assert.is(result.before.instanceLinkRole, 'Secondary');
    assert.is(result.after.instanceLinkRole, 'Primary');
    assert.is(phases[0], 'waiting LinkFailoverInProgress');
    assert.equal(slow.backend.requests.filter((r) => r.method === 'POST').map((r) => r.status), [202], 'only the first request was sent');
    assert.equal(slow.backend.calls, ['failover:dag_sales:Planned'], 'one failover');
  } finally {
    await slow.close();
  }
});

test('postLinkAction: a 409 for an operation the link does not show (an update) is waited out, then sent again', async () => {
  const slow = await startArmFixture({ lroDurationMs: 20, retryAfterSeconds: 0 });
  try {
    const { inventory, env } = await fixtureInventory(slow);
    const client = await createArmClient(inventory, env);
    const ids = linkIdsOf(inventory);
    slow.holdOperations(true);
    const update = await client.distributedAvailabilityGroups.beginUpdate(ids.resourceGroup, ids.managedInstance, ids.name, { replicationMode: 'Sync' });
    const phases: string[] = [];
    // The update is held for 300 ms after the first refusal, then released.
    let release: NodeJS.Timeout | undefined;
    const result = await postLinkAction(client, ids, 'setRole', { instanceRole: 'Primary', roleChangeType: 'Forced' }, {
      ...fast,
      onProgress: (p) => {
        phases.push(`${p.phase} ${p.status}`);
        if (p.phase === 'waiting') release ??= setTimeout(() => slow.holdOperations(false), 300);
      },
    });
    await update.pollUntilDone();
    assert.is(result.after.instanceLinkRole, 'Primary');
    assert.not.ok(result.confirmedByState);
    const statuses = slow.backend.requests.filter((r) => r.method === 'POST').map((r) => r.status);
    assert.is(statuses[0], 409);
    assert.is(statuses.at(-1), 202);
    assert.ok(statuses.slice(0, -1).every((s) => s === 409), statuses.join(', '));
    // 300 ms of operation at a 10 ms poll interval: the POST only at 1, 2, 4... intervals.
    assert.ok(statuses.length <= 8, `re-sent now and then, not on every poll: ${statuses.join(', ')}`);
    assert.ok(phases.includes('waiting ConflictingServerOperation'), phases.join(', '));
    assert.equal(slow.backend.calls, ['update:dag_sales:Sync', 'setRole:dag_sales:Primary:Forced']);
  } finally {
    await slow.close();
  }
});

test('postLinkAction: a failed read before the POST is marked as nothing sent; armFailure says so', async () => {
  const { client, ids } = await setup();
  // The first attempt and the pipeline's three retries.
  const unavailable: ArmFault = { kind: 'status', status: 503, code: 'ServiceUnavailable', retryAfterSeconds: 0 };
  fx.backend.queueFault('get', unavailable, unavailable, unavailable, unavailable);
  const err = await postLinkAction(client, ids, 'failover', { failoverType: 'Planned' }, fast).catch((e: Error) => e);
  assert.instance(err, ArmRequestError);
  assert.is(posts().length, 0);
  const failure = armFailure(err, 'fail over', 'dag_sales');
  assert.ok(definitelyNotApplied(failure), 'nothing was sent, so nothing changed');
  assert.match(failure.message, /^Nothing was sent to fail over link dag_sales: reading it first failed with HTTP 503 ServiceUnavailable/);
  fx.backend.faults.clear();
});

test('credential default: DefaultAzureCredential with the Resource Manager scope, built lazily', async () => {
  const { inventory } = await setup();
  const client = await createArmClient({ ...inventory, arm: { endpoint: 'https://management.azure.com' } }, {});
  assert.ok(client.distributedAvailabilityGroups);
  const names = client.pipeline.getOrderedPolicies().map((p) => p.name);
  assert.ok(names.includes('bearerTokenAuthenticationPolicy'));
  assert.ok(names.includes('runbookNoResend'));
  assert.is(scopeFor('https://management.azure.com'), ARM_SCOPE);
  assert.is(scopeFor('https://management.usgovcloudapi.net/'), 'https://management.usgovcloudapi.net/.default');
});

test('retry options come from RUNBOOK_ARM_* or the caller; bad values are named', () => {
  assert.equal(retryOptionsFrom({}), {});
  assert.equal(retryOptionsFrom({ RUNBOOK_ARM_MAX_RETRIES: '1', RUNBOOK_ARM_RETRY_DELAY_MS: '5' }), { maxRetries: 1, retryDelayInMs: 5 });
  assert.equal(retryOptionsFrom({ RUNBOOK_ARM_MAX_RETRIES: '1' }, { maxRetries: 0 }), { maxRetries: 0 });
  assert.throws(() => retryOptionsFrom({ RUNBOOK_ARM_RETRY_DELAY_MS: 'soon' }), /RUNBOOK_ARM_RETRY_DELAY_MS must be a whole number/);
});

test('resendSchedule: after a refusal for an operation in progress, send again at 1, 2, 4... intervals, at most a minute apart', () => {
  let now = 0;
  const schedule = resendSchedule(1000, () => now);
  const due: number[] = [];
  for (now = 0; now <= 200_000; now += 500) if (schedule.due()) due.push(now);
  assert.equal(due.slice(0, 7), [1000, 3000, 7000, 15_000, 31_000, 63_000, 123_000]);
  assert.is(due[7], 183_000, 'capped at a minute');
});

test('Retry-After parsing and the poll delay', () => {
  assert.is(parseRetryAfter('3'), 3000);
  assert.is(parseRetryAfter(undefined), undefined);
  assert.is(parseRetryAfter('garbage'), undefined);
  assert.is(parseRetryAfter(new Date(10_000).toUTCString(), 5_000), 5_000);
  assert.is(nextDelay(undefined, { pollIntervalMs: 10 }), 10);
  assert.is(nextDelay(3000, { pollIntervalMs: 10 }), 3000);
  assert.is(nextDelay(3000, { pollIntervalMs: 10, maxPollDelayMs: 50 }), 50);
  assert.is(nextDelay(0, {}), 2000);
});

test.run();
