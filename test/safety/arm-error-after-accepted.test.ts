// A built-in ARM change that Azure accepted and carried out, whose read of the link afterwards is
// throttled past the client's retries (attack r7fix finding 14): the run must never say "ARM
// refused ... Nothing was changed" (exit 1), and `retry:` must never post the failover again. The
// engine verifies what it can (expectInstanceRole: done, exit 0) and otherwise reports an unknown
// outcome (exit 5). `runbook apply` in a child process, as an operator runs it; the lab's ARM
// request log is the record of what Azure was asked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChildLab } from '../helpers/child-runs.js';

// One answer per request: a single 429 outlasts the client's retries.
process.env.RUNBOOK_ARM_MAX_RETRIES = '0';

/** Forced failover of dag1 with `retry:`, its POST's answer held (it acted) while a 429 is armed for the next read of the link. */
async function failoverThenThrottledRead(withBlock: string, extra: string[]) {
  const lab = await ChildLab.start();
  const file = join(lab.dir, 'forced.yml');
  writeFileSync(
    file,
    `name: forced\ndescription: One forced failover through ARM.\ninputs: {}\nsteps:\n  - id: fo\n    type: armFailoverLink\n    retry: { count: 1, delay: 100ms }\n    with: ${withBlock}\n`,
  );
  try {
    const { pin, run, runId } = await lab.applyHeld(file, ['--allow-data-loss', 'dag1', ...extra], { arm: true, match: /failover/, after: true });
    lab.lab.addFault({ kind: 'armStatus', op: 'get', status: 429, retryAfterSeconds: 0, count: 1 });
    pin.release();
    const r = await run.done;
    const posts = lab.lab.armRequests().filter((x) => x.method === 'POST').map((x) => x.status);
    return { r, posts, records: lab.records(runId), roles: lab.roles() };
  } finally {
    await lab.stop();
  }
}

test('429 on the read after a completed forced failover, no way to verify: exit 5, "May have changed", one POST, never "Nothing was changed"', async () => {
  const { r, posts, records, roles } = await failoverThenThrottledRead('{ failoverType: ForcedAllowDataLoss, pollInterval: 50ms }', ['--outcome-timeout', '1s']);
  const out = r.stdout + r.stderr;
  assert.is(r.code, 5, out);
  assert.equal(posts, [202], 'the failover was posted once');
  assert.is(roles.managedInstance, 'PRIMARY');
  assert.match(out, /reported it done, but reading the link afterwards failed with HTTP 429 SubscriptionTooManyRequests/);
  assert.match(out, /May have changed: fo/);
  assert.not.match(out, /Nothing was changed|ARM refused to fail over|will retry/);
  const failed = records.filter((x) => x.kind === 'step-failed');
  assert.is(failed.length, 1, JSON.stringify(failed));
  assert.is(failed[0].outcome, 'unknown');
  assert.not.equal(failed[0].mayHaveActed, false);
});

test('the same with expectInstanceRole: the engine verifies the failover done and the run goes on, exit 0, one POST', async () => {
  const { r, posts, roles } = await failoverThenThrottledRead('{ failoverType: ForcedAllowDataLoss, expectInstanceRole: Primary, pollInterval: 50ms }', ['--outcome-timeout', '10s']);
  const out = r.stdout + r.stderr;
  assert.is(r.code, 0, out);
  assert.equal(posts, [202], 'the failover was posted once');
  assert.is(roles.managedInstance, 'PRIMARY');
  assert.match(out, /it took effect/);
});

test.run();
