// What counts as "the step's batch carries the run's lock check" in a plugin's ctx.sql pool
// (engine/apply/step-pool.ts; attack r6safety finding 2): a lone check covers only the very next
// batch on its side, and only one that must start its batch; a batch that merely looks like it
// begins with the check (the check's DECLARE) gets the real one at its head; one that raises the
// check's error number, or says SET NOEXEC (under which the server skips a later batch's check), is
// refused unsent, as sqlExec refuses it (finding 8). A streaming request, whose errors the engine
// cannot read, is refused too (attack r7fix finding 11).
// Each case pins the change at the lab, lets a second operator take the lock meanwhile (the server
// forgets the run's lock: a half-open session), and shows the change does not run under theirs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../helpers/lab.js';
import { ChildLab, SYNC_COMMIT, lockForgottenThenTaken } from '../helpers/child-runs.js';

const SYNC = 'ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);';

const SENDS = {
  // The check alone (as for a batch that must start its batch), then an ordinary change.
  loneCheckThenChange: `const lone = ctx.changeGuard('sqlServer').batches('CREATE PROCEDURE dbo.p AS SELECT 1').send[0];
    await pool.request().batch(lone);
    await pool.request().batch(args.sql);`,
  // The check's first words alone.
  lookalike: `await pool.request().batch("DECLARE @runbook_link_lock_held int; " + args.sql);`,
  // The check's first words, and a THROW 59317 that never fires (refused unsent below).
  lookalikeThrow: `await pool.request().batch("DECLARE @runbook_link_lock_held int; " + args.sql + " IF 1 = 0 THROW 59317, N'x', 1;");`,
  // What would make the server skip a later batch's check (SET NOEXEC ON: refused unsent below).
  noexec: `await pool.request().batch('SET NOEXEC ON'); await pool.request().batch(args.sql);`,
  // Stream mode: mssql tells a server error as an event and resolves the promise (refused unsent below).
  stream: `const r = pool.request(); r.stream = true; r.on('error', () => undefined); await r.batch(args.sql);`,
  readableStream: `const r = pool.request(); r.toReadableStream().on('error', () => undefined); await r.batch(args.sql);`,
};

function pluginRunbook(dir: string, how: keyof typeof SENDS): string {
  writeFileSync(
    join(dir, `${how}.mjs`),
    `export default {
  type: 'coverChange', description: 'x', impact: 'change', target: 'none', outputs: {},
  with: { type: 'object', additionalProperties: false, required: ['sql'], properties: { sql: { type: 'string', description: 'x' } } },
  plan: () => ({ summary: 'cover' }),
  run: async (ctx, args) => {
    const pool = await ctx.sql('sqlServer');
    ${SENDS[how]}
    return {};
  },
};
`,
  );
  const file = join(dir, `${how}.yml`);
  writeFileSync(file, ['name: cover', 'description: x', 'plugins:', `  - ./${how}.mjs`, 'steps:', '  - id: c', '    type: coverChange', '    with:', `      sql: ${JSON.stringify(SYNC)}`, ''].join('\n'));
  return file;
}

