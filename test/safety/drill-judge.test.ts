// `runbook drill`'s judge end to end: runbooks edited to skip their LSN wait, to repeat their
// FAILOVER, to drop their data-loss marking or to hide a change in a step declared read are caught
// with the right invariant named; a violation's replay line replays it; a drill that exercised
// nothing says what ran and where it stopped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { root, tempDir } from '../helpers/cli.js';
import { drill, edited, FAST_PLANNED, FORCED_VERSION, runbook, stalled, withoutStep } from '../helpers/drill-cli.js';

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
  const why = /^failed at step caught-up: LSNs did not match within 1 s: the secondary managedInstance is behind the primary sqlServer \(\d+ KB of log not sent/;
  assert.match(shipped.json.cases[0]!.stoppedAt.join('\n'), why);
  assert.match(shipped.stderr, /NOT EXERCISED: .* Where the runs stopped: exit 1 \(failed at step caught-up: LSNs did not match within 1 s/);
});

test('judge: break-link edited to skip its LSN wait, with its link removal a plugin step: transaction-lost, as for the built-in (attack r7fix #4)', async () => {
  // The built-in armDeleteLink under another name, as a team's own wrapper of it would be: the
  // engine makes it dataLoss because no LSN wait comes before it, which is not the author's choice.
  // Planned in a process of its own (a plugin runbook), the drill used to take every plugin dataLoss step for the author's.
  const file = edited('break-link', (t) => {
    const cut = withoutStep(t, 'caught-up');
    return cut.slice(0, cut.indexOf('  - id: dag-on-sql-server\n')).replace('    type: armDeleteLink\n', '    type: pluginDeleteLink\n').replace('\nsteps:\n', '\nplugins: [./delete-link.mjs]\nsteps:\n');
  });
  writeFileSync(join(dirname(file), 'delete-link.mjs'), `import def from '${join(root, 'dist', 'steps', 'armDeleteLink.js')}';\nexport default { ...def, type: 'pluginDeleteLink' };\n`);
  const r = await drill([file, '--set', 'pollInterval=50ms', '--scenarios', stalled, '--only', `${stalled}/no-fault`, '--seed', '1']);
  assert.is(r.code, 1);
  assert.equal(r.json.violations.map((v) => v.invariant), ['transaction-lost']);
  assert.match(r.json.violations[0]!.message, /40 committed transaction\(s\) lost .*no dataLoss step of its own/);
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

/**
 * A plugin step that says it reads and sends a FAILOVER: at once, or in the background (retried
 * until the lab takes it) while it returns. `hides`: its module's top-level code also patches the
 * lab's statement log, in whatever process imports it, so that no FAILOVER reaches the log.
 */
function quietRead(dir: string, background: boolean, hides = false): void {
  // The step's own pool sends only plain reads for a step declared read (read-only-pool.ts), so
  // this plugin does what trusted plugin code can always do (README "Writing a step type"): it
  // opens its own connection with the pool's settings. The judge must see the change all the same.
  const failover = "own.request().query('ALTER AVAILABILITY GROUP [' + ctx.inventory.link.name + '] FAILOVER;')";
  const send = background
    ? `void (async () => { for (let i = 0; i < 150; i += 1) { await new Promise((r) => setTimeout(r, 20)); try { await ${failover}; await own.close(); return; } catch {} } })();`
    : `await ${failover}; await own.close();`;
  const hide = `const { StatementLog } = await import('${join(root, 'dist', 'lab', 'model', 'statement-log.js')}');
const append = StatementLog.prototype.append;
StatementLog.prototype.append = function (e) { return /FAILOVER/.test(e.statement) ? { id: -1, ...e } : append.call(this, e); };
`;
  writeFileSync(join(dir, 'quiet-read.mjs'), `import { defineStep } from '${join(root, 'dist', 'engine', 'step-api', 'index.js')}';
import sql from '${join(root, 'node_modules', 'mssql', 'index.js')}';
${hides ? hide : ''}export default defineStep({
  type: 'quietRead', description: 'Says it reads; fails the link over.', impact: 'read', target: 'none', resultHolds: 'moment',
  with: { type: 'object', additionalProperties: false, properties: {} }, defaults: {}, messages: { done: 'read done' }, outputs: {},
  plan() { return { summary: 'Read something harmless', sql: [], guards: [] }; },
  async run(ctx) {
    const pool = await ctx.sql('sqlServer');
    const own = await new sql.ConnectionPool(pool.config).connect();
    ${send}
    return { outputs: {} };
  },
});
`);
}

const SYNC_COMMIT = `  - id: sync-commit
    type: sqlExec
    target: sqlServer
    with:
      impact: change
      sql: |
        ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON
          {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT),
          {{str link.managedInstance.name}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);
`;
const SYNC_COMMIT_MI = `  - id: sync-commit-managed-instance
    type: armSetReplicationMode
    with: { replicationMode: Sync, pollInterval: 50ms }
`;

test('judge: a plugin step that says read and fails over, and whose module patches the lab\'s statement log where it is imported: undeclared-change', async () => {
  // attack r6drill #1: the drill plans a plugin runbook in a process of its own, so the plugin's
  // top-level code never runs beside the labs and the judge (planned in the drill's process, the
  // patch hid the FAILOVER: "No invariant broke.").
  const dir = tempDir('runbook-drill-plugin-');
  quietRead(dir, false, true);
  const file = join(dir, 'quiet.yml');
  writeFileSync(file, `name: quiet
description: a sync-commit switch, an LSN wait, then a plugin step declared read that fails over
plugins: [./quiet-read.mjs]
steps:
${SYNC_COMMIT}${SYNC_COMMIT_MI}  - id: stable
    type: waitLsnStable
    with: { stableFor: 300ms, timeout: 5s, pollInterval: 50ms }
  - id: look
    type: quietRead
`);
  const r = await drill([file, '--only', 'healthy/no-fault', '--seed', '3']);
  assert.is(r.code, 1);
  assert.equal(r.json.violations.map((v) => [v.invariant, v.message]), [['undeclared-change', "the lab saw sqlServer: ALTER AVAILABILITY GROUP [dag1] FAILOVER, that no step's journal shows sending while it ran (step look was running)"]]);
});

test('judge: a plugin step that says read and fails over in the background, landing during the next change step: undeclared-change', async () => {
  // attack r4-drill #2 (m7-masked.yml): the FAILOVER lands once the ARM step makes the MI synchronous, while that step runs.
  const dir = tempDir('runbook-drill-plugin-');
  quietRead(dir, true);
  const file = join(dir, 'masked.yml');
  writeFileSync(file, `name: masked
description: a sync-commit switch, a plugin step declared read that fails over in the background, then the MI's sync-commit switch
plugins: [./quiet-read.mjs]
steps:
${SYNC_COMMIT}  - id: look
    type: quietRead
${SYNC_COMMIT_MI}`);
  const r = await drill([file, '--only', 'healthy/no-fault', '--seed', '3']);
  assert.is(r.code, 1);
  assert.equal(r.json.violations.map((v) => v.invariant), ['undeclared-change']);
  assert.match(r.json.violations[0]!.message, /^the lab saw sqlServer: ALTER AVAILABILITY GROUP \[dag1\] FAILOVER, that no step's journal shows sending while it ran\b/);
});

test.run();
