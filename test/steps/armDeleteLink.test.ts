// armDeleteLink with the real @azure/arm-sql client against the lab (startLab): deletes,
// is idempotent, reports progress, fails with the ARM code, rides out a 429; its impact depends
// on an earlier LSN-stable wait; and importing it loads no @azure package.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import definition from '../../steps/armDeleteLink.js';
import { StepFailure } from '../../engine/core/errors.js';
import { definitelyNotApplied, OutcomeUnknown } from '../../engine/core/errors.js';
import type { StepHistoryEntry } from '../../engine/step-api/types.js';
import { armStepContext, azureModulesLoadedBy, labWorldPerTest } from '../helpers/arm-step-context.js';
import { stepTester, unknown } from '../helpers/step-tester.js';

const lab = labWorldPerTest(test);

const fast = { pollInterval: '10ms' };
const wait = (state: StepHistoryEntry['state']): StepHistoryEntry => ({ id: 'caught-up', type: 'waitLsnStable', state });

stepTester.run(definition, {
  valid: [{}, { pollInterval: '30s' }, { with: { pollInterval: '{{inputs.poll}}' }, inputs: { poll: { type: 'string', default: '1s' } } }],
  invalid: [
    { with: { pollInterval: 'soon' }, errors: [{ code: 'bad-duration', path: '/with/pollInterval' }] },
    { with: { pollInterval: 5 }, errors: [{ code: 'wrong-type', path: '/with/pollInterval' }] },
    { with: { pollInterval: '{{inputs.nope}}' }, errors: [{ code: 'undefined-variable', path: '/with/pollInterval' }] },
    { with: {}, target: 'managedInstance', errors: [{ code: 'target-not-allowed', path: '/target' }] },
  ],
  plan: [
    {
      name: 'without a preceding wait: data loss',
      with: {},
      history: [],
      impact: 'dataLoss',
      summary: 'DELETE link dag1 on sqlmi1 (rg-runbook-lab/00000000-0000-4000-8000-00000000ab01) via ARM, polling every 10s',
      guards: ['DATA LOSS: no LSN-stable wait precedes this step.', 'A link that is already gone counts as success.'],
    },
    {
      name: 'with a wait before it: a change',
      with: { pollInterval: '30s' },
      history: [wait('will-run')],
      impact: 'change',
      summary: /polling every 30s$/,
      guards: ['Waits for LSN stability earlier in this run.', 'A link that is already gone counts as success.'],
    },
    {
      name: 'no history given, an interval known after apply',
      with: { pollInterval: unknown('inputs.x') },
      summary: /\(known after apply\)/,
      guards: [/DATA LOSS unless a waitLsnStable step succeeds/, 'A link that is already gone counts as success.'],
    },
  ],
  impact: [
    { with: {}, history: [], impact: 'dataLoss' },
    { with: {}, history: [wait('will-run')], impact: 'change' },
    { with: {}, history: [wait('succeeded')], impact: 'change' },
    { with: {}, history: [wait('may-run')], impact: 'dataLoss' },
    { with: {}, history: [wait('failed')], impact: 'dataLoss' },
    { with: {}, history: [wait('skipped')], impact: 'dataLoss' },
    { with: {}, history: [{ id: 'x', type: 'sqlExec', state: 'succeeded' }], impact: 'dataLoss' },
  ],
});

test('definition: impact depends on the steps before; pollInterval is a duration; no target', () => {
  assert.type(definition.impact, 'function');
  assert.is((definition.with.properties as Record<string, { format?: string }>).pollInterval!.format, 'duration');
  assert.is(definition.target, 'none');
});

