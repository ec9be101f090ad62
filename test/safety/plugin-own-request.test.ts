// A plugin that builds mssql requests on the pool ctx.sql() gave it, past the pool's own methods:
// `new sql.Request(pool)` and `new sql.Transaction(pool)` get no connection (refused, nothing sent),
// and `pool.connect()` resolves to the same guarded pool. They used to send an ALTER with no lock
// check and no journal record under a second operator's lock (attack r6safety finding 1).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildLab, SYNC_COMMIT } from '../helpers/child-runs.js';

const MSSQL = fileURLToPath(new URL('../../../node_modules/mssql/index.js', import.meta.url));
const SYNC = 'ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);';

const SENDS = {
  newRequest: 'await new sql.Request(pool).batch(args.sql);',
  newTransaction: 'const tx = new sql.Transaction(pool); await tx.begin(); await new sql.Request(tx).batch(args.sql); await tx.commit();',
  connect: 'const again = await pool.connect(); await again.request().batch(args.sql);',
};

function ownRequestRunbook(dir: string, how: keyof typeof SENDS): string {
  writeFileSync(
    join(dir, `${how}.mjs`),
    `import sql from ${JSON.stringify(MSSQL)};
export default {
  type: 'ownRequest', description: 'x', impact: 'change', target: 'none', outputs: {},
  with: { type: 'object', additionalProperties: false, required: ['sql'], properties: { sql: { type: 'string', description: 'x' } } },
  plan: () => ({ summary: 'own request' }),
  run: async (ctx, args) => { const pool = await ctx.sql('sqlServer'); ${SENDS[how]} return {}; },
};
`,
  );
  const file = join(dir, `${how}.yml`);
  writeFileSync(file, ['name: own', 'description: x', 'plugins:', `  - ./${how}.mjs`, 'steps:', '  - id: own', '    type: ownRequest', '    with:', `      sql: ${JSON.stringify(SYNC)}`, ''].join('\n'));
  return file;
}

test('new sql.Request(pool) and new sql.Transaction(pool) on a change step\'s pool get no connection: refused, nothing sent (exit 3)', async () => {
  const lab = await ChildLab.start();
  try {
    for (const how of ['newRequest', 'newTransaction'] as const) {
      const r = await lab.apply(ownRequestRunbook(lab.dir, how)).done;
      const out = r.stdout + r.stderr;
      assert.is(r.code, 3, `${how}: ${out}`);
      assert.match(out, /came from a Request, Transaction or PreparedStatement made on the pool itself/);
    }
    assert.is(lab.count(SYNC_COMMIT), 0);
  } finally {
    await lab.stop();
  }
});

test('pool.connect() resolves to the guarded pool: the change goes behind the check and is journaled', async () => {
  const lab = await ChildLab.start();
  try {
    const r = await lab.apply(ownRequestRunbook(lab.dir, 'connect')).done;
    assert.is(r.code, 0, r.stdout + r.stderr);
    const log = lab.lab.statements();
    const at = log.map((s) => s.side === 'sqlServer' && SYNC_COMMIT.test(s.statement)).lastIndexOf(true);
    assert.ok(at > 0, 'the change reached SQL Server');
    const before = log.slice(0, at).filter((s) => s.sessionId === log[at]!.sessionId && s.side === 'sqlServer').at(-1);
    assert.match(before?.statement ?? '', /@runbook_link_lock_held/);
    assert.is(lab.records().filter((x) => x.kind === 'statement' && x.step === 'own').length, 1);
  } finally {
    await lab.stop();
  }
});

test.run();
