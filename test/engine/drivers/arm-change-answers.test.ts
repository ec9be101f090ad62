// What an ARM error says about a change, by the request it answered (attack r7fix finding 14).
// Each request of a link action (the read before, the PATCH/POST itself, the status polls, the read
// after) gets a 429 that outlasts the pipeline's retries, or a 500, from the lab's ARM endpoint; the
// real @azure/arm-sql client meets it. Only the change request's own answer, with nothing sent
// before it that may have acted, may count as "refused, nothing changed"
// (definitelyNotApplied): anything after ARM accepted it is an unknown outcome.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createArmClient } from '../../../engine/drivers/arm/client.js';
import { linkIdsOf } from '../../../engine/drivers/arm/link-ids.js';
import { postLinkAction, type LinkAction, type LinkActionBody } from '../../../engine/drivers/arm/link-action.js';
import { definitelyNotApplied, OutcomeUnknown } from '../../../engine/core/errors.js';
import { armFailure } from '../../../steps/support/arm-link.js';
import type { ArmFault, ArmLink, ArmOperation } from '../../../lab/arm/contract.js';
import { sampleLink, startArmFixture, type ArmFixture } from '../../helpers/arm-backend.js';
import { fixtureInventory } from '../../helpers/arm-step-context.js';

let fx: ArmFixture;
test.before(async () => {
  fx = await startArmFixture({ lroDurationMs: 20, retryAfterSeconds: 0 });
});
test.after(async () => fx.close());

const throttled: ArmFault = { kind: 'status', status: 429, code: 'SubscriptionTooManyRequests', retryAfterSeconds: 0 };
const failing: ArmFault = { kind: 'status', status: 500, code: 'InternalServerError' };
/** The first attempt and the pipeline's three retries (fastRetryEnv keeps Azure's count). */
const outlasting = (fault: ArmFault) => [fault, fault, fault, fault];

/** `done`: the link shows the action carried out. */
const actions: Array<{ action: LinkAction; body: LinkActionBody; op: ArmOperation; done: (link: ArmLink) => boolean }> = [
  { action: 'failover', body: { failoverType: 'ForcedAllowDataLoss' }, op: 'failover', done: (l) => l.instanceLinkRole === 'Primary' },
  { action: 'setRole', body: { instanceRole: 'Primary', roleChangeType: 'Forced' }, op: 'setRole', done: (l) => l.instanceLinkRole === 'Primary' },
  { action: 'update', body: { properties: { replicationMode: 'Sync' } }, op: 'update', done: (l) => l.replicationMode === 'Sync' },
];

let attempts = 0;

/**
 * Runs `action` on a new link with `faults` queued up front, and `afterAccepted` queued once ARM
 * accepted the request (so a 'get' fault meets the read after, not the read before).
 */
async function attempt(a: (typeof actions)[number], faults: Array<[ArmOperation, ArmFault[]]>, afterAccepted: Array<[ArmOperation, ArmFault[]]> = []) {
  // A link of its own: an earlier attempt's operation, left running, may still end during this one.
  const link = sampleLink(`dag_${++attempts}`);
  assert.not.ok(a.done(link), 'the action is not done on a new link');
  fx.backend.links.splice(0, fx.backend.links.length, link);
  fx.backend.faults.clear();
  fx.backend.requests.length = 0;
  fx.backend.calls.length = 0;
  for (const [op, list] of faults) fx.backend.queueFault(op, ...list);
  const { inventory, env } = await fixtureInventory(fx, link.name);
  const client = await createArmClient(inventory, env);
  const error = await postLinkAction(client, linkIdsOf(inventory), a.action, a.body, {
    pollIntervalMs: 10,
    onProgress: (p) => {
      if (p.phase === 'accepted') for (const [op, list] of afterAccepted) fx.backend.queueFault(op, ...list);
    },
  }).then(
    () => undefined,
    (e: Error) => e,
  );
  fx.backend.faults.clear();
  const changes = fx.backend.requests.filter((r) => r.method !== 'GET');
  return { error, failure: error && armFailure(error, a.action, 'dag_sales'), changes, acted: a.done(link) };
}

for (const a of actions) {
  test(`${a.action}: a 429 or a 500 on the read before the request: nothing sent, definitely not applied`, async () => {
    for (const fault of [throttled, failing]) {
      const r = await attempt(a, [['get', outlasting(fault)]]);
      assert.ok(r.error, `${fault.status}: it fails`);
      assert.equal(r.changes, [], `${fault.status}: nothing sent`);
      assert.ok(definitelyNotApplied(r.failure), `${fault.status}: ${r.failure?.message}`);
    }
  });

  test(`${a.action}: a 429 answering the request itself (all its attempts throttled): refused up front, definitely not applied`, async () => {
    const r = await attempt(a, [[a.op, outlasting(throttled)]]);
    assert.ok(r.changes.length > 0 && r.changes.every((x) => x.status === 429), r.changes.map((x) => x.status).join(', '));
    assert.not.ok(r.acted);
    assert.ok(definitelyNotApplied(r.failure), r.failure?.message);
    assert.match(r.failure!.message, /^ARM refused to \w+ link dag_sales: SubscriptionTooManyRequests/);
  });

  test(`${a.action}: a 429 on the re-send after a 500 (the first may have acted): not a refusal`, async () => {
    const r = await attempt(a, [[a.op, [failing, ...outlasting(throttled)]]]);
    assert.equal(r.changes.map((x) => x.status), [500, 429, 429, 429, 429]);
    assert.ok(r.failure, 'it fails');
    assert.not.ok(definitelyNotApplied(r.failure), `the first request got a 500 and may have acted: ${r.failure!.message}`);
  });

  for (const fault of [throttled, failing]) {
    test(`${a.action}: a ${fault.status} on every status poll after ARM accepted it: unknown outcome, never "failed" or "refused"`, async () => {
      const r = await attempt(a, [], [['poll', outlasting(fault)]]);
      assert.equal(r.changes.map((x) => x.status), [202]);
      assert.instance(r.error, OutcomeUnknown);
      assert.match(r.error!.message, new RegExp(`^ARM answered a status poll with HTTP ${fault.status} ${fault.code} while Azure was running`));
      assert.not.ok(definitelyNotApplied(r.failure));
    });

    test(`${a.action}: a ${fault.status} on the read of the link after the operation completed: unknown outcome, not "refused"`, async () => {
      const r = await attempt(a, [], [['get', outlasting(fault)]]);
      assert.equal(r.changes.map((x) => x.status), [202]);
      assert.ok(r.acted, 'the change was carried out');
      assert.instance(r.error, OutcomeUnknown, r.error?.message);
      assert.match(r.error!.message, new RegExp(`^Azure accepted the ${a.action} request for link dag_\\d+ .*, but following it failed: .*HTTP ${fault.status} ${fault.code}`));
      assert.not.ok(definitelyNotApplied(r.failure), r.failure?.message);
    });
  }
}

test.run();
