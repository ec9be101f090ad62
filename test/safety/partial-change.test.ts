// A change script that ran in part (batch 1 acted, batch 2 failed) may have acted: the journal
// says so (`mayHaveActed`), a resume verifies it and refuses when that cannot tell, and `retry:`
// does not send it again unless its verify says it did not take effect. Both used to send the
// ALTER again unverified (attack r6safety finding 3: 2 ALTERs over a resume, 3 in one run). Nor
// is a plugin step that sent through ctx.sql "nothing was sent" because it told its gate so (finding 4).
// Nor is what batch 1 changed "someone else's" when the lock is found lost at batch 2 (finding 6).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChildLab, SYNC_COMMIT } from '../helpers/child-runs.js';

const SCRIPT =
  "ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);\nGO\nTHROW 50001, 'second batch fails', 1;";

function writePartialRunbook(dir: string, retry = ''): string {
  const file = join(dir, 'partial.yml');
  writeFileSync(
    file,
    ['name: partial', 'description: A change script whose second batch fails.', 'steps:', '  - id: sync', '    type: sqlExec', '    target: sqlServer', ...(retry ? [`    retry: ${retry}`] : []), '    with:', '      impact: change', `      sql: ${JSON.stringify(SCRIPT)}`, ''].join('\n'),
  );
  return file;
}

test('a script that ran in part is journaled may-have-acted, and the resume refuses it (exit 3) instead of sending batch 1 again', async () => {
  const lab = await ChildLab.start();
  try {
    const first = await lab.apply(writePartialRunbook(lab.dir)).done;
    assert.is(first.code, 4, first.stdout + first.stderr);
    assert.is(lab.count(SYNC_COMMIT), 1);
    const runId = lab.runIds()[0]!;
    const failed = lab.records(runId).find((x) => x.kind === 'step-failed' && x.step === 'sync');
    assert.is(failed?.mayHaveActed, true, JSON.stringify(failed));
    const r = await lab.cli(['apply', '--resume', runId, '--yes', '--outcome-timeout', '2s'], 60_000).done;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 3, out);
    assert.match(out, /step sync \(sqlExec\) may already have acted: the journal shows it ended with outcome failed/);
    assert.is(lab.count(SYNC_COMMIT), 1, 'batch 1 was not sent again');
  } finally {
    await lab.stop();
  }
});

test('retry: an attempt that ran in part, with nothing to verify it, is not tried again', async () => {
  const lab = await ChildLab.start();
  try {
    const r = await lab.apply(writePartialRunbook(lab.dir, '{ count: 2, delay: 100ms }')).done;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 4, out);
    assert.match(out, /not retried: this attempt may have acted/);
    assert.is(lab.count(SYNC_COMMIT), 1, 'the ALTER went out once');
    const runId = lab.runIds()[0]!;
    assert.is(lab.records(runId).filter((x) => x.kind === 'step-started' && x.step === 'sync').length, 1);
    assert.is(lab.records(runId).filter((x) => x.kind === 'step-verified' && x.why === 'retry').length, 1, 'its verify was asked');
  } finally {
    await lab.stop();
  }
});

test('a plugin that told its send gate "not sent" and then sent through ctx.sql is not "nothing was sent": no nothingSent, no blind retry, exit 4', async () => {
  const lab = await ChildLab.start();
  try {
    writeFileSync(
      join(lab.dir, 'gated.mjs'),
      `export default {
  type: 'gated', description: 'x', impact: 'change', target: 'none', outputs: {},
  with: { type: 'object', additionalProperties: false, required: ['sql'], properties: { sql: { type: 'string', description: 'x' } } },
  plan: () => ({ summary: 'gated change' }),
  run: async (ctx, args) => {
    ctx.sendGate?.notSent();
    const pool = await ctx.sql('sqlServer');
    await pool.request().batch(args.sql);
    throw new Error('lost track of the answer');
  },
};
`,
    );
    const sync = "ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);";
    const file = join(lab.dir, 'gated.yml');
    writeFileSync(file, ['name: gated', 'description: x', 'plugins:', '  - ./gated.mjs', 'steps:', '  - id: g', '    type: gated', '    retry: { count: 1, delay: 100ms }', '    with:', `      sql: ${JSON.stringify(sync)}`, ''].join('\n'));
    const r = await lab.apply(file).done;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 4, out);
    assert.not.match(out, /nothing was sent/);
    assert.is(lab.count(SYNC_COMMIT), 1, 'the ALTER went out once');
    const failed = lab.records(lab.runIds()[0]!).find((x) => x.kind === 'step-failed' && !x.willRetry);
    assert.is(failed?.nothingSent, undefined, JSON.stringify(failed));
    assert.is(failed?.mayHaveActed, true, JSON.stringify(failed));
  } finally {
    await lab.stop();
  }
});

