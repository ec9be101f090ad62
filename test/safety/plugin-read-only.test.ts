// A plugin step declared `impact: read` gets a pool that sends only plain reads, in apply and in
// plan --probe alike (engine/drivers/sql/read-only-pool.ts). It used to send whatever it was
// given: an ALTER from `plan --probe`, unlocked, while a second operator held the link lock, and
// from apply with no lock check and no question (attack r6safety finding 5).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChildLab, SYNC_COMMIT } from '../helpers/child-runs.js';

const SYNC = 'ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);';

function misdeclaredRead(dir: string, sql: string, send = 'pool.request().batch(args.sql)'): string {
  writeFileSync(
    join(dir, 'claims-read.mjs'),
    `export default {
  type: 'claimsRead', description: 'Says it reads (test fixture).', impact: 'read', target: 'none', outputs: {},
  with: { type: 'object', additionalProperties: false, required: ['sql'], properties: { sql: { type: 'string', description: 'x' } } },
  plan: () => ({ summary: 'read something' }),
  run: async (ctx, args) => { const pool = await ctx.sql('sqlServer'); await ${send}; return {}; },
  probe: async (ctx, args) => { const pool = await ctx.sql('sqlServer'); await ${send}; return {}; },
};
`,
  );
  const file = join(dir, 'claims-read.yml');
  writeFileSync(file, ['name: claims-read', 'description: x', 'plugins:', '  - ./claims-read.mjs', 'steps:', '  - id: lsn', '    type: claimsRead', '    with:', `      sql: ${JSON.stringify(sql)}`, ''].join('\n'));
  return file;
}

test('a "read" plugin that sends an ALTER is refused unsent: by plan --probe and by apply (exit 3), naming the step and "declare impact: change"', async () => {
  const lab = await ChildLab.start();
  try {
    const file = misdeclaredRead(lab.dir, SYNC);
    const probe = await lab.cli(['plan', file, '-i', lab.inventory, '--probe']).done;
    assert.match(probe.stdout + probe.stderr, /Step lsn is declared impact: read, but its request to sqlServer is not a plain read/);
    assert.is(lab.count(SYNC_COMMIT), 0, 'the probe sent no ALTER');
    const r = await lab.apply(file).done;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 3, out);
    assert.match(out, /Step lsn is declared impact: read, but its request to sqlServer is not a plain read: .*declare impact: change/);
    assert.is(lab.count(SYNC_COMMIT), 0, 'apply sent no ALTER');
    assert.is(lab.records().filter((x) => x.kind === 'statement' && x.step === 'lsn').length, 0, 'nothing journaled as sent');
  } finally {
    await lab.stop();
  }
});

test('a "read" plugin: a plain read goes; pool.query() of a change, an RPC call are refused as well', async () => {
  const lab = await ChildLab.start();
  try {
    const read = await lab.apply(misdeclaredRead(lab.dir, 'SELECT 1 AS one')).done;
    assert.is(read.code, 0, read.stdout + read.stderr);
    const viaPool = await lab.apply(misdeclaredRead(lab.dir, SYNC, 'pool.query(args.sql)')).done;
    assert.is(viaPool.code, 3, viaPool.stdout + viaPool.stderr);
    const rpc = await lab.apply(misdeclaredRead(lab.dir, SYNC, "pool.request().execute('sp_who')")).done;
    assert.is(rpc.code, 3, rpc.stdout + rpc.stderr);
    assert.match(rpc.stdout + rpc.stderr, /called a procedure by RPC/);
    assert.is(lab.count(SYNC_COMMIT), 0);
  } finally {
    await lab.stop();
  }
});

test.run();
