// After a change step's timeout in a wave, its verify waits until the cancelled request ended
// (attack r5conn finding 6): a server acknowledges an ATTENTION only once it stopped the request,
// and a FAILOVER under way is not stopped part-way. A check on another shared session meanwhile
// read the roles before the FAILOVER acted and reported it "verified that it did NOT take effect".
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { fleetLab, fleetRoles } from '../../helpers/fleet-run.js';
import { FAST_PLANNED as FAST, runbookFile } from '../../helpers/lab-run.js';

const sets = FAST.flatMap((s) => ['--set', s]);

test('r5conn-6: a FAILOVER that timed out but could not be stopped is verified once it ended, not reported "did NOT take effect"', async () => {
  const f = await fleetLab({ links: 1 });
  try {
    // The shipped planned failover with a step timeout on its FAILOVER, as the README advises for bounding a change.
    const doc = yaml.load(readFileSync(runbookFile('planned-failover'), 'utf8')) as { steps: Array<Record<string, unknown>> };
    doc.steps.find((s) => s.id === 'failover')!.timeout = '500ms';
    const rb = join(f.dir, 'pf-timeout.yml');
    writeFileSync(rb, yaml.dump(doc));
    // The FAILOVER starts and cannot be stopped: the ATTENTION the timeout sends waits for it.
    const failover = f.lab.hold({ match: /GROUP \[dag1\] FAILOVER/, side: 'sqlServer', throughAttention: true });
    const running = f.run(['apply', rb, '-i', f.fleetFile, '--all', '--yes', ...sets]);
    await failover.reached;
    // Let the server act once the run's check reached it (the old code's), or after 2 s (the step timed out long before).
    const verifyText = /rs\.role_desc = N'SECONDARY'/;
    const reachedAt = f.lab.statements().length;
    for (let waited = 0; waited < 2000 && !f.lab.statements().slice(reachedAt).some((s) => verifyText.test(s.statement)); waited += 20) {
      await new Promise((r) => setTimeout(r, 20));
    }
    failover.release();
    const r = await running;
    assert.not.match(r.stdout + r.stderr, /did NOT take effect/);
    assert.match(r.stdout + r.stderr, /failover[\s\S]*took effect/);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.equal(fleetRoles(f.lab), { dag1: 'SP' });
    // The check came after the FAILOVER acted.
    const log = f.lab.statements();
    const acted = log.findIndex((s) => /GROUP \[dag1\] FAILOVER/.test(s.statement));
    const checked = log.findIndex((s, i) => i > reachedAt - 1 && verifyText.test(s.statement));
    assert.ok(acted !== -1 && checked > acted, `FAILOVER at ${acted}, check at ${checked}`);
  } finally {
    await f.stop();
  }
});

test.run();
