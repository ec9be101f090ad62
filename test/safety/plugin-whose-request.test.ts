// Whose request a plugin's error answers, and whose attempt a request belongs to (attack r7safe):
// - finding 1: a change that succeeded, then a read that failed: the read's error says nothing of
//   the change (it was "definitely not applied": retried blind, "Nothing was changed");
// - findings 2 and 3: an attempt the runner ended sends nothing more, through `pool.connect()` or
//   `ctx.arm()` either;
// - finding 4: a read step's ARM request left over after it ended is refused, whichever step asked
//   for the shared client since, and nothing of it is journaled as that step's.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChildLab, SYNC_COMMIT } from '../helpers/child-runs.js';
import { root } from '../helpers/cli.js';

const engine = (path: string) => JSON.stringify(pathToFileURL(join(root, 'dist', 'engine', path)).href);
const SYNC = 'ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);';
const armWrites = (lab: ChildLab) => lab.lab.armRequests().filter((r) => r.method !== 'GET').length;
const armImports = `import { postLinkAction, getLinkDetails } from ${engine('drivers/on-demand.js')};
import { linkIdsOf } from ${engine('drivers/arm/link-ids.js')};
const sync = (client, ctx) => postLinkAction(client, linkIdsOf(ctx.inventory), 'update', { properties: { replicationMode: 'Sync' } }, { pollIntervalMs: 50 });`;

function runbook(dir: string, name: string, plugins: string[], steps: string[]): string {
  const file = join(dir, `${name}.yml`);
  writeFileSync(file, [`name: ${name}`, 'description: x', 'plugins:', ...plugins.map((p) => `  - ./${p}`), 'steps:', ...steps, ''].join('\n'));
  return file;
}

test('a plugin change that succeeded, then a read that fails: may have acted (exit 4), not retried, and the resume does not send it again', async () => {
  const lab = await ChildLab.start();
  try {
    writeFileSync(
      join(lab.dir, 'read-after.mjs'),
      `export default {
  type: 'readAfter', description: 'x', impact: 'change', target: 'none', outputs: {},
  with: { type: 'object', additionalProperties: false, required: ['sql'], properties: { sql: { type: 'string', description: 'x' } } },
  plan: () => ({ summary: 'change, then read it back' }),
  run: async (ctx, args) => {
    const pool = await ctx.sql('sqlServer');
    await pool.request().batch(args.sql);
    await pool.request().query('SELECT name FROM sys.no_such_view');
    return {};
  },
};
`,
    );
    const file = runbook(lab.dir, 'read-after', ['read-after.mjs'], ['  - id: m', '    type: readAfter', '    retry: { count: 2, delay: 100ms }', '    with:', `      sql: ${JSON.stringify(SYNC)}`]);
    const r = await lab.applyInProcess(file);
    const out = r.stdout + r.stderr;
    assert.is(r.code, 4, out);
    assert.match(out, /Invalid object name 'sys\.no_such_view'; this error answers another request than the change step m had sent, so it does not show that nothing of it took effect; not retried/);
    assert.not.match(out, /Nothing was changed/);
    assert.is(lab.count(SYNC_COMMIT), 1, 'the ALTER went out once');
    const runId = lab.runIds()[0]!;
    const failed = lab.records(runId).find((x) => x.kind === 'step-failed' && !x.willRetry);
    assert.is(failed?.mayHaveActed, true, JSON.stringify(failed));
    const again = await lab.inProcess(['apply', '--resume', runId, '--yes', '--outcome-timeout', '2s']);
    assert.is(again.code, 3, again.stdout + again.stderr);
    assert.is(lab.count(SYNC_COMMIT), 1, 'the resume did not send it again');
  } finally {
    await lab.stop();
  }
});

