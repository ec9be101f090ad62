// What every runbook refuses before it changes anything: split-brain (each runbook but
// split-brain.yml, which exists to fix it), and a non-interactive run without --yes. Also
// `--lab <scenario>` on apply and plan picks that scenario for the embedded lab.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli } from '../helpers/cli.js';
import { runbookCases } from '../helpers/runbook-cases.js';

runbookCases([
  {
    name: 'break-link on split-brain: refused at the role check, exit 3, nothing sent but reads, no ARM delete',
    scenario: 'split-brain',
    runbook: 'break-link',
    set: ['stableFor=300ms', 'pollInterval=50ms', 'lsnTimeout=2s'],
    expect: { exit: 3, stderr: [/refused at step roles: Split-brain on link dag1/], sent: [], armWrites: [], link: { sqlServer: true, managedInstance: true } },
  },
  {
    name: 'cleanup on split-brain: refused (the MI still has the live link), exit 3, nothing dropped',
    scenario: 'split-brain',
    runbook: 'cleanup',
    set: ['dropAg=true'],
    expect: {
      exit: 3,
      stderr: [/refused at step link-removed: The managed instance still has link dag1.*split-brain\.yml if both sides say PRIMARY/],
      sent: [],
      link: { sqlServer: true, managedInstance: true },
      roles: { sqlServer: 'PRIMARY', managedInstance: 'PRIMARY' },
    },
  },
  {
    name: 'without a terminal and without --yes, apply refuses at the confirmation with exit 3 and changes nothing',
    runbook: 'planned-failover',
    set: ['stableFor=300ms', 'pollInterval=50ms', 'lsnTimeout=2s'],
    flags: { yes: false },
    expect: { exit: 3, sent: [], roles: { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' } },
    then: (_t, run) => assert.match(run.stdout + run.stderr, /--yes/),
  },
]);

test('apply --lab split-brain runs on that scenario (refused, exit 3); --lab lagging waits and fails over', async () => {
  const refused = await runCli(['apply', 'runbooks/planned-failover.yml', '--lab', 'split-brain', '--yes', '--set', 'stoppedFor=200ms', '--set', 'stableFor=300ms', '--set', 'pollInterval=50ms'], { timeoutMs: 45_000 });
  assert.is(refused.code, 3, refused.stdout + refused.stderr);
  assert.match(refused.stdout + refused.stderr, /Split-brain on link dag1/);
  const lagging = await runCli(['apply', 'runbooks/planned-failover.yml', '--lab', 'lagging', '--yes', '--set', 'stoppedFor=200ms', '--set', 'stableFor=300ms', '--set', 'pollInterval=50ms', '--set', 'lsnTimeout=8s'], { timeoutMs: 45_000 });
  assert.is(lagging.code, 0, lagging.stdout + lagging.stderr);
  // The lagging scenario's 40 transactions (replicated by the time the LSN wait begins: the run
  // first reads the version, the members and the link through ARM), none lost.
  assert.match(lagging.stdout, /ok\s+\d+\. caught-up/);
  assert.match(lagging.stdout, /Roles of link dag1: sqlServer says SECONDARY; managedInstance says PRIMARY\./);
});

test('plan --lab <scenario> names the scenario and starts nothing', async () => {
  const ok = await runCli(['plan', 'runbooks/planned-failover.yml', '--lab', 'business-critical']);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /\(embedded lab, scenario business-critical\)/);
  assert.match(ok.stdout, /failover +sqlExec -> primary +\[change\]/);
});

test.run();
