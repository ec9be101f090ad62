// A plugin's T-SQL change carries the run's lock check whether or not the plugin asks for it
// (engine/apply/step-pool.ts; attack r5lock: a change step's ctx.sql() batches went out unchecked
// unless the plugin used ctx.changeGuard). What cannot carry the check is refused before it is sent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../helpers/lab.js';
import { ChildLab, SYNC_COMMIT, lockForgottenThenTaken } from '../helpers/child-runs.js';

const SYNC = 'ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);';

/**
 * A plugin change step that sends `with.sql` to SQL Server the way `with.how` says, knowing nothing
 * of the lock check, and a runbook of one such step; returns the runbook's path.
 */
function pluginRunbook(dir: string, how: 'request' | 'pool' | 'execute', sql: string): string {
  writeFileSync(
    join(dir, 'raw-change.mjs'),
    `export default {
  type: 'rawChange',
  description: 'Sends T-SQL through ctx.sql without the lock check (test fixture).',
  with: { type: 'object', additionalProperties: false, required: ['sql'], properties: { sql: { type: 'string', description: 'The T-SQL.' } } },
  impact: 'change',
  target: 'none',
  outputs: {},
  plan: () => ({ summary: 'raw change' }),
  run: async (ctx, args) => {
    const pool = await ctx.sql('sqlServer');
    ${how === 'request' ? 'await pool.request().batch(args.sql);' : how === 'pool' ? 'await pool.query(args.sql);' : "await pool.request().execute('sp_who');"}
    return {};
  },
};
`,
  );
  const file = join(dir, `raw-${how}.yml`);
  writeFileSync(file, ['name: raw', 'description: A plugin change.', 'plugins:', '  - ./raw-change.mjs', 'steps:', '  - id: raw', '    type: rawChange', '    with:', `      sql: ${JSON.stringify(sql)}`, ''].join('\n'));
  return file;
}

test('a plugin change sent through ctx.sql reaches the server behind the lock check (request.batch and pool.query alike), and the journal records it as the plugin wrote it', async () => {
  const lab = await ChildLab.start();
  try {
    for (const how of ['request', 'pool'] as const) {
      const r = await lab.apply(pluginRunbook(lab.dir, how, SYNC)).done;
      assert.is(r.code, 0, r.stdout + r.stderr);
      // Old code: the ALTER went out as the plugin gave it, unchecked.
      const log = lab.lab.statements();
      const at = log.map((s) => s.side === 'sqlServer' && SYNC_COMMIT.test(s.statement)).lastIndexOf(true);
      assert.ok(at > 0, `${how}: the change reached SQL Server`);
      // The lab logs each statement of a batch: the one before the ALTER on its session is the check's THROW.
      const before = log.slice(0, at).filter((s) => s.sessionId === log[at]!.sessionId && s.side === 'sqlServer').at(-1);
      assert.match(before?.statement ?? '', /@runbook_link_lock_held/, `${how}: the check ran right before the change`);
      const journaled = lab.records().filter((x) => x.kind === 'statement' && x.step === 'raw').map((x) => String(x.text));
      assert.is(journaled.length, 1, `${how}: one statement journaled`);
      assert.match(journaled[0]!, /^ALTER AVAILABILITY GROUP \[dag1\] MODIFY AVAILABILITY GROUP ON N'[^']+' WITH \(AVAILABILITY_MODE = SYNCHRONOUS_COMMIT\);$/, `${how}: journaled as the plugin wrote it`);
    }
  } finally {
    await lab.stop();
  }
});

test('the lock is KILLed and taken by a second operator while a plugin change is on its way: the server runs none of it, the step is refused (exit 5: the lock went to them)', async () => {
  const lab = await ChildLab.start();
  const dba = await connect(lab.lab, 'sqlServer', { appName: 'dba-console' });
  try {
    const pin = lab.lab.hold({ match: SYNC_COMMIT, side: 'sqlServer' });
    const first = lab.apply(pluginRunbook(lab.dir, 'request', SYNC));
    await Promise.race([pin.reached, first.done.then(() => Promise.reject(new Error('the run ended before its change was held')))]);
    await lockForgottenThenTaken(lab.lab, dba);
    pin.release();
    const r = await first.done;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 5, out);
    assert.match(out, /Step raw's request to sqlServer was refused: it did not run: the link lock on sqlServer was not held by this run's lock session \(session \d+\) when the batch reached the server, so the server ran none of it; nothing of this step was sent\./);
    assert.match(out, /program "dba-console"/);
    assert.is(lab.count(SYNC_COMMIT), 0, 'nothing ran under the other operator\'s lock');
  } finally {
    await dba.close().catch(() => undefined);
    await lab.stop();
  }
});

test('what cannot carry the check is refused unsent: a batch that must start its batch, a procedure called by RPC (exit 3)', async () => {
  const lab = await ChildLab.start();
  try {
    const cases = [
      { how: 'request' as const, sql: 'CREATE PROCEDURE dbo.p AS SELECT 1', why: /it must start its batch .*; nothing of this step was sent\./ },
      { how: 'execute' as const, sql: 'unused', why: /it called a procedure by RPC \(request\.execute\), which cannot carry the run's lock check .*; nothing of this step was sent\./ },
    ];
    for (const c of cases) {
      const before = lab.lab.statements().length;
      const r = await lab.apply(pluginRunbook(lab.dir, c.how, c.sql)).done;
      const out = r.stdout + r.stderr;
      assert.is(r.code, 3, out);
      assert.match(out, c.why);
      const sent = lab.lab.statements().slice(before).filter((s) => /CREATE PROCEDURE|sp_who/i.test(s.statement));
      assert.is(sent.length, 0, `${c.how}: nothing of it reached the server`);
    }
  } finally {
    await lab.stop();
  }
});

test.run();
