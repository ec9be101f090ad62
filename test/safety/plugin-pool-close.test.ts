// The connection a step gets from ctx.sql() is the run's (attack r7safe finding 6): a plugin that
// closes "its" pool, as mssql's README teaches, must not end it for the steps after it; and a batch
// the driver refused before writing anything (the run's connection closed by other means) is "not
// sent", never "the connection was lost during the batch, outcome unknown".
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChildLab, SYNC_COMMIT } from '../helpers/child-runs.js';

const SYNC = 'ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);';

/** A read plugin step that runs `close` on the pool ctx.sql gave it after a read, then the built-in change. */
function closerRunbook(dir: string, close: string): string {
  writeFileSync(
    join(dir, 'closer.mjs'),
    `export default {
  type: 'closer', description: 'x', impact: 'read', target: 'none', outputs: {},
  with: { type: 'object', additionalProperties: false, properties: {} },
  plan: () => ({ summary: 'reads, then closes its pool' }),
  run: async (ctx) => {
    const pool = await ctx.sql('sqlServer');
    try { await pool.request().query('SELECT 1 AS x'); } finally { ${close} }
    return {};
  },
};
`,
  );
  const file = join(dir, 'closer.yml');
  writeFileSync(file, ['name: closer', 'description: x', 'plugins:', '  - ./closer.mjs', 'steps:', '  - id: look', '    type: closer', '  - id: change', '    type: sqlExec', '    target: sqlServer', '    with:', '      impact: change', `      sql: ${JSON.stringify(SYNC)}`, ''].join('\n'));
  return file;
}

test('a plugin that closes the pool ctx.sql gave it leaves the run\'s connection open: the next change step runs (exit 0)', async () => {
  const lab = await ChildLab.start();
  try {
    const r = await lab.applyInProcess(closerRunbook(lab.dir, 'await pool.close();'), ['--outcome-timeout', '2s']);
    const out = r.stdout + r.stderr;
    assert.is(r.code, 0, out);
    assert.is(lab.count(SYNC_COMMIT), 1, 'the ALTER went out');
  } finally {
    await lab.stop();
  }
});

test('a batch the driver refused unsent because the run\'s connection was closed: "not sent", exit 1, not an unknown outcome', async () => {
  const lab = await ChildLab.start();
  try {
    // Past the step's view: the pool class's own close(), called on it.
    const r = await lab.applyInProcess(closerRunbook(lab.dir, 'await Object.getPrototypeOf(pool).close.call(pool);'), ['--outcome-timeout', '2s']);
    const out = r.stdout + r.stderr;
    assert.is(r.code, 1, out);
    assert.match(out, /Step change's request to sqlServer was not sent: the run's connection to sqlServer is closed \(Connection is closed\); nothing of this step was sent/);
    assert.not.match(out, /was lost during batch|May have changed/);
    assert.is(lab.count(SYNC_COMMIT), 0);
    const failed = lab.records(lab.runIds()[0]!).find((x) => x.kind === 'step-failed');
    assert.is(failed?.step, 'change', JSON.stringify(failed));
    assert.is(failed?.mayHaveActed, false, JSON.stringify(failed));
  } finally {
    await lab.stop();
  }
});

test.run();