test('a plugin ARM change that completed, then a GET that gets a 4xx: may have acted (exit 4), the PATCH sent once', async () => {
  const lab = await ChildLab.start();
  try {
    writeFileSync(
      join(lab.dir, 'arm-read-after.mjs'),
      `${armImports}
export default {
  type: 'armReadAfter', description: 'x', impact: 'change', target: 'none', outputs: {},
  with: { type: 'object', additionalProperties: false, properties: {} },
  plan: () => ({ summary: 'ARM change, then a read of another instance' }),
  run: async (ctx) => {
    const client = await ctx.arm();
    await sync(client, ctx);
    await client.managedInstances.get(linkIdsOf(ctx.inventory).resourceGroup, 'no-such-instance');
    return {};
  },
};
`,
    );
    const file = runbook(lab.dir, 'arm-read-after', ['arm-read-after.mjs'], ['  - id: a', '    type: armReadAfter', '    retry: { count: 2, delay: 100ms }']);
    const r = await lab.applyInProcess(file);
    const out = r.stdout + r.stderr;
    assert.is(r.code, 4, out);
    assert.match(out, /this error answers another request than the change step a had sent/);
    assert.not.match(out, /Nothing was changed/);
    assert.is(armWrites(lab), 1, 'the PATCH went out once');
    const failed = lab.records(lab.runIds()[0]!).find((x) => x.kind === 'step-failed' && !x.willRetry);
    assert.is(failed?.mayHaveActed, true, JSON.stringify(failed));
  } finally {
    await lab.stop();
  }
});

test('a plugin change refused by its own single statement is still "not applied" and retried (the error answers the change itself)', async () => {
  const lab = await ChildLab.start();
  try {
    writeFileSync(
      join(lab.dir, 'refused.mjs'),
      `export default {
  type: 'refusedOwn', description: 'x', impact: 'change', target: 'none', outputs: {},
  with: { type: 'object', additionalProperties: false, properties: {} },
  plan: () => ({ summary: 'a change the server refuses' }),
  run: async (ctx) => {
    const pool = await ctx.sql('sqlServer');
    await pool.request().query('SELECT 1 AS before_it');
    await pool.request().batch("ALTER AVAILABILITY GROUP [no_such_ag] SET (ROLE = SECONDARY);");
    return {};
  },
};
`,
    );
    const file = runbook(lab.dir, 'refused', ['refused.mjs'], ['  - id: r', '    type: refusedOwn', '    retry: { count: 1, delay: 100ms }']);
    const r = await lab.applyInProcess(file);
    const out = r.stdout + r.stderr;
    assert.is(r.code, 1, out);
    assert.match(out, /\(will retry\)/);
    assert.match(out, /Nothing was changed/);
    const failed = lab.records(lab.runIds()[0]!).find((x) => x.kind === 'step-failed' && !x.willRetry);
    assert.is(failed?.attempts, 2, JSON.stringify(failed));
    assert.is(failed?.mayHaveActed, false, JSON.stringify(failed));
  } finally {
    await lab.stop();
  }
});

/**
 * A change step `g` whose attempt 1 waits (sendGate.notSent()) past its timeout and sends only once
 * attempt 2 has sent; step `later` waits until attempt 1's send settled. `send`: the change; `timeout`: the
 * step's, which ends attempt 1 (long enough for attempt 2's change to complete).
 */
function lateAttempt(dir: string, imports: string, setup: string, send: string, timeout: string): string {
  const shared = "globalThis.late ??= {}; globalThis.late.retried ??= new Promise((r) => (globalThis.late.retry = r)); globalThis.late.settled ??= new Promise((r) => (globalThis.late.settle = r));";
  writeFileSync(
    join(dir, 'late.mjs'),
    `${imports}
${shared}
let attempts = 0;
export default {
  type: 'lateAttempt', description: 'x', impact: 'change', target: 'none', outputs: {},
  with: { type: 'object', additionalProperties: false, required: ['sql'], properties: { sql: { type: 'string', description: 'x' } } },
  plan: () => ({ summary: 'waits, then sends' }),
  run: async (ctx, args) => {
    ctx.sendGate?.notSent();
    ${setup}
    if (++attempts === 1) {
      await globalThis.late.retried;
      try { ${send} } catch (e) { globalThis.late.error = e.message; } finally { globalThis.late.settle(); }
      return {};
    }
    ${send}
    globalThis.late.retry();
    return {};
  },
};
export const after = {
  type: 'afterLate', description: 'x', impact: 'read', target: 'none', outputs: {},
  with: { type: 'object', additionalProperties: false, properties: {} },
  plan: () => ({ summary: 'waits for attempt 1 to try' }),
  run: async () => (await globalThis.late.settled, {}),
};
`,
  );
  writeFileSync(join(dir, 'after.mjs'), "export { after as default } from './late.mjs';\n");
  return runbook(dir, 'late', ['late.mjs', 'after.mjs'], ['  - id: g', '    type: lateAttempt', `    timeout: ${timeout}`, '    retry: { count: 1, delay: 50ms }', '    with:', `      sql: ${JSON.stringify(SYNC)}`, '  - id: later', '    type: afterLate']);
}

