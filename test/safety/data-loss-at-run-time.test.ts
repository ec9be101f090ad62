// A step whose impact is known only at run time (`impact: "{{steps.q.outputs...}}"`): the plan
// cannot count it as data loss, so apply decides when it renders the step, and refuses a use that
// turns out dataLoss unless --allow-data-loss names this link. The statement is never sent then.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { journalRecords } from '../helpers/fault-matrix.js';
import type { TestLab } from '../helpers/lab-run.js';
import { runbookCases } from '../helpers/runbook-cases.js';

const FORCE = /FORCE_FAILOVER_ALLOW_DATA_LOSS/i;

/** Step q reads the impact from the replica; step force takes it as its own. */
function runtimeImpactRunbook(t: TestLab): string {
  const file = join(t.dir, 'runtime-impact.yml');
  writeFileSync(
    file,
    `name: runtime-impact
description: The second step's impact is what the first reads from SQL Server.
inputs: {}
steps:
  - id: q
    type: sqlExec
    target: sqlServer
    with:
      impact: read
      sql: SELECT N'dataLoss' AS impact;
  - id: force
    type: sqlExec
    target: sqlServer
    with:
      impact: "{{steps.q.outputs.first.impact}}"
      sql: ALTER AVAILABILITY GROUP {{ident link.name}} FORCE_FAILOVER_ALLOW_DATA_LOSS;
`,
  );
  return file;
}

/** The journal shows step force refused as dataLoss, never started. */
function refusedAsDataLoss(_t: TestLab, run: { journalDir: string }): void {
  const records = journalRecords(run.journalDir);
  assert.not.ok(records.some((r) => r.kind === 'step-started' && r.step === 'force'), 'force never started');
  const ended = records.filter((r) => r.step === 'force');
  assert.equal(ended.map((r) => `${r.kind}:${r.outcome}:${r.error}`), ['step-failed:refused:data-loss step needs --allow-data-loss dag1']);
}

runbookCases([
  {
    name: 'impact dataLoss known only at run time, without --allow-data-loss: refused at that step (exit 3), the statement never sent',
    runbook: runtimeImpactRunbook,
    expect: { exit: 3, stderr: [/refused at step force: data-loss step needs --allow-data-loss dag1/], notSent: [FORCE], sent: [] },
    then: refusedAsDataLoss,
  },
  {
    name: 'impact dataLoss known only at run time, --allow-data-loss naming another link: refused (exit 3), the statement never sent',
    runbook: runtimeImpactRunbook,
    flags: { allowDataLoss: 'some-other-link' },
    expect: { exit: 3, stderr: [/refused at step force: data-loss step needs --allow-data-loss dag1/], notSent: [FORCE], sent: [] },
    then: refusedAsDataLoss,
  },
  {
    name: 'impact dataLoss known only at run time, --allow-data-loss dag1: the statement is sent, once, as a dataLoss step',
    runbook: runtimeImpactRunbook,
    flags: { allowDataLoss: 'dag1' },
    expect: { exit: (code) => code !== 3, times: [[FORCE, 1]] },
    then(_t, run) {
      const started = journalRecords(run.journalDir).find((r) => r.kind === 'step-started' && r.step === 'force');
      assert.is(started?.impact, 'dataLoss');
    },
  },
]);

test.run();
