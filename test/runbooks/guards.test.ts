// What every runbook refuses before it changes anything: split-brain (each runbook but
// split-brain.yml, which exists to fix it), and a non-interactive run without --yes; a lagging
// secondary is waited for, on a gap the run saw. Also `--lab <scenario>` on apply and plan picks
// that scenario for the embedded lab.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, startCli } from '../helpers/cli.js';
import { labRoles, labWithInventory } from '../helpers/lab-run.js';
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

test('apply --lab split-brain runs on that scenario: refused, exit 3', async () => {
  const refused = await runCli(['apply', 'runbooks/planned-failover.yml', '--lab', 'split-brain', '--yes', '--set', 'stoppedFor=200ms', '--set', 'stableFor=300ms', '--set', 'pollInterval=50ms'], { timeoutMs: 45_000 });
  assert.is(refused.code, 3, refused.stdout + refused.stderr);
  assert.match(refused.stdout + refused.stderr, /Split-brain on link dag1/);
});

test('a lagging secondary: the LSN wait sees it behind, holds while it is, and the failover comes only once the LSNs are equal', async () => {
  // The lagging scenario with no catch-up of its own: the test lets replication go once the run has
  // seen the gap, so the run cannot have reached its wait after the secondary caught up.
  const { lab, dir, inventoryFile } = await labWithInventory({ scenario: 'lagging', overrides: { replication: { catchUpAfterMs: 24 * 3600_000 } } }, 'runbook-lagging-');
  try {
    const run = startCli(
      ['apply', 'runbooks/planned-failover.yml', '-i', inventoryFile, '--yes', '--format', 'json', '--set', 'stoppedFor=200ms', '--set', 'stableFor=300ms', '--set', 'pollInterval=50ms', '--set', 'lsnTimeout=20s'],
      { env: { ...lab.env, RUNBOOK_JOURNAL_DIR: dir }, timeoutMs: 45_000 },
    );
    const events: Array<Record<string, any>> = [];
    let pending = '';
    let firstAfterRelease: number | undefined;
    run.child.stdout!.on('data', (d) => {
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) events.push(JSON.parse(line) as Record<string, any>);
      const behind = events.filter((e) => e.event === 'step-output' && e.step === 'caught-up' && e.data && e.data.gap !== '0').length;
      // Three samples behind: the wait is holding on the gap. Now let the secondary catch up; the
      // events after those read so far were written after that.
      if (behind >= 3 && firstAfterRelease === undefined) {
        firstAfterRelease = events.length;
        lab.link().setReplication({ stalled: false });
      }
    });
    const r = await run.done;
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.ok(firstAfterRelease !== undefined, 'the wait never reported the secondary behind');
    const samples = events.map((e, at) => ({ e, at })).filter(({ e }) => e.event === 'step-output' && e.step === 'caught-up' && e.data);
    const firstEqual = samples.findIndex(({ e }) => e.data.gap === '0');
    assert.ok(firstEqual >= 3, JSON.stringify(samples.map(({ e }) => e.data.gap)));
    // Behind by the scenario's 40 transactions (the replicas report 320 KB unsent), then equal.
    for (const { e } of samples.slice(0, firstEqual)) {
      assert.ok(BigInt(e.data.gap) > 0n, e.message);
      assert.is(e.data.logSendQueueKb, '320', e.message);
    }
    assert.ok(samples[firstEqual]!.at >= firstAfterRelease!, `equal only after the secondary was let catch up: released at event ${firstAfterRelease}; ${samples.map(({ e, at }) => `${at}:${e.data.gap}`).join(' ')}`);
    const waited = events.findIndex((e) => e.event === 'step-finished' && e.step === 'caught-up');
    const failover = events.findIndex((e) => e.event === 'step-started' && e.step === 'failover');
    assert.ok(waited >= firstAfterRelease! && failover > waited, 'the failover starts after the wait, which ends after the catch-up');
    assert.equal(labRoles(lab), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
  } finally {
    await lab.stop();
  }
});

test('plan --lab <scenario> names the scenario and starts nothing', async () => {
  const ok = await runCli(['plan', 'runbooks/planned-failover.yml', '--lab', 'business-critical']);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /\(embedded lab, scenario business-critical\)/);
  assert.match(ok.stdout, /failover +sqlExec -> primary +\[change\]/);
});

test.run();