for (const how of ['loneCheckThenChange', 'lookalike'] as const) {
  test(`${how}: the change goes with the real check at its head, so the server runs none of it under a second operator's lock`, async () => {
    const lab = await ChildLab.start();
    const dba = await connect(lab.lab, 'sqlServer', { appName: 'dba-console' });
    try {
      const pin = lab.lab.hold({ match: SYNC_COMMIT, side: 'sqlServer' });
      const first = lab.apply(pluginRunbook(lab.dir, how));
      await Promise.race([pin.reached, first.done.then((r) => Promise.reject(new Error(`the run ended before its change was held: ${r.stdout}${r.stderr}`)))]);
      await lockForgottenThenTaken(lab.lab, dba);
      pin.release();
      const r = await first.done;
      const out = r.stdout + r.stderr;
      assert.is(r.code, 5, out);
      assert.match(out, /the link lock on sqlServer was not held by this run's lock session/);
      assert.is(lab.count(SYNC_COMMIT), 0, 'nothing ran under the other operator\'s lock');
      if (how === 'lookalike') {
        const journaled = lab.records().filter((x) => x.kind === 'statement' && x.step === 'c');
        assert.is(journaled.length, 1, 'the look-alike is journaled as the step\'s own batch');
      }
    } finally {
      await dba.close().catch(() => undefined);
      await lab.stop();
    }
  });
}

// Attack r7fix finding 11: in stream mode the check's refusal never reached the engine ("Changed",
// exit 0, under a second operator's lock).
test('a streaming request (request.stream, toReadableStream) in a plugin change is refused unsent, exit 3', async () => {
  const lab = await ChildLab.start();
  try {
    for (const how of ['stream', 'readableStream'] as const) {
      const r = await lab.apply(pluginRunbook(lab.dir, how)).done;
      const out = r.stdout + r.stderr;
      assert.is(r.code, 3, `${how}: ${out}`);
      assert.match(out, /was a streaming request \(request\.stream, toReadableStream, pipe\), whose errors the run cannot read/);
    }
    assert.is(lab.count(SYNC_COMMIT), 0, 'no ALTER was sent');
  } finally {
    await lab.stop();
  }
});

test('a read step that sets the pool\'s config.stream changes a copy: the engine\'s own change after it still hears the server\'s refusal (exit 5, no crash)', async () => {
  const lab = await ChildLab.start();
  const dba = await connect(lab.lab, 'sqlServer', { appName: 'dba-console' });
  try {
    writeFileSync(
      join(lab.dir, 'streamer.mjs'),
      `export default {
  type: 'streamer', description: 'x', impact: 'read', target: 'none', outputs: {},
  with: { type: 'object', additionalProperties: false, properties: {} },
  plan: () => ({ summary: 'sets config.stream' }),
  run: async (ctx) => { (await ctx.sql('sqlServer')).config.stream = true; return {}; },
};
`,
    );
    const file = join(lab.dir, 'streamer.yml');
    writeFileSync(file, ['name: streamer', 'description: x', 'plugins:', '  - ./streamer.mjs', 'steps:', '  - id: s', '    type: streamer', '  - id: sync', '    type: sqlExec', '    target: sqlServer', '    with:', '      impact: change', `      sql: ${JSON.stringify(SYNC)}`, ''].join('\n'));
    const pin = lab.lab.hold({ match: SYNC_COMMIT, side: 'sqlServer' });
    const first = lab.apply(file);
    await Promise.race([pin.reached, first.done.then((r) => Promise.reject(new Error(`the run ended before its change was held: ${r.stdout}${r.stderr}`)))]);
    await lockForgottenThenTaken(lab.lab, dba);
    pin.release();
    const r = await first.done;
    const out = r.stdout + r.stderr;
    assert.not.match(out, /Unhandled 'error' event|\n\s+at /);
    assert.is(r.code, 5, out);
    assert.match(out, /the link lock on sqlServer was not held by this run's lock session/);
    assert.is(lab.count(SYNC_COMMIT), 0);
  } finally {
    await dba.close().catch(() => undefined);
    await lab.stop();
  }
});

test('a batch that raises the check\'s error number, or says SET NOEXEC, is refused unsent in a plugin change (as sqlExec refuses it), exit 3', async () => {
  const lab = await ChildLab.start();
  try {
    for (const [how, why] of [['lookalikeThrow', /error number 59317 is reserved for the run's lock check/], ['noexec', /SET NOEXEC is refused in a change script/]] as const) {
      const r = await lab.apply(pluginRunbook(lab.dir, how)).done;
      const out = r.stdout + r.stderr;
      assert.is(r.code, 3, out);
      assert.match(out, why);
      assert.match(out, /nothing of this step was sent/);
    }
    assert.is(lab.count(SYNC_COMMIT), 0);
    assert.is(lab.count(/NOEXEC/i), 0, 'SET NOEXEC never reached the server');
  } finally {
    await lab.stop();
  }
});

test.run();
