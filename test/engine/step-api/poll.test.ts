// pollUntil, the wait that waitResynchronized and the example plugin share.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pollUntil } from '../../../engine/step-api/poll.js';

const never = new AbortController().signal;

test('returns what the look found, asking again every pollMs until then', async () => {
  let looks = 0;
  const started = Date.now();
  const found = await pollUntil({ timeoutMs: 5000, pollMs: 30, signal: never }, async () => (++looks === 3 ? 'there' : undefined), () => new Error('timed out'));
  assert.is(found, 'there');
  assert.is(looks, 3);
  assert.ok(Date.now() - started >= 60, 'two pauses');
});

test('after the timeout, throws what timedOut builds from the last look; the last pause is cut to the deadline', async () => {
  let last = 0;
  const started = Date.now();
  const error = await pollUntil({ timeoutMs: 300, pollMs: 30_000, signal: never }, async () => ((last += 1), undefined), () => new Error(`gave up after look ${last}`)).catch((e: Error) => e);
  const took = Date.now() - started;
  assert.instance(error, Error);
  assert.is((error as Error).message, 'gave up after look 2');
  assert.ok(took >= 300 && took < 2000, `took ${took} ms`);
});

test("a look's error ends the wait as it is; an interrupt ends it at once with the signal's reason", async () => {
  const refused = await pollUntil({ timeoutMs: 5000, pollMs: 10, signal: never }, async () => {
    throw new Error('refused');
  }, () => new Error('timed out')).catch((e: Error) => e);
  assert.is((refused as Error).message, 'refused');

  const controller = new AbortController();
  const pending = pollUntil({ timeoutMs: 60_000, pollMs: 60_000, signal: controller.signal }, async () => undefined, () => new Error('timed out'));
  const aborted = Date.now();
  setTimeout(() => controller.abort(new Error('Interrupted.')), 50);
  const error = await pending.catch((e: Error) => e);
  assert.is((error as Error).message, 'Interrupted.');
  assert.ok(Date.now() - aborted < 1000);
});

test.run();
