// The example plugin (examples/plugins/waitLinkSynchronized.ts) as README's "Writing a step type"
// says to test one: the step tester on its definition, its run() against the lab, and its example
// runbook through the CLI (validate, plan --lab, apply --lab), loaded by the runbook's `plugins:`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StepFailure } from '../../engine/core/errors.js';
import waitLinkSynchronized from '../../examples/plugins/waitLinkSynchronized.js';
import { connect } from '../helpers/lab.js';
import { rejection, withLabHarness } from '../helpers/steps.js';
import { stepTester, unknown } from '../helpers/step-tester.js';
import { root, runCli, tempDir } from '../helpers/cli.js';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

const example = join(root, 'examples', 'runbooks', 'make-synchronous.yml');
const SYNC = `ALTER AVAILABILITY GROUP [dag1] MODIFY AVAILABILITY GROUP ON
  N'ag1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT), N'sqlmi1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);`;

stepTester.run(waitLinkSynchronized, {
  valid: [{}, { timeout: '30s', pollInterval: '250ms' }, { with: { timeout: '{{inputs.t}}' }, inputs: { t: { type: 'string', default: '1m' } } }],
  invalid: [
    { with: { timeout: 'a while' }, errors: [{ code: 'bad-duration', path: '/with/timeout' }] },
    { with: { poll: '1s' }, errors: [{ code: 'unknown-key', path: '/with/poll' }] },
    { with: {}, target: 'primary', errors: [{ code: 'target-not-allowed', path: '/target' }] },
  ],
  plan: [
    {
      with: {},
      impact: 'read',
      summary: 'Wait until link [dag1] is in synchronous commit and its secondary SYNCHRONIZED, as the primary sees it',
      sql: [{ target: 'primary', text: [/^SELECT ar\.replica_server_name AS member/, /availability_mode_desc <> 'SYNCHRONOUS_COMMIT'/, /drs\.is_local = 0;$/], params: { link: 'dag1', db: 'SalesDb' } }],
      guards: ['Fails unless SYNCHRONIZED in synchronous commit within 2m (poll 1s)'],
    },
    { with: { timeout: unknown('inputs.t'), pollInterval: '5s' }, guards: ['Fails unless SYNCHRONIZED in synchronous commit within (known after apply) (poll 5s)'] },
  ],
});

test('an asynchronous link is waited for, then refused with the members still asynchronous', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (_lab, h) => {
    const error = await rejection(() => h.run(waitLinkSynchronized, { timeout: '1500ms', pollInterval: '50ms' }));
    assert.instance(error, StepFailure);
    assert.is(error.messageId, 'stillAsync');
    assert.is(error.message, 'Link dag1 is still not in synchronous commit after 1s500ms (ag1 ASYNCHRONOUS_COMMIT, sqlmi1 ASYNCHRONOUS_COMMIT asynchronous); switch both members to SYNCHRONOUS_COMMIT first.');
    assert.ok(h.logs.progress.length >= 2, h.logs.progress.join('\n'));
    assert.match(h.logs.progress[0]!, /^Link dag1 on the primary sqlServer: not synchronous \(.*\); the secondary is SYNCHRONIZING\.$/);
  });
});

test('a lagging secondary in synchronous commit is waited for until it has caught up and is SYNCHRONIZED', async () => {
  await withLabHarness({ scenario: 'lagging' }, async (lab, h) => {
    const pool = await connect(lab, 'sqlServer');
    try {
      await pool.request().batch(SYNC);
    } finally {
      await pool.close();
    }
    // Each side keeps its copy of the mode: the MI's is ARM's replicationMode (set in the lab's
    // model, at once: the scenario catches up 1.5 s after it starts).
    lab.link().miReplicationMode = 'Sync';
    lab.link().changed();
    const out = await h.run(waitLinkSynchronized, { timeout: '10s', pollInterval: '100ms' });
    assert.is(out.primary, 'sqlServer');
    assert.ok((out.samples as number) >= 2, `asked ${String(out.samples)} times`);
    // Replication is stalled at first (the lagging scenario): the primary does not see it synchronizing.
    assert.match(h.logs.progress[0]!, /^Link dag1 on the primary sqlServer: synchronous commit; the secondary is NOT SYNCHRONIZING\.$/);
    assert.match(h.logs.progress.at(-1)!, /^The secondary of link dag1 is SYNCHRONIZED with the primary sqlServer in synchronous commit, after /);
  });
});

test('the example runbook loads its plugin: validate and plan --lab', async () => {
  const valid = await runCli(['validate', example]);
  assert.is(valid.code, 0, valid.stderr);
  assert.match(valid.stdout, /1 file\(s\) valid\./);
  const plan = await runCli(['plan', example, '--lab', '--full']);
  assert.is(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, / 4\. synchronized {2}waitLinkSynchronized \(plugin\) {2}\[read\]\n {6}Wait until link \[dag1\] is in synchronous commit/);
});

test('the example runbook on the lab: apply --lab switches to synchronous commit and waits for SYNCHRONIZED', async () => {
  const dir = tempDir();
  const r = await runCli(['apply', example, '--lab', '--yes', '--set', 'timeout=20s'], { cwd: dir, env: { RUNBOOK_JOURNAL_DIR: dir } });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /The secondary of link dag1 is SYNCHRONIZED with the primary sqlServer in synchronous commit, after /);
  assert.match(r.stdout, /ok\s+4\. synchronized\s+waitLinkSynchronized \[read\]/);
  assert.match(r.stdout, /Changed: sync-commit/);
});

test('README "Writing a step type" quotes the example as it is: every excerpt chunk, in order', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Writing a step type\n');
  assert.ok(start >= 0, 'README has a "## Writing a step type" section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const blocks = [...section.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, body: m[2]! }));
  const sources = [
    join(root, 'examples', 'plugins', 'waitLinkSynchronized.ts'),
    join(root, 'examples', 'runbooks', 'make-synchronous.yml'),
    join(root, 'test', 'examples', 'waitLinkSynchronized.test.ts'),
  ];
  assert.equal(blocks.map((b) => b.lang), ['ts', 'yaml', 'ts']);
  blocks.forEach((block, i) => {
    const source = readFileSync(sources[i]!, 'utf8');
    let from = 0;
    for (const chunk of block.body.replace(/\n$/, '').split(/^\.\.\.\n?/m).map((c) => c.replace(/\n$/, '')).filter((c) => c.trim() !== '')) {
      const at = source.indexOf(chunk, from);
      assert.ok(at >= 0, `README chunk not found in ${sources[i]} (after offset ${from}):\n${chunk}`);
      from = at + chunk.length;
    }
  });
  for (const word of ['defineStep', 'plugins:', 'runbook/step-api', 'stepTester.run', 'verify(ctx, args)', 'probe(ctx, args)', 'resultHolds', 'ctx.impact']) {
    assert.ok(section.includes(word), `the section explains ${word}`);
  }
});

test.run();
