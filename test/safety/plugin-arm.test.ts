// A plugin's ARM requests through `ctx.arm()`: a step declared `impact: read` (and every probe) may
// send GETs only, refused unsent otherwise (engine/drivers/arm/read-only-arm.ts; attack r7fix
// finding 7: a "read" plugin PATCHed the link from plan --probe and from apply); and an ARM change
// a step sent is "sent", whatever it told its send gate (finding 3: it was journaled nothingSent,
// retried blind, and summed up as "Nothing was changed").
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ChildLab } from '../helpers/child-runs.js';
import { root } from '../helpers/cli.js';

const engine = (path: string) => JSON.stringify(pathToFileURL(join(root, 'dist', 'engine', path)).href);

/** A plugin step `impact` whose run (and probe) sets the link's replication mode through ctx.arm(); `before`: what it does first. */
function armPlugin(dir: string, impact: 'read' | 'change', before = '', retry = ''): string {
  const body = `${before}
    const client = await ctx.arm();
    await postLinkAction(client, linkIdsOf(ctx.inventory), 'update', { properties: { replicationMode: 'Sync' } }, { pollIntervalMs: 50, signal: ctx.signal });`;
  writeFileSync(
    join(dir, 'arm-plugin.mjs'),
    `import { postLinkAction } from ${engine('drivers/on-demand.js')};
import { linkIdsOf } from ${engine('drivers/arm/link-ids.js')};
export default {
  type: 'armPlugin', description: 'x', impact: '${impact}', target: 'none', outputs: {},
  with: { type: 'object', additionalProperties: false, properties: {} },
  plan: () => ({ summary: 'the link, through ARM' }),
  run: async (ctx) => {${body}
    ${impact === 'change' ? "throw new Error('lost track of the answer');" : 'return {};'}
  },
  probe: async (ctx) => {${body}
    return {};
  },
};
`,
  );
  const file = join(dir, 'arm-plugin.yml');
  writeFileSync(file, ['name: arm-plugin', 'description: x', 'plugins:', '  - ./arm-plugin.mjs', 'steps:', '  - id: a', '    type: armPlugin', ...(retry ? [`    retry: ${retry}`] : []), ''].join('\n'));
  return file;
}

const armWrites = (lab: ChildLab) => lab.lab.armRequests().filter((r) => r.method !== 'GET').length;

test('a "read" plugin that PATCHes the link through ctx.arm() is refused unsent: by plan --probe and by apply (exit 3)', async () => {
  const lab = await ChildLab.start();
  try {
    const file = armPlugin(lab.dir, 'read');
    const probe = await lab.cli(['plan', file, '-i', lab.inventory, '--probe']).done;
    assert.match(probe.stdout + probe.stderr, /Step a is declared impact: read, but it sent PATCH \S+ to ARM; it was not sent/);
    assert.is(armWrites(lab), 0, 'the probe sent no ARM change');
    const r = await lab.apply(file).done;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 3, out);
    assert.match(out, /Step a is declared impact: read, but it sent PATCH \S+ to ARM; it was not sent\. A step that changes anything must declare impact: change/);
    assert.is(armWrites(lab), 0, 'apply sent no ARM change');
    assert.is(lab.records().filter((x) => x.kind === 'statement' && /^PATCH/.test(String(x.text))).length, 0, 'nothing journaled as sent');
  } finally {
    await lab.stop();
  }
});

test('a plugin that told its send gate "not sent" and then changed the link through ctx.arm(): no nothingSent, no blind retry, exit 4', async () => {
  const lab = await ChildLab.start();
  try {
    const r = await lab.apply(armPlugin(lab.dir, 'change', 'ctx.sendGate?.notSent();', '{ count: 1, delay: 100ms }')).done;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 4, out);
    assert.not.match(out, /nothing was sent|Nothing was changed/);
    assert.is(armWrites(lab), 1, 'the PATCH went out once');
    const failed = lab.records(lab.runIds()[0]!).find((x) => x.kind === 'step-failed' && !x.willRetry);
    assert.is(failed?.nothingSent, undefined, JSON.stringify(failed));
    assert.is(failed?.mayHaveActed, true, JSON.stringify(failed));
  } finally {
    await lab.stop();
  }
});

test.run();