test('an attempt ended as "nothing was sent" sends nothing afterwards through the pool connect() resolved to', async () => {
  const lab = await ChildLab.start();
  try {
    const file = lateAttempt(lab.dir, '', "const pool = await (await ctx.sql('sqlServer')).connect();", 'await pool.request().batch(args.sql);', '300ms');
    const r = await lab.applyInProcess(file);
    const out = r.stdout + r.stderr;
    assert.is(r.code, 0, out);
    assert.match(out, /nothing was sent, so it did not take effect \(retrying/);
    assert.is(lab.count(SYNC_COMMIT), 1, 'the ALTER went out once, from the retry');
    assert.match(String((globalThis as { late?: { error?: string } }).late?.error), /this attempt has ended, so nothing more of it is sent/);
  } finally {
    delete (globalThis as { late?: unknown }).late;
    await lab.stop();
  }
});

test('an attempt ended as "nothing was sent" sends nothing afterwards through ctx.arm()', async () => {
  const lab = await ChildLab.start();
  try {
    const file = lateAttempt(lab.dir, armImports, 'const client = await ctx.arm();', 'await sync(client, ctx);', '1500ms');
    const r = await lab.applyInProcess(file);
    const out = r.stdout + r.stderr;
    assert.is(r.code, 0, out);
    assert.match(out, /nothing was sent, so it did not take effect \(retrying/);
    assert.is(armWrites(lab), 1, 'the PATCH went out once, from the retry');
    assert.match(String((globalThis as { late?: { error?: string } }).late?.error), /this attempt has ended, so nothing more of it is sent/);
  } finally {
    delete (globalThis as { late?: unknown }).late;
    await lab.stop();
  }
});

test('a read step\'s ARM PATCH left over after it ended is refused once a change step asked for the client, and journaled as no one\'s', async () => {
  const lab = await ChildLab.start();
  try {
    writeFileSync(
      join(lab.dir, 'steps.mjs'),
      `${armImports}
globalThis.lateRead = {};
globalThis.lateRead.go = new Promise((r) => (globalThis.lateRead.fire = r));
export const reader = {
  type: 'lateReader', description: 'x', impact: 'read', target: 'none', outputs: {},
  with: { type: 'object', additionalProperties: false, properties: {} },
  plan: () => ({ summary: 'reads the link through ARM' }),
  run: async (ctx) => {
    const client = await ctx.arm();
    await getLinkDetails(client, linkIdsOf(ctx.inventory));
    // Left behind: sent from this step's code once the change step below has asked for the client.
    globalThis.lateRead.done = globalThis.lateRead.go.then(() => sync(client, ctx)).then(() => 'sent', (e) => e.message);
    return {};
  },
};
export default {
  type: 'armLooker', description: 'x', impact: 'change', target: 'none', outputs: {},
  with: { type: 'object', additionalProperties: false, properties: {} },
  plan: () => ({ summary: 'a change step that only reads the link through ARM' }),
  run: async (ctx) => {
    const client = await ctx.arm();
    globalThis.lateRead.fire();
    globalThis.lateRead.outcome = await globalThis.lateRead.done;
    await getLinkDetails(client, linkIdsOf(ctx.inventory));
    return {};
  },
};
`,
    );
    writeFileSync(join(lab.dir, 'reader.mjs'), "export { reader as default } from './steps.mjs';\n");
    const file = runbook(lab.dir, 'read-late', ['reader.mjs', 'steps.mjs'], ['  - id: look', '    type: lateReader', '  - id: change', '    type: armLooker']);
    const r = await lab.applyInProcess(file);
    const out = r.stdout + r.stderr;
    assert.is(r.code, 0, out);
    assert.match(String((globalThis as { lateRead?: { outcome?: string } }).lateRead?.outcome), /Step look: this attempt has ended, so nothing more of it is sent; \w+ \S+ was not sent/);
    assert.is(armWrites(lab), 0, 'no ARM change went out');
    const writes = lab.records(lab.runIds()[0]!).filter((x) => x.kind === 'statement' && !/^GET /.test(String(x.text)));
    assert.equal(writes, [], 'nothing but GETs journaled');
  } finally {
    delete (globalThis as { lateRead?: unknown }).lateRead;
    await lab.stop();
  }
});

test.run();