test('deletes the link on the managed instance side and shows progress while it runs', async () => {
  const world = await lab({ lroDurationMs: 150 });
  const ctx = armStepContext(world.inventory, world.env);
  const out = await definition.run(ctx, fast);
  assert.equal(out, { deleted: true, alreadyGone: false });
  assert.is(world.link(), undefined, 'the lab model shows the link gone on the managed instance side');
  assert.ok(ctx.logs.progress.some((m) => m.startsWith('Azure accepted the delete of link dag1 on sqlmi1')), ctx.logs.progress.join('\n'));
  const polls = ctx.logs.progress.filter((m) => /^Deleting link dag1 .*: running after \d+\.\ds\.$/.test(m));
  assert.ok(polls.length >= 2, ctx.logs.progress.join('\n'));
  assert.ok(ctx.logs.progress.some((m) => m.startsWith('Link dag1 on sqlmi1') && m.includes('deleted after')));
  const deletes = world.requests().filter((r) => r.method === 'DELETE');
  assert.is(deletes.length, 1);
});

test('is idempotent: a second run finds the link gone and succeeds', async () => {
  const world = await lab();
  await definition.run(armStepContext(world.inventory, world.env), fast);
  const ctx = armStepContext(world.inventory, world.env);
  const out = await definition.run(ctx, fast);
  assert.equal(out, { deleted: false, alreadyGone: true });
  assert.match(ctx.logs.progress.join('\n'), /is already gone; nothing to delete\./);
  assert.is(world.requests().filter((r) => r.method === 'DELETE').length, 1, 'no second DELETE is sent');
});

test('a link that vanishes between the check and the DELETE (ARM answers 204) is success, reported as already gone', async () => {
  const labWorld = await lab();
  const ctx = armStepContext(labWorld.inventory, labWorld.env);
  let vanished = false;
  // Someone else removes the link right after the step saw it (the real client, a policy on its pipeline).
  (await ctx.client()).pipeline.addPolicy({
    name: 'link-vanishes-after-first-get',
    sendRequest: async (request, next) => {
      const response = await next(request);
      if (request.method === 'GET' && !vanished) {
        vanished = true;
        labWorld.lab.link().removeDag('managedInstance');
      }
      return response;
    },
  });
  const out = await definition.run(ctx, fast);
  assert.equal(out, { deleted: false, alreadyGone: true });
  assert.equal(labWorld.requests().filter((r) => r.method === 'DELETE').map((r) => r.status), [204]);
  assert.match(ctx.logs.progress.join('\n'), /is already gone; nothing to delete\./);
});

test('a long-running delete that fails fails the step with the ARM code', async () => {
  const world = await lab({ faults: [{ kind: 'armLroFails', op: 'delete', code: 'ManagedInstanceIsBusy', message: 'The managed instance is busy with another operation.' }] });
  const err = await definition.run(armStepContext(world.inventory, world.env), fast).catch((e: Error) => e);
  assert.instance(err, StepFailure);
  assert.is((err as StepFailure).messageId, 'armOperationFailed');
  assert.is((err as StepFailure).data.code, 'ManagedInstanceIsBusy');
  assert.match((err as Error).message, /ManagedInstanceIsBusy/);
  assert.ok(world.link(), 'the link is still there');
});

test('an ARM 429 once is retried transparently', async () => {
  const world = await lab({ faults: [{ kind: 'armStatus', op: 'delete', status: 429, retryAfterSeconds: 0 }] });
  const out = await definition.run(armStepContext(world.inventory, world.env), fast);
  assert.equal(out, { deleted: true, alreadyGone: false });
  assert.equal(world.requests().filter((r) => r.method === 'DELETE').map((r) => r.status), [429, 202]);
});

test('a DELETE throttled until the retries ran out, nothing else before it: refused up front, nothing changed', async () => {
  const world = await lab({ faults: [{ kind: 'armStatus', op: 'delete', status: 429, retryAfterSeconds: 0, count: 4 }] });
  const err = await definition.run(armStepContext(world.inventory, world.env), fast).catch((e: Error) => e);
  assert.equal(world.requests().filter((r) => r.method === 'DELETE').map((r) => r.status), [429, 429, 429, 429]);
  assert.is((err as StepFailure).messageId, 'armRefused');
  assert.ok(definitelyNotApplied(err), (err as Error).message);
  assert.ok(world.link(), 'the link is still there');
});

