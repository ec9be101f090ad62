// A change script that ran in part (batch 1 acted, batch 2 failed) may have acted: the journal
// says so (`mayHaveActed`), a resume verifies it and refuses when that cannot tell, and `retry:`
// does not send it again unless its verify says it did not take effect. Both used to send the
// ALTER again unverified (attack r6safety finding 3: 2 ALTERs over a resume, 3 in one run). Nor
// is a plugin step that sent through ctx.sql "nothing was sent" because it told its gate so (finding 4).
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
    const first = await lab.applyInProcess(writePartialRunbook(lab.dir));
    assert.is(first.code, 4, first.stdout + first.stderr);
    assert.is(lab.count(SYNC_COMMIT), 1);
    const runId = lab.runIds()[0]!;
    const failed = lab.records(runId).find((x) => x.kind === 'step-failed' && x.step === 'sync');
    assert.is(failed?.mayHaveActed, true, JSON.stringify(failed));
    const r = await lab.inProcess(['apply', '--resume', runId, '--yes', '--outcome-timeout', '2s'], 60_000);
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
    const r = await lab.applyInProcess(writePartialRunbook(lab.dir, '{ count: 2, delay: 100ms }'));
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
    const r = await lab.applyInProcess(file);
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

test.run();
