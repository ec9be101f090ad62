import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scheduleWave, worstExitCode } from '../../../engine/fleet/schedule.js';

const links = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `l${i + 1}` }));

/** A runLink that records how many run at once and ends each link when the test says. */
function runner(codes: Record<string, number> = {}) {
  let running = 0;
  let peak = 0;
  const order: string[] = [];
  const run = async (l: { name: string }) => {
    order.push(l.name);
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setImmediate(r));
    running--;
    return codes[l.name] ?? 0;
  };
  return { run, order, peak: () => peak };
}

test('at most --parallel links run at once, in the fleet\'s order', async () => {
  const r = runner();
  const out = await scheduleWave(links(7), { parallel: 3, canary: 0 }, r.run);
  assert.is(r.peak(), 3);
  assert.equal(r.order, ['l1', 'l2', 'l3', 'l4', 'l5', 'l6', 'l7']);
  assert.equal(out.notStarted, []);
  assert.is(out.stoppedBy, undefined);
});

test('the canary runs alone to its end; a failing canary starts nothing else', async () => {
  const r = runner({ l2: 4 });
  const out = await scheduleWave(links(5), { parallel: 5, canary: 2 }, r.run);
  assert.equal(r.order, ['l1', 'l2']);
  assert.equal(out.notStarted, ['l3', 'l4', 'l5']);
  assert.is(out.stoppedBy, 'canary');
  const ok = runner();
  await scheduleWave(links(5), { parallel: 5, canary: 2 }, ok.run);
  assert.is(ok.peak(), 3, 'after the canary, the rest run together');
});

test('--max-failures M: no new link after the Mth failure; running ones finish', async () => {
  const r = runner({ l1: 3, l2: 3 });
  const out = await scheduleWave(links(6), { parallel: 2, canary: 0, maxFailures: 2 }, r.run);
  // l1 failed first (1 of 2): its worker started l3; then l2 failed (2 of 2) and nothing more started.
  assert.equal(r.order, ['l1', 'l2', 'l3']);
  assert.equal(out.notStarted, ['l4', 'l5', 'l6']);
  assert.is(out.stoppedBy, 'max-failures');
  const one = runner({ l1: 3 });
  const partly = await scheduleWave(links(4), { parallel: 2, canary: 0, maxFailures: 1 }, one.run);
  assert.equal(one.order, ['l1', 'l2'], 'l2 was already running when l1 failed: it finishes');
  assert.equal(partly.notStarted, ['l3', 'l4']);
});

test('an interrupt stops starting links', async () => {
  let stop = false;
  const out = await scheduleWave(links(4), { parallel: 1, canary: 0, stopped: () => stop }, async () => ((stop = true), 0));
  assert.equal(out.notStarted, ['l2', 'l3', 'l4']);
  assert.is(out.stoppedBy, 'interrupted');
});

test('the wave\'s exit code is the worst link\'s', () => {
  assert.is(worstExitCode([0, 3, 0]), 3);
  assert.is(worstExitCode([3, 4, 1]), 4);
  assert.is(worstExitCode([4, 5]), 5);
  assert.is(worstExitCode([2, 1]), 1);
  assert.is(worstExitCode([3, 130]), 130);
  assert.is(worstExitCode([]), 0);
});

test.run();
