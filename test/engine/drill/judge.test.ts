// The drill's judge over hand-made records: each invariant fires on the record that breaks it,
// names itself, and stays quiet on a record that keeps it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { judge, changeKey, isChangeStatement, lastAssertedPrimary, stepSpans, whereHung } from '../../../engine/drill/judge.js';
import type { ArmRequest, Invocation, JournalRecord, LoggedStatement, RecordedRun } from '../../../engine/drill/record.js';

const T0 = 1_000_000;
const SWAPPED = { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' };
const BEFORE = { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' };
const FAILOVER = 'ALTER AVAILABILITY GROUP [dag1] FAILOVER;';

const stmt = (at: number, statement: string, extra: Partial<LoggedStatement> = {}): LoggedStatement => ({ side: 'sqlServer', statement, errorNumber: null, at: T0 + at, ...extra });

const iso = (at: number) => new Date(T0 + at).toISOString();
/** A change step running for most of the run: the changes the tests' lab saw are declared ones. */
const changing = [
  { kind: 'step-started', step: 'failover', type: 'sqlExec', impact: 'change', at: iso(0) },
  { kind: 'statement', step: 'failover', target: 'sqlServer', text: FAILOVER, at: iso(1) },
  { kind: 'step-finished', step: 'failover', outputs: {}, at: iso(990) },
];
/** The engine's own summary, as its journal ends (what "Changed:" or "Nothing was changed." is printed from). */
const finished = (changed: string[], exitCode = 0) => ({ kind: 'run-finished', exitCode, changed });
const journal = (primary: string) => [
  ...changing,
  { kind: 'step-started', step: 'after', type: 'assertRole' },
  { kind: 'step-finished', step: 'after', outputs: { primary } },
  finished(['failover']),
];

const inv = (o: Partial<Invocation> = {}): Invocation => ({
  role: 'first', argv: [], code: 0, signal: null, stdout: 'Changed: failover\nExit 0: done\n', stderr: '',
  startedAt: T0, endedAt: T0 + 1000, journal: journal('managedInstance'), ...o,
});

function run(o: Partial<RecordedRun> = {}): RecordedRun {
  return {
    runbook: { name: 'planned-failover', dataLossSteps: [], declaresSplitBrain: false },
    acknowledgedDataLoss: false,
    invocations: [inv()],
    statements: [stmt(500, FAILOVER)],
    arm: [],
    ledger: { before: { committed: 10, lost: 0 }, after: { committed: 10, lost: 0 } },
    roles: { before: BEFORE, after: SWAPPED },
    journalText: '{"kind":"run-started"}\n',
    secrets: ['Lab-secret-password-1'],
    failedArmOperations: 0,
    ...o,
  };
}

const names = (r: RecordedRun) => judge(r).map((v) => v.invariant);

test('a clean planned failover keeps every promise', () => {
  assert.equal(judge(run()), []);
});

const FORCE = 'ALTER AVAILABILITY GROUP [dag1] FORCE_FAILOVER_ALLOW_DATA_LOSS;';
/** A step of the run: started, what it sent (to `target`), and finished, from `from` to `to` ms. */
const stepRan = (step: string, impact: string, from: number, to: number, sent: Array<[string, string]> = []) => [
  { kind: 'step-started', step, type: 'sqlExec', impact, at: iso(from) },
  ...sent.map(([target, text]) => ({ kind: 'statement', step, target, text, at: iso(from + 1) })),
  { kind: 'step-finished', step, outputs: {}, at: iso(to) },
];
const lost3 = { before: { committed: 10, lost: 0 }, after: { committed: 10, lost: 3 } };
const forced = { name: 'forced', dataLossSteps: ['force'], declaresSplitBrain: false };

test('transaction-lost: lost transactions without a dataLoss step, or without the acknowledgement', () => {
  assert.equal(names(run({ ledger: lost3 })), ['transaction-lost']);
  assert.match(judge(run({ ledger: lost3 }))[0]!.message, /3 committed transaction\(s\) lost.*no dataLoss step/);
  const forceRan = [inv({ journal: [...stepRan('force', 'dataLoss', 0, 990, [['managedInstance', FORCE]]), finished(['force'])] })];
  const forcedRun = (o: Partial<RecordedRun>) => run({ ledger: lost3, runbook: forced, statements: [stmt(500, FORCE, { side: 'managedInstance' })], invocations: forceRan, ...o });
  assert.equal(names(forcedRun({})), ['transaction-lost']);
  assert.match(judge(forcedRun({}))[0]!.message, /not given --allow-data-loss/);
  assert.equal(names(forcedRun({ acknowledgedDataLoss: true })), []);
  // A dataLoss step that never started (its `when:` was false) excuses nothing, acknowledged or not.
  assert.equal(names(forcedRun({ acknowledgedDataLoss: true, invocations: [inv()], statements: [stmt(500, FAILOVER)] })), ['transaction-lost']);
  // Sent by the resumed run after a kill counts: that run is this record's too.
  const resumed = [inv({ code: null, signal: 'SIGKILL', killedByDrill: true, journal: [] }), inv({ role: 'resume', journal: forceRan[0]!.journal! })];
  assert.equal(names(forcedRun({ acknowledgedDataLoss: true, invocations: resumed })), []);
  // Lost before the run (a split-brain lab) is not this run's loss.
  assert.equal(names(run({ ledger: { before: { committed: 1, lost: 12 }, after: { committed: 1, lost: 12 } } })), []);
});

test('transaction-lost: a dataLoss step excuses only a loss its own change caused, not an earlier step\'s', () => {
  // break-link without its LSN wait, and a `SELECT 1` labelled dataLoss after it (attack r4-drill #1, d1-decoy-end.yml).
  const DELETE = 'DELETE /subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/managedInstances/mi/distributedAvailabilityGroups/dag1';
  const sentDelete: [string, string] = ['arm', `DELETE https://arm.example${DELETE.slice(7)}?api-version=2023-08-01`];
  const removed = stepRan('remove-link', 'dataLoss', 0, 400, [sentDelete]);
  const decoy = stepRan('decoy', 'dataLoss', 500, 600, [['sqlServer', 'SELECT 1 AS x;']]);
  const decoyRun = (journal: JournalRecord[]) => run({
    ledger: lost3, acknowledgedDataLoss: true, runbook: { name: 'break-link', dataLossSteps: ['decoy'], declaresSplitBrain: false },
    statements: [stmt(550, 'SELECT 1 AS x;')], arm: [{ method: 'DELETE', path: DELETE.slice(7), status: 200, at: T0 + 200 }],
    invocations: [inv({ journal: [...journal, finished(['remove-link', 'decoy'])] })], roles: { before: BEFORE, after: BEFORE },
  });
  const after = judge(decoyRun([...removed, ...decoy]));
  assert.equal(after.map((v) => v.invariant), ['transaction-lost']);
  assert.match(after[0]!.message, /3 committed transaction\(s\) lost .*ARM DELETE .*dag1, which loses what the secondary had not hardened, sent by no dataLoss step of the runbook's own/);
  // The same decoy placed first is the same hole.
  assert.equal(names(decoyRun([...stepRan('decoy', 'dataLoss', 0, 100, [['sqlServer', 'SELECT 1 AS x;']]), ...stepRan('remove-link', 'dataLoss', 150, 400, [sentDelete])])), ['transaction-lost']);
  // A dataLoss step of the author's that sent no change that can lose transactions excuses nothing, even alone.
  const alone = run({ ledger: lost3, acknowledgedDataLoss: true, runbook: forced, statements: [], invocations: [inv({ journal: [...stepRan('force', 'dataLoss', 0, 900, [['sqlServer', 'SELECT 1']]), finished(['force'])] })], roles: { before: BEFORE, after: BEFORE } });
  assert.match(judge(alone).find((v) => v.invariant === 'transaction-lost')!.message, /no dataLoss step of the runbook's own \(force\) sent a change that can lose transactions/);
});

test('change-applied-twice: the same change statement carried out twice; one dropped before acting is not counted', () => {
  const toBoth = [inv({ journal: [...stepRan('failover', 'change', 0, 990, [['sqlServer', FAILOVER], ['managedInstance', FAILOVER]]), finished(['failover'])] })];
  assert.equal(names(run({ statements: [stmt(100, FAILOVER), stmt(500, FAILOVER)] })), ['change-applied-twice']);
  assert.equal(names(run({ statements: [stmt(100, FAILOVER, { notCarriedOut: 'dropped' }), stmt(500, FAILOVER)] })), []);
  assert.equal(names(run({ statements: [stmt(100, FAILOVER, { errorNumber: 41142 }), stmt(500, FAILOVER)] })), []);
  // Whitespace does not make it another statement; another side does.
  assert.equal(names(run({ statements: [stmt(100, 'ALTER AVAILABILITY GROUP [dag1]\n  FAILOVER;'), stmt(500, FAILOVER)] })), ['change-applied-twice']);
  // Nor does case, a trailing `;` or how the name is quoted: the same FAILOVER, however spelled.
  for (const again of ['alter availability group [dag1] failover', 'ALTER AVAILABILITY GROUP dag1 FAILOVER', 'Alter Availability Group "DAG1" Failover ;']) {
    assert.equal(names(run({ statements: [stmt(100, FAILOVER), stmt(500, again, { side: 'managedInstance' })], invocations: toBoth })), ['change-applied-twice'], again);
  }
  assert.is(changeKey('ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY);'), changeKey('alter availability group dag1 set(role=secondary)'));
  assert.is.not(changeKey('ALTER AVAILABILITY GROUP [dag1] FAILOVER'), changeKey('ALTER AVAILABILITY GROUP [dag2] FAILOVER'));
  // Sent again to the other replica (the new primary), it moves the roles back: applied twice too.
  assert.equal(names(run({ statements: [stmt(100, FAILOVER), stmt(500, FAILOVER, { side: 'managedInstance' })], invocations: toBoth })), ['change-applied-twice']);
  assert.match(judge(run({ statements: [stmt(100, FAILOVER), stmt(500, FAILOVER, { side: 'managedInstance' })], invocations: toBoth }))[0]!.message, /applied 2 times \(on sqlServer, then managedInstance\)/);
});

test('change-applied-twice: an ARM write accepted twice, unless the lab failed one on purpose', () => {
  const post = (at: number) => ({ method: 'POST', path: '/x/dag1/failover', status: 202, at: T0 + at });
  const armStep = [inv({ journal: [...stepRan('arm-failover', 'change', 0, 990, [['arm', 'POST https://arm.example/x/dag1/failover?api-version=2023-08-01']]), finished(['arm-failover'])] })];
  const armRun = (arm: ArmRequest[], o: Partial<RecordedRun> = {}) => run({ statements: [], arm, invocations: armStep, ...o });
  assert.equal(names(armRun([post(100), post(600)])), ['change-applied-twice']);
  assert.equal(names(armRun([post(100), post(600)], { failedArmOperations: 1 })), []);
  assert.equal(names(armRun([post(100), { ...post(600), status: 429 }])), []);
});

test('change-applied-twice: a failover by ARM after a T-SQL FAILOVER is the same role change again; the other order is not', () => {
  // planned-failover plus an armSetRole after its FAILOVER (attack r4-drill #4, m8-arm-again.yml); its run exits 4.
  const both = [
    ...stepRan('failover', 'change', 0, 400, [['sqlServer', FAILOVER]]),
    ...stepRan('again', 'change', 500, 990, [['arm', 'POST https://arm.example/x/dag1/failover?api-version=2023-08-01']]),
    finished(['failover', 'again'], 4),
  ];
  const post = { method: 'POST', path: '/x/dag1/failover', status: 202, at: T0 + 600 };
  const again = run({ statements: [stmt(100, FAILOVER)], arm: [post], invocations: [inv({ code: 4, journal: both })], roles: { before: BEFORE, after: { sqlServer: 'SECONDARY', managedInstance: 'SECONDARY' } } });
  assert.equal(names(again), ['change-applied-twice']);
  assert.match(judge(again)[0]!.message, /failed over by T-SQL \(sqlServer: ALTER AVAILABILITY GROUP \[dag1\] FAILOVER;\), then again by ARM POST \/x\/dag1\/failover/);
  // armSetRole's POST .../setRole is the same role change (m8-arm-again.yml).
  const setRole = [...both.slice(0, 3), ...stepRan('again', 'change', 500, 990, [['arm', 'POST https://arm.example/x/dag1/setRole?api-version=2023-08-01']]), both.at(-1)!];
  assert.equal(names({ ...again, arm: [{ ...post, path: '/x/dag1/setRole' }], invocations: [inv({ code: 4, journal: setRole })] }), ['change-applied-twice']);
  // split-brain.yml: the MI demoted by ARM first, then FAILOVER: two changes, not one twice.
  assert.equal(names({ ...again, statements: [stmt(800, FAILOVER)], arm: [{ ...post, at: T0 + 100 }], invocations: [inv({ code: 4, journal: [...stepRan('again', 'change', 0, 400, [['arm', 'POST https://arm.example/x/dag1/failover?api-version=2023-08-01']]), ...stepRan('failover', 'change', 500, 990, [['sqlServer', FAILOVER]]), finished(['again', 'failover'], 4)] })] }), []);
});

test('two-primaries: both PRIMARY at the end, unless the runbook declares it or the lab started so', () => {
  const both = { sqlServer: 'PRIMARY', managedInstance: 'PRIMARY' };
  const r = run({ roles: { before: BEFORE, after: both }, invocations: [inv({ journal: changing })] });
  assert.equal(names(r), ['two-primaries', 'exit-0-wrong-roles']);
  const declared = { name: 'forced', dataLossSteps: ['force'], declaresSplitBrain: true };
  assert.equal(names({ ...r, runbook: declared }), ['summary-disagrees'], 'declared, but no run said so');
  // Words in the output excuse nothing (a notify can say anything); the engine's own record of the link does.
  const says = 'SPLIT-BRAIN: two primaries now exist\nChanged: force\n';
  assert.equal(names({ ...r, runbook: declared, invocations: [inv({ journal: changing, stdout: says })] }), ['summary-disagrees']);
  const seen = (sqlServer: string) => ({ kind: 'link-state', after: 'failover', state: { sqlServer: { readable: true, role: sqlServer, modes: '' }, managedInstance: { readable: true, role: 'PRIMARY', modes: '' } } });
  const engineSays = 'Attention:\n  SPLIT-BRAIN: both replicas of link dag1 say PRIMARY. Point applications at one side only\n';
  assert.equal(names({ ...r, runbook: declared, invocations: [inv({ journal: [...changing, seen('PRIMARY')], stdout: engineSays })] }), []);
  // Recorded, but the run did not say so in the engine's words: an edited notify that says all is well (attack r4-drill #3, f2-ff-lie.yml).
  const lie = 'Attention:\n  two-primaries: Failover done. sqlServer is now a secondary; there is one primary, no further action needed.\n';
  assert.equal(judge({ ...r, runbook: declared, invocations: [inv({ journal: [...changing, seen('PRIMARY')], stdout: lie })] }).map((v) => v.message), ["both replicas are PRIMARY at the end and the run's journal recorded it, but it did not say SPLIT-BRAIN in the engine's words"]);
  // Only its last record counts: the link as the run last saw it.
  assert.equal(names({ ...r, runbook: declared, invocations: [inv({ journal: [...changing, seen('PRIMARY'), seen('SECONDARY')], stdout: says })] }), ['summary-disagrees']);
  // The old primary out of its reach (down: not locked, or not readable) keeps its PRIMARY role for all the run knows.
  const unseen = (sqlServer: unknown) => ({ kind: 'link-state', state: { ...(sqlServer ? { sqlServer } : {}), managedInstance: { readable: true, role: 'PRIMARY', modes: '' } } });
  const engineSaysUnseen = 'SPLIT-BRAIN: managedInstance says PRIMARY on link dag1 and sqlServer could not be read; if sqlServer was primary before\n';
  assert.equal(names({ ...r, runbook: declared, invocations: [inv({ journal: [...changing, unseen(undefined)], stdout: engineSaysUnseen })] }), []);
  assert.equal(names({ ...r, runbook: declared, invocations: [inv({ journal: [...changing, unseen({ readable: false, error: 'down' })], stdout: engineSaysUnseen })] }), []);
  assert.equal(names(run({ roles: { before: both, after: both }, statements: [], invocations: [inv({ code: 1, stdout: 'Nothing was changed.\n', journal: [] })] })), []);
  // Read before the last change step (at the start, the MI briefly unreadable), it proves nothing of the end (attack r4-drill #6, H2).
  assert.equal(names({ ...r, runbook: declared, invocations: [inv({ journal: [unseen({ readable: false, error: 'down' }), ...changing] })] }), ['summary-disagrees']);
});

test('summary-disagrees: "Nothing was changed." or exit 1 while the lab saw a change in that run', () => {
  const r = run({ invocations: [inv({ code: 1, stdout: 'Nothing was changed.\nExit 1\n' })] });
  assert.equal(names(r), ['summary-disagrees']);
  assert.match(judge(r)[0]!.message, /exits 1 \(failed before any change\), but the lab saw: sqlServer: ALTER AVAILABILITY GROUP \[dag1\] FAILOVER/);
  const says = run({ invocations: [inv({ code: 4, journal: [...changing, finished([], 4)] })] });
  assert.match(judge(says)[0]!.message, /says "Nothing was changed\." \(its journal's run-finished names no change\), but the lab saw: sqlServer: ALTER AVAILABILITY GROUP \[dag1\] FAILOVER/);
  // The change came before this run started (a killed run's): not its claim to keep.
  assert.equal(names(run({ invocations: [inv({ role: 'first', code: null, signal: 'SIGKILL', killedByDrill: true, endedAt: T0 + 600, stdout: '' }), inv({ role: 'resume', code: 0, startedAt: T0 + 700, endedAt: T0 + 900, stdout: 'Nothing was changed.\n', journal: [...journal('managedInstance'), finished([])] })] })), []);
});

test('summary-disagrees: a change made while two runs overlapped is blamed only if both say they changed nothing', () => {
  const second = inv({ role: 'second-operator', code: 3, stdout: '', stderr: 'refused: lock held\n', startedAt: T0 + 200, endedAt: T0 + 800 });
  assert.equal(names(run({ invocations: [inv(), second] })), []);
  const secondSaysNothing = { ...second, journal: [...changing, finished([], 3)] };
  assert.equal(names(run({ invocations: [inv({ stdout: 'Nothing was changed.\n', code: 1 }), secondSaysNothing] })), ['summary-disagrees', 'summary-disagrees']);
});

test('summary-disagrees: exit 4 with no change in the lab; a non-zero exit that hides its change', () => {
  assert.equal(names(run({ statements: [], invocations: [inv({ code: 4, stdout: 'Changed: sync-commit\n' })] })), ['summary-disagrees']);
  assert.equal(names(run({ invocations: [inv({ code: 5, stdout: 'Exit 5\n', journal: [...changing, finished([], 5)] })] })), ['summary-disagrees']);
  assert.equal(names(run({ invocations: [inv({ code: 5, journal: [...changing, { ...finished([], 5), mayHaveChanged: ['failover'] }] })] })), []);
});

test("summary-disagrees: the engine's summary is its journal's, never a line a notify step printed", () => {
  // A safe run whose notify prints "Nothing was changed." (attack r4-drill #5, f1-notify-nothing.yml).
  assert.equal(names(run({ invocations: [inv({ stdout: 'all done\nNothing was changed.\nChanged: failover\nExit 0: done\n' })] })), []);
  // A failed run that hides its change is not saved by a notify that prints "Changed: x".
  assert.equal(names(run({ invocations: [inv({ code: 5, stdout: 'Changed: x\n', journal: [...changing, finished([], 5)] })] })), ['summary-disagrees']);
});

test('exit-0-wrong-roles: exit 0 must end with the primary the runbook asserted last', () => {
  assert.equal(names(run({ roles: { before: BEFORE, after: BEFORE } })), ['exit-0-wrong-roles']);
  assert.equal(names(run({ roles: { before: BEFORE, after: BEFORE }, invocations: [inv({ journal: journal('sqlServer') })] })), []);
});

test('secret-leaked: a lab secret in any output or the journal, never quoted in the verdict', () => {
  const r = run({ invocations: [inv({ stderr: 'login with Lab-secret-password-1 failed' })], journalText: 'x Lab-secret-password-1' });
  assert.equal(names(r), ['secret-leaked', 'secret-leaked']);
  assert.not.match(JSON.stringify(judge(r)), /Lab-secret-password-1/);
});

test('run-hung: a run the drill had to kill at its deadline, and where it was', () => {
  assert.equal(names(run({ invocations: [inv({ code: null, signal: 'SIGKILL', timedOut: true, endedAt: T0 + 60_000 })] })), ['run-hung']);
  const stuck = inv({
    code: null, signal: 'SIGKILL', timedOut: true, endedAt: T0 + 60_000, stdout: '[18/26] failover (sqlExec -> sqlServer, change)\n', stderr: '',
    journal: [
      { kind: 'step-started', step: 'caught-up', type: 'waitLsnStable', impact: 'read', at: iso(0) },
      { kind: 'statement', step: 'caught-up', target: 'sqlServer', text: 'SELECT 1' },
      { kind: 'step-finished', step: 'caught-up', outputs: {}, at: iso(100) },
      { kind: 'step-started', step: 'failover', type: 'sqlExec', impact: 'change', at: iso(200) },
      { kind: 'statement', step: 'failover', target: 'sqlServer', text: 'ALTER AVAILABILITY GROUP [dag1]\n  FAILOVER;' },
    ],
  });
  const [hung] = judge(run({ invocations: [stuck] })).filter((v) => v.invariant === 'run-hung');
  assert.is(hung!.message, "the run did not end within the drill's deadline (60 s): in step failover (sqlExec, change); last statement to sqlServer: ALTER AVAILABILITY GROUP [dag1] FAILOVER;; last on stdout: [18/26] failover (sqlExec -> sqlServer, change)");
  assert.is(whereHung({ journal: [], stdout: '', stderr: 'runbook: connecting\n' }), ': before its journal began; last on stderr: runbook: connecting');
});

test('undeclared-change: a change the lab saw that a step declared read sent, or that no step sent', () => {
  const readThenChange = [
    { kind: 'step-started', step: 'look', type: 'liarRead', impact: 'read', at: iso(0) },
    { kind: 'statement', step: 'look', target: 'sqlServer', text: `-- just looking\n${FAILOVER}`, at: iso(1) },
    { kind: 'step-finished', step: 'look', outputs: {}, at: iso(600) },
    { kind: 'step-started', step: 'after', type: 'assertRole', impact: 'read', at: iso(700) },
    { kind: 'step-finished', step: 'after', outputs: { primary: 'managedInstance' }, at: iso(800) },
    finished([]),
  ];
  const r = run({ invocations: [inv({ journal: readThenChange })] });
  assert.equal(names(r), ['summary-disagrees', 'undeclared-change']);
  assert.is(judge(r).find((v) => v.invariant === 'undeclared-change')!.message, 'the lab saw sqlServer: ALTER AVAILABILITY GROUP [dag1] FAILOVER;, sent by step look, declared read');
  // Between steps, an ARM write too.
  const between = run({ statements: [], arm: [{ method: 'PATCH', path: '/x/dag1', status: 200, at: T0 + 650 }], invocations: [inv({ journal: readThenChange })] });
  assert.equal(judge(between).filter((v) => v.invariant === 'undeclared-change').map((v) => v.message), ["the lab saw ARM PATCH /x/dag1, that no step's journal shows sending while it ran (no step of any run was running)"]);
  // A change step of another run (a resume, a second operator) that sent it then declares it.
  const other = inv({ role: 'second-operator', code: 3, journal: [...changing, finished(['failover'], 3)] });
  assert.not.ok(names(run({ invocations: [inv({ journal: readThenChange }), other] })).includes('undeclared-change'));
  // A step still open when its run was killed runs until the kill; a resume's record closes it.
  assert.equal(stepSpans({ endedAt: T0 + 50, journal: [changing[0]!] }), [{ step: 'failover', impact: 'change', from: T0, to: T0 + 50 }]);
  assert.equal(stepSpans({ endedAt: T0 + 900, journal: [changing[0]!, { kind: 'run-resumed', at: iso(40) }] }), [{ step: 'failover', impact: 'change', from: T0, to: T0 + 40 }]);
});

test('undeclared-change: a change that lands while a declared change step runs is not that step\'s unless it sent it', () => {
  // A plugin declared read fires a FAILOVER in the background and returns; the FAILOVER lands
  // while the next step (an ARM PATCH, declared change) runs (attack r4-drill #2, m7-masked.yml).
  const masked = [
    ...stepRan('harmless', 'read', 0, 100, [['sqlServer', FAILOVER]]),
    ...stepRan('sync-commit-managed-instance', 'change', 200, 990, [['arm', 'PATCH https://arm.example/x/dag1?api-version=2023-08-01']]),
    finished(['sync-commit-managed-instance']),
  ];
  const r = run({ arm: [{ method: 'PATCH', path: '/x/dag1', status: 200, at: T0 + 300 }], invocations: [inv({ journal: masked, stdout: 'Changed: sync-commit-managed-instance\n' })] });
  assert.equal(names(r), ['undeclared-change']);
  assert.is(judge(r)[0]!.message, "the lab saw sqlServer: ALTER AVAILABILITY GROUP [dag1] FAILOVER;, that no step's journal shows sending while it ran (step harmless journaled it, but had ended when the lab carried it out)");
  // Sent outside the engine's clients: no journal record at all.
  const unsent = run({ invocations: [inv({ journal: [...stepRan('sync', 'change', 0, 990), finished(['sync'])] })] });
  assert.match(judge(unsent)[0]!.message, /that no step's journal shows sending while it ran \(step sync was running\)/);
  // Another run's change step open then, that did not send it, excuses nothing (a second operator's).
  const second = inv({ role: 'second-operator', code: 3, journal: [...stepRan('sync', 'change', 0, 990), finished([], 3)] });
  assert.ok(names(run({ invocations: [inv({ journal: masked }), second], arm: [] })).includes('undeclared-change'));
  // A step-started with no impact declares nothing.
  const noImpact = [{ kind: 'step-started', step: 'failover', type: 'sqlExec', at: iso(0) }, ...changing.slice(1), finished(['failover'])];
  assert.equal(names(run({ invocations: [inv({ journal: noImpact })] })), ['undeclared-change']);
});

test('exit-0-wrong-roles: an exit 0 that leaves no replica PRIMARY', () => {
  const none = { sqlServer: 'SECONDARY', managedInstance: 'SECONDARY' };
  assert.equal(judge(run({ roles: { before: BEFORE, after: none } })).map((v) => v.message), ['the run exits 0, but no replica is PRIMARY at the end (sqlServer SECONDARY, managedInstance SECONDARY)']);
  assert.equal(names(run({ roles: { before: none, after: none } })), []);
});

test('summary-disagrees: a run the drill abandoned (Ctrl-C until it gave up a hung change) is held to its journal', () => {
  const abandoned = (end: Record<string, unknown>) => inv({ code: 130, stdout: '', stderr: 'runbook: SIGINT: abandoning step failover (sqlExec)\n', abandonedByDrill: true, journal: [...changing, { kind: 'run-finished', exitCode: 130, ...end }] });
  assert.equal(names(run({ invocations: [abandoned({ changed: ['sync-commit'], mayHaveChanged: ['failover'] })] })), []);
  assert.equal(names(run({ invocations: [abandoned({ changed: [] })] })), ['summary-disagrees']);
  // Not abandoned by the drill, the same silence is a run that hides its change.
  assert.equal(names(run({ invocations: [inv({ code: 130, stdout: '', journal: changing })] })), ['summary-disagrees']);
});

test('isChangeStatement and lastAssertedPrimary', () => {
  assert.ok(isChangeStatement('ALTER AVAILABILITY GROUP [dag1] FAILOVER'));
  assert.ok(isChangeStatement('-- note\nALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY)'));
  assert.ok(isChangeStatement('BACKUP LOG [db] TO DISK = N\'x\''));
  assert.not.ok(isChangeStatement('SELECT 1'));
  // Whatever the lab's normaliser does: comments out, each statement of a batch on its own (attack r4-drill #6).
  for (const hidden of ['/* x */ DROP TABLE t', '-- x\nDROP TABLE t', ';DROP TABLE t', 'SET NOCOUNT ON; DROP TABLE t', 'BEGIN TRAN; DROP DATABASE d', 'WITH x AS (SELECT 1 AS a) DELETE FROM t', 'USE master; ALTER DATABASE d SET OFFLINE']) {
    assert.ok(isChangeStatement(hidden), hidden);
  }
  assert.not.ok(isChangeStatement("SELECT N'x; DROP TABLE t' AS s"));
  assert.not.ok(isChangeStatement('WITH x AS (SELECT 1 AS a) SELECT a FROM x'));
  assert.not.ok(isChangeStatement("EXEC @r = sp_getapplock @Resource = @resource"));
  assert.is(lastAssertedPrimary([...journal('sqlServer'), { kind: 'step-started', step: 'resolved', type: 'assertRole' }, { kind: 'step-finished', step: 'resolved', outputs: { primary: 'managedInstance' } }]), 'managedInstance');
  assert.is(lastAssertedPrimary([{ kind: 'step-started', step: 'x', type: 'notify' }, { kind: 'step-finished', step: 'x', outputs: { primary: 'sqlServer' } }]), undefined);
});

test.run();
