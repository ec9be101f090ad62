// `runbook drill` end to end: the shipped runbooks pass a bounded drill; runbooks edited to skip
// their LSN wait, to repeat their FAILOVER or to drop their data-loss marking are caught with the
// right invariant named; a violation's replay line replays it; bad flags are one line and exit 2.
// (`npm run drill` runs the whole matrix of every shipped runbook.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noStack, root, runCli, tempDir } from '../helpers/cli.js';
const runbook = (name: string) => join(root, 'runbooks', `${name}.yml`);
const stalled = join(root, 'test', 'fixtures', 'drill', 'stalled.yml');
const FAST = ['--set', 'stableFor=300ms', '--set', 'pollInterval=50ms', '--set', 'lsnTimeout=3s'];
/** planned-failover.yml's first wait has its own window (stoppedFor): short too, or every run stops there. */
const FAST_PLANNED = [...FAST, '--set', 'stoppedFor=200ms'];
/** forced-failover.yml refuses when SQL Server is down and its version was not given. */
const FORCED_VERSION = ['--set', 'sqlServerVersion=16.0.4125.3'];

interface DrillJson {
  ok: boolean;
  runs: number;
  runsPerSecond: number;
  exercised: boolean;
  changedRuns: number;
  cases: Array<{ scenario: string; fault: string; runs: number; violations: number; notFired: number; exits: string[]; stoppedAt: string[] }>;
  violations: Array<{ case: string; seed: number; invariant: string; message: string; replay: string }>;
}