test('a DELETE the pipeline re-sent after a 500, then throttled: not "refused up front" (the first may have acted) (attack r7fix finding 14)', async () => {
  const world = await lab({
    faults: [
      { kind: 'armStatus', op: 'delete', status: 500, count: 1 },
      { kind: 'armStatus', op: 'delete', status: 429, retryAfterSeconds: 0, count: 3 },
    ],
  });
  const err = await definition.run(armStepContext(world.inventory, world.env), fast).catch((e: Error) => e);
  assert.equal(world.requests().filter((r) => r.method === 'DELETE').map((r) => r.status), [500, 429, 429, 429]);
  assert.instance(err, StepFailure);
  assert.not.ok(definitelyNotApplied(err), `a 500 answered the first DELETE: ${(err as Error).message}`);
});

test('a 429 on the read after Azure accepted and finished the delete: unknown outcome, never "refused" (attack r7fix finding 14)', async () => {
  const world = await lab();
  const ctx = armStepContext(world.inventory, world.env);
  const origProgress = ctx.log.progress;
  ctx.log.progress = (m) => {
    origProgress(m);
    // Polls are not reads of the link: the first GET of the link after this is the step's check.
    if (m.startsWith('Azure accepted')) world.lab.addFault({ kind: 'armStatus', op: 'get', status: 429, retryAfterSeconds: 0, count: 4 });
  };
  const err = await definition.run(ctx, fast).catch((e: Error) => e);
  assert.instance(err, OutcomeUnknown);
  assert.match((err as Error).message, /^Azure accepted the delete of link dag1 on \S+ \S+, but following it failed: .*HTTP 429 SubscriptionTooManyRequests.* It may have been carried out/);
  assert.not.ok(definitelyNotApplied(err));
  assert.equal(world.requests().filter((r) => r.method === 'DELETE').map((r) => r.status), [202]);
  assert.not.ok(world.link(), 'the link was deleted');
});

test('a wrong token fails with a clear message that does not contain the token', async () => {
  const world = await lab();
  const wrong = 'not-the-lab-token-987';
  const err = await definition.run(armStepContext(world.inventory, { ...world.env, LAB_ARM_TOKEN: wrong }), fast).catch((e: Error) => e);
  assert.instance(err, StepFailure);
  assert.is((err as StepFailure).messageId, 'armAuthFailed');
  assert.not.match((err as Error).message, wrong);
  assert.not.match(JSON.stringify((err as StepFailure).data), wrong);
  assert.ok(world.link());
});

test('an interrupt while Azure deletes is an unknown outcome', async () => {
  const world = await lab({ lroDurationMs: 500 });
  const ctx = armStepContext(world.inventory, world.env);
  const origProgress = ctx.log.progress;
  ctx.log.progress = (m) => {
    origProgress(m);
    if (m.startsWith('Azure accepted')) ctx.abort();
  };
  const err = await definition.run(ctx, { pollInterval: '200ms' }).catch((e: Error) => e);
  assert.instance(err, OutcomeUnknown);
  assert.match((err as Error).message, /may still complete/);
});

test('importing the step module loads no @azure package (validate and plan stay driver-free)', async () => {
  const here = fileURLToPath(new URL('../../steps/armDeleteLink.js', import.meta.url));
  const result = await azureModulesLoadedBy(here);
  assert.is(result.error, undefined, result.error);
  assert.equal(result.loaded, []);
  // The probe itself works: importing the client package is seen.
  const control = await azureModulesLoadedBy(createRequire(import.meta.url).resolve('@azure/arm-sql'));
  assert.is(control.error, undefined, control.error);
  assert.ok(control.loaded.length > 0, 'the probe sees @azure modules when they are loaded');
});

test.run();