// Attack r7fix finding 1: a plugin lets the server's error through raw. It answers the batch's last
// statement only: the ALTER before it took effect, so the step may have acted, whatever the error.
test('a plugin change batch whose second statement fails: may have acted, not retried blind, exit 4, and the resume does not send it again', async () => {
  const lab = await ChildLab.start();
  try {
    writeFileSync(
      join(lab.dir, 'multi.mjs'),
      `export default {
  type: 'multi', description: 'x', impact: 'change', target: 'none', outputs: {},
  with: { type: 'object', additionalProperties: false, required: ['sql'], properties: { sql: { type: 'string', description: 'x' } } },
  plan: () => ({ summary: 'one batch, two statements' }),
  run: async (ctx, args) => {
    const pool = await ctx.sql('sqlServer');
    await pool.request().batch(args.sql);
    return {};
  },
};
`,
    );
    const sql = "ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT); THROW 50001, 'second statement fails', 1;";
    const file = join(lab.dir, 'multi.yml');
    writeFileSync(file, ['name: multi', 'description: x', 'plugins:', '  - ./multi.mjs', 'steps:', '  - id: m', '    type: multi', '    retry: { count: 2, delay: 100ms }', '    with:', `      sql: ${JSON.stringify(sql)}`, ''].join('\n'));
    const r = await lab.apply(file).done;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 4, out);
    assert.match(out, /second statement fails; step m had sent a change batch of more than one statement by then, so this error does not show that nothing of it took effect; not retried: this attempt may have acted, and nothing can verify it/);
    assert.not.match(out, /Nothing was changed/);
    assert.is(lab.count(SYNC_COMMIT), 1, 'the ALTER went out once');
    const runId = lab.runIds()[0]!;
    const failed = lab.records(runId).find((x) => x.kind === 'step-failed' && !x.willRetry);
    assert.is(failed?.mayHaveActed, true, JSON.stringify(failed));
    const again = await lab.cli(['apply', '--resume', runId, '--yes', '--outcome-timeout', '2s'], 60_000).done;
    assert.is(again.code, 3, again.stdout + again.stderr);
    assert.is(lab.count(SYNC_COMMIT), 1, 'the resume did not send it again');
  } finally {
    await lab.stop();
  }
});

// Attack r6safety finding 6: the server's check refuses batch 2 (the lock was lost after batch 1,
// whose check passed); the link changed by batch 1 of this very step must not be named "someone
// else acted" (an operator would hunt for a second operator, or undo the run's own change).
test('a lock the server finds lost at batch 2 of a change: the change batch 1 made is "this run cannot tell", not "someone else acted", in the run and in the resume\'s refusal', async () => {
  const lab = await ChildLab.start();
  try {
    const file = join(lab.dir, 'two.yml');
    const script = "ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);\nGO\nSELECT 2 AS two;";
    writeFileSync(file, ['name: two', 'description: Two batches.', 'steps:', '  - id: sync', '    type: sqlExec', '    target: sqlServer', '    with:', '      impact: change', `      sql: ${JSON.stringify(script)}`, ''].join('\n'));
    const { pin, run, runId } = await lab.applyHeld(file, [], { match: /SELECT 2 AS two/, side: 'sqlServer' });
    // The server forgets the run's lock (a KILL the client has not heard of yet); batch 2's check finds it.
    lab.lab.model.applocks.releaseSession('sql01', lab.lockOf(runId).holder.sessionId);
    pin.release();
    const r = await run.done;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 5, out);
    assert.is(lab.count(SYNC_COMMIT), 1);
    assert.match(out, /This run cannot tell whether its step sync, which was changing the link then, or someone else did that/);
    assert.not.match(out, /Someone else acted/);
    const lost = lab.records(runId).find((x) => x.kind === 'lock-lost');
    assert.is(lost?.ownStep, 'sync', JSON.stringify(lost));
    const again = await lab.cli(['apply', '--resume', runId, '--yes', '--outcome-timeout', '2s'], 60_000).done;
    const said = again.stdout + again.stderr;
    assert.is(again.code, 3, said);
    assert.match(said, /the link changed while its own step sync was running \(.*\), and it could not tell whether that step or someone else did that/);
    assert.not.match(said, /someone else acted/);
    assert.is(lab.count(SYNC_COMMIT), 1, 'nothing sent again');
  } finally {
    await lab.stop();
  }
});

test.run();
