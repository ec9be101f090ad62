// An ARM change that Azure accepted, followed by an error on the way (a 429 on the link read after
// the operation completed, once the client's retries are spent): no refusal of the change, which
// may have been carried out (engine/drivers/arm/errors.ts afterAccepted). It used to be "ARM refused
// ... Nothing was changed. Exit 1", journaled not applied, and `retry:` POSTed the forced failover
// again (attack r7fix finding 14). Now it is an unknown outcome, verified (and never retried).
// Each request of the operation, faulted in turn: test/engine/drivers/arm-change-answers.test.ts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChildLab } from '../helpers/child-runs.js';
import { startCli } from '../helpers/cli.js';

/** A forced failover with `retry:` whose POST acted, and a 429 on the next read of the link. */
async function failoverThenThrottledRead(withBlock: string) {
  const lab = await ChildLab.start();
  try {
    const file = join(lab.dir, 'forced.yml');
    writeFileSync(file, ['name: forced', 'description: x', 'steps:', '  - id: fo', '    type: armFailoverLink', '    retry: { count: 1, delay: 100ms }', `    with: ${withBlock}`, ''].join('\n'));
    const pin = lab.lab.hold({ arm: true, match: /failover/, after: true });
    const link = lab.lab.inventory.link.name;
    // No retries of the client's own: the one 429 reaches the step, as several in a row would.
    const run = startCli(['apply', file, '-i', lab.inventory, '--yes', '--allow-data-loss', link, '--outcome-timeout', '5s'], { env: { ...lab.env(), RUNBOOK_ARM_MAX_RETRIES: '0' }, cwd: lab.dir, timeoutMs: 60_000 });
    await Promise.race([pin.reached, run.done.then((r) => assert.unreachable(`the run ended before its failover: ${r.stdout}${r.stderr}`))]);
    lab.lab.addFault({ kind: 'armStatus', op: 'get', status: 429, count: 1 });
    pin.release();
    const r = await run.done;
    const out = r.stdout + r.stderr;
    const posts = lab.lab.armRequests().filter((x) => x.method === 'POST' && /failover/.test(x.path)).length;
    assert.is(posts, 1, `the failover was POSTed once\n${out}`);
    assert.not.match(out, /Nothing was changed|retrying/);
    return { code: r.code, out, records: lab.records() };
  } finally {
    await lab.stop();
  }
}

test('a 429 on the link read after an accepted forced failover: an unknown outcome, verified, never POSTed again', async () => {
  const { code, out, records } = await failoverThenThrottledRead('{ failoverType: ForcedAllowDataLoss, pollInterval: 50ms }');
  // The lab's forced failover leaves both replicas PRIMARY, so the step's verify cannot tell: unknown, exit 5.
  assert.is(code, 5, out);
  assert.match(out, /UNKNOWN fo: Azure accepted the failover request for link dag1[^\n]*, but following it failed: [^\n]*HTTP 429[^\n]* It may have been carried out/);
  assert.match(out, /May have changed: fo/);
  const failed = records.filter((x) => x.kind === 'step-failed');
  assert.equal(failed.map((x) => [x.outcome, x.mayHaveActed]), [['unknown', true]]);
});

test('the same with expectInstanceRole: the engine verifies the failover done and the run goes on, exit 0', async () => {
  const { code, out } = await failoverThenThrottledRead('{ failoverType: ForcedAllowDataLoss, expectInstanceRole: Primary, pollInterval: 50ms }');
  assert.is(code, 0, out);
  assert.match(out, /it took effect/);
});

test.run();