async function drill(args: string[], cwd?: string): Promise<{ code: number | null; json: DrillJson; stderr: string }> {
  const r = await runCli(['drill', ...args, '--format', 'json'], { timeoutMs: 170_000, ...(cwd ? { cwd } : {}) });
  let json: DrillJson;
  try {
    json = JSON.parse(r.stdout) as DrillJson;
  } catch {
    throw new Error(`no JSON verdict (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, json, stderr: r.stderr };
}

/** A copy of a shipped runbook with `edit` applied to its text, in a temporary folder. */
function edited(name: string, edit: (text: string) => string): string {
  const text = readFileSync(runbook(name), 'utf8');
  const out = edit(text);
  assert.is.not(out, text, 'the edit changed the runbook');
  const file = join(tempDir('runbook-drill-'), `${name}-edited.yml`);
  writeFileSync(file, out.replace('$schema=../schemas/', `$schema=${root}/schemas/`));
  return file;
}

const withoutStep = (text: string, id: string) => {
  const start = text.indexOf(`  - id: ${id}\n`);
  const next = text.indexOf('\n  - id: ', start + 1);
  return text.slice(0, start) + text.slice(next + 1);
};

test('shipped runbooks pass a bounded drill (kills, dropped connections, second operator), runs per second printed', async () => {
  const r = await drill([runbook('planned-failover'), ...FAST_PLANNED, '--scenarios', 'healthy', '--faults', 'random', '--runs', '6', '--seed', '14']);
  assert.is(r.code, 0, JSON.stringify(r.json.violations, null, 2));
  assert.ok(r.json.ok);
  assert.is(r.json.runs, 6);
  assert.ok(r.json.runsPerSecond > 0);
  const forced = await drill([runbook('forced-failover'), ...FORCED_VERSION, '--scenarios', 'healthy,primary-down', '--faults', 'random', '--runs', '4', '--seed', '3']);
  assert.is(forced.code, 0, JSON.stringify(forced.json.violations, null, 2));
  const split = await drill([runbook('split-brain'), '--set', 'keep=managedInstance', '--set', 'backupLocation=/backup/tail.trn', '--set', 'pollInterval=50ms', '--scenarios', 'split-brain', '--faults', 'random', '--runs', '3', '--seed', '5']);
  assert.is(split.code, 0, JSON.stringify(split.json.violations, null, 2));
});

test('judge: break-link edited to skip its LSN wait loses the backlog: transaction-lost', async () => {
  const file = edited('break-link', (t) => withoutStep(t, 'caught-up'));
  const r = await drill([file, '--set', 'pollInterval=50ms', '--scenarios', stalled, '--only', `${stalled}/no-fault`, '--seed', '1']);
  assert.is(r.code, 1);
  assert.equal([...new Set(r.json.violations.map((v) => v.invariant))], ['transaction-lost']);
  // remove-link became dataLoss (no wait before it), so the run had the acknowledgement; the runbook still declares no such step.
  assert.match(r.json.violations[0]!.message, /40 committed transaction\(s\) lost .*no dataLoss step/);
  // The shipped one waits, gives up and loses nothing.
  const shipped = await drill([runbook('break-link'), '--set', 'pollInterval=50ms', '--set', 'stableFor=300ms', '--set', 'lsnTimeout=1s', '--scenarios', stalled, '--only', `${stalled}/no-fault`, '--seed', '1']);
  // ...which breaks no invariant, but rehearses no change either: the drill says so and exits 1,
  // having run its one case to the end: the run failed at the LSN wait, on the gap the lab stalled.
  assert.equal(shipped.json.violations, []);
  assert.is(shipped.json.exercised, false);
  assert.is(shipped.json.changedRuns, 0);
  assert.is(shipped.code, 1);
  assert.is(shipped.json.runs, 1);
  assert.equal(shipped.json.cases.map((c) => [c.fault, c.runs, c.notFired, c.exits]), [['no-fault', 1, 0, ['1']]]);
  const why = /^failed at step caught-up: LSNs did not match within 1s: the secondary managedInstance is \d+ behind the primary sqlServer/;
  assert.match(shipped.json.cases[0]!.stoppedAt.join('\n'), why);
  assert.match(shipped.stderr, /NOT EXERCISED: .* Where the runs stopped: exit 1 \(failed at step caught-up: LSNs did not match within 1s/);
});

test('a hung change is rehearsed as an operator meets it: Ctrl-C until the run gives it up, then --resume (the shipped runbook by its bare name)', async () => {
  // hang-change-2 is the FAILOVER, after both sync-commit changes: the abandoned run's journal
  // must own up to them. On the old drill this case was run-hung after 90 s (a change has no
  // request timeout: only the operator can give one up).
  const r = await drill(['planned-failover', ...FAST_PLANNED, '--only', 'healthy/hang-change-2', '--seed', '42'], tempDir('runbook-drill-cwd-'));
  assert.is(r.code, 0, JSON.stringify(r.json, null, 2));
  assert.match(r.stderr, /^runbook: no planned-failover in .*; using the shipped runbook .*runbooks\/planned-failover\.yml$/m);
  assert.equal(r.json.violations, []);
  assert.equal(r.json.cases.map((c) => [c.fault, c.runs, c.notFired, c.exits]), [['hang-change-2', 1, 0, ['130 then 0']]]);
  assert.ok(r.json.exercised);
});

test('judge: a plugin step that says read and fails over: undeclared-change', async () => {
  const dir = tempDir('runbook-drill-plugin-');
  writeFileSync(join(dir, 'quiet-read.mjs'), `import { defineStep } from '${join(root, 'dist', 'engine', 'step-api', 'index.js')}';
export default defineStep({
  type: 'quietRead', description: 'Says it reads; fails the link over.', impact: 'read', target: 'none', resultHolds: 'moment',
  with: { type: 'object', additionalProperties: false, properties: {} }, defaults: {}, messages: { done: 'read done' }, outputs: {},
  plan() { return { summary: 'Read something harmless', sql: [], guards: [] }; },
  async run(ctx) {
    const pool = await ctx.sql('sqlServer');
    await pool.request().query('ALTER AVAILABILITY GROUP [' + ctx.inventory.link.name + '] FAILOVER;');
    return { outputs: {} };
  },
});
`);
  const file = join(dir, 'quiet.yml');
  writeFileSync(file, `name: quiet
description: a sync-commit switch, an LSN wait, then a plugin step declared read that fails over
plugins: [./quiet-read.mjs]
steps:
  - id: sync-commit
    type: sqlExec
    target: sqlServer
    with:
      impact: change
      sql: |
        ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON
          {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT),
          {{str link.managedInstance.name}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);
  - id: sync-commit-managed-instance
    type: armSetReplicationMode
    with: { replicationMode: Sync, pollInterval: 50ms }
  - id: stable
    type: waitLsnStable
    with: { stableFor: 300ms, timeout: 5s, pollInterval: 50ms }
  - id: look
    type: quietRead
`);
  const r = await drill([file, '--only', 'healthy/no-fault', '--seed', '3']);
  assert.is(r.code, 1);
  assert.equal(r.json.violations.map((v) => [v.invariant, v.message]), [['undeclared-change', 'the lab saw sqlServer: ALTER AVAILABILITY GROUP [dag1] FAILOVER while step look ran, declared read']]);
});

test('judge: planned-failover edited to repeat its FAILOVER: change-applied-twice, and the replay line replays it', async () => {
  const file = edited('planned-failover', (t) => t.replace('  - id: after\n', `  - id: failover-again
    type: sqlExec
    target: primary
    with:
      impact: change
      sql: ALTER AVAILABILITY GROUP {{ident link.name}} FAILOVER;

  - id: after
`));
  const r = await drill([file, ...FAST_PLANNED, '--only', 'healthy/no-fault', '--seed', '2']);
  assert.is(r.code, 1);
  const twice = r.json.violations.find((v) => v.invariant === 'change-applied-twice');
  assert.ok(twice, JSON.stringify(r.json.violations));
  assert.match(twice!.message, /applied 2 times \(on sqlServer, then managedInstance\): ALTER AVAILABILITY GROUP \[dag1\] FAILOVER/);
  assert.match(twice!.replay, /^runbook drill .* --seed 2 --only healthy\/no-fault$/);
  // The replay line, run as printed (with the built CLI for `runbook`), finds the same violation.
  const argv = twice!.replay.split(' ').slice(2).map((a) => a.replace(/^'(.*)'$/, '$1'));
  const replayed = await drill(argv);
  assert.is(replayed.code, 1);
  assert.ok(replayed.json.violations.some((v) => v.invariant === 'change-applied-twice' && v.case === 'healthy/no-fault'));
});

test('judge: forced-failover edited to drop its data-loss marking runs without the acknowledgement and loses: transaction-lost', async () => {
  const file = edited('forced-failover', (t) => t.replaceAll('      impact: dataLoss\n', '      impact: change\n'));
  const r = await drill([file, ...FORCED_VERSION, '--scenarios', 'primary-down', '--only', 'primary-down/no-fault', '--seed', '4']);
  assert.is(r.code, 1);
  assert.equal([...new Set(r.json.violations.map((v) => v.invariant))], ['transaction-lost']);
  assert.match(r.json.violations[0]!.message, /25 committed transaction\(s\) lost .*no dataLoss step/);
});

test('bad flags and bad runbooks: one line each, exit 2, no lab started', async () => {
  for (const [args, message] of [
    [[runbook('planned-failover'), '--runs', 'many'], /^runbook: drill: --runs must be a whole number from 1 to 10000, not "many"\n$/],
    // Counted before anything is listed or started (it used to list 100000 x every case first, silently).
    [[runbook('cleanup'), '--all-scenarios', '--runs', '10000'], /^runbook: drill: \d+ case\(s\) x 10000 run\(s\) = \d+ runs, more than 10000 in one drill; lower --runs or narrow --scenarios or --only\n$/],
    [[runbook('planned-failover'), '--faults', 'all'], /^runbook: drill: --faults must be matrix or random, not "all"\n$/],
    [[runbook('planned-failover'), '--scenarios', 'nope'], /^runbook: unknown lab scenario 'nope' \(known: healthy, /],
    [[runbook('planned-failover'), '--only', 'healthy/nothing'], /^runbook: drill: --only healthy\/nothing names no case of this drill/],
    [[runbook('planned-failover'), '--set', 'nosuch=1'], /^<command line>:1:1: error unknown-input: Unknown input `nosuch`/],
  ] as Array<[string[], RegExp]>) {
    const r = await runCli(['drill', ...args]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.is(r.stdout, '');
    noStack(r.stderr);
  }
});

test.run();
