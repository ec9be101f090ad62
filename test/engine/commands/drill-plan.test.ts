// planForDrill (engine/commands/drill-plan.ts): which dataLoss steps are their author's choice, for
// built-in steps (read in the drill's process) and plugin steps (told by the plan child, the only
// process that imports the plugins): the same answer for the same step under either name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { planForDrill } from '../../../engine/commands/drill-plan.js';
import { root, tempDir } from '../../helpers/cli.js';

/** A forced failover (dataLoss by its argument) and a link removal with no LSN wait before it (dataLoss by the engine's rule). */
const runbookText = (failover: string, remove: string, plugins = '') => `name: data-loss-choices
description: a forced failover, then a link removal with no LSN wait before it
${plugins}steps:
  - id: forced
    type: ${failover}
    with: { failoverType: ForcedAllowDataLoss }
  - id: remove-link
    type: ${remove}
`;

async function choices(dir: string, file: string): Promise<Array<[string, string, boolean]>> {
  const { plan, authorChoseDataLoss } = await planForDrill(join(dir, file), join(dir, file), [], { cwd: dir, env: process.env, stderr: new PassThrough() });
  return plan.steps.map((s) => [s.id, s.impact, authorChoseDataLoss(s)]);
}

test("a plugin step the engine made dataLoss (no LSN wait before it) is not the author's choice; one dataLoss by its arguments is, as for the built-in steps (attack r7fix #4)", async () => {
  const dir = tempDir('runbook-drill-plan-test-');
  writeFileSync(join(dir, 'builtin.yml'), runbookText('armFailoverLink', 'armDeleteLink'));
  writeFileSync(join(dir, 'wrappers.mjs'), `import del from '${join(root, 'dist', 'steps', 'armDeleteLink.js')}';\nexport default { ...del, type: 'pluginDeleteLink' };\n`);
  writeFileSync(join(dir, 'failover.mjs'), `import fo from '${join(root, 'dist', 'steps', 'armFailoverLink.js')}';\nexport default { ...fo, type: 'pluginFailoverLink' };\n`);
  writeFileSync(join(dir, 'plugins.yml'), runbookText('pluginFailoverLink', 'pluginDeleteLink', 'plugins: [./wrappers.mjs, ./failover.mjs]\n'));
  const expected: Array<[string, string, boolean]> = [['forced', 'dataLoss', true], ['remove-link', 'dataLoss', false]];
  assert.equal(await choices(dir, 'builtin.yml'), expected);
  assert.equal(await choices(dir, 'plugins.yml'), expected);
});

test('a plan child whose plugin rewrote the plan it hands back (a step left out) is refused: its steps must be the YAML\'s own', async () => {
  const dir = tempDir('runbook-drill-plan-test-');
  // Top-level code of a plugin, in the plan child: at exit, the plan file (the child's second argument) loses its last step.
  writeFileSync(join(dir, 'rewrites.mjs'), `import { readFileSync, writeFileSync } from 'node:fs';
import fo from '${join(root, 'dist', 'steps', 'armFailoverLink.js')}';
process.on('exit', () => { const f = process.argv[3]; const p = JSON.parse(readFileSync(f, 'utf8')); p.steps.pop(); writeFileSync(f, JSON.stringify(p)); });
export default { ...fo, type: 'pluginFailoverLink' };
`);
  writeFileSync(join(dir, 'rewritten.yml'), runbookText('pluginFailoverLink', 'armDeleteLink', 'plugins: [./rewrites.mjs]\n'));
  const error = await choices(dir, 'rewritten.yml').then(() => undefined, (e: unknown) => e as Error & { code?: number });
  assert.ok(error, 'the drill planned with a plan that lists fewer steps than its runbook');
  assert.match(error!.message, /^drill: the runbook's plan, made in a process of its own that ran its plugins, lists other steps \(forced \(pluginFailoverLink\)\) than .*rewritten\.yml \(forced \(pluginFailoverLink\), remove-link \(armDeleteLink\)\); the drill could not plan \(its own failure\)$/);
});

test('a plan child whose plugin calls a built-in step a plugin\'s (and its dataLoss the author\'s) is refused: which steps are built in is the drill\'s own knowledge (attack r7drill #1)', async () => {
  const dir = tempDir('runbook-drill-plan-test-');
  // Top-level code of a plugin, in the plan child: at exit, the built-in link removal is marked a plugin step and its engine-made dataLoss the author's.
  writeFileSync(join(dir, 'forges.mjs'), `import { readFileSync, writeFileSync } from 'node:fs';
import fo from '${join(root, 'dist', 'steps', 'armFailoverLink.js')}';
if (process.argv[1]?.endsWith('drill-plan-child.js')) process.on('exit', () => {
  const f = process.argv[3]; const p = JSON.parse(readFileSync(f, 'utf8'));
  for (const s of p.steps) if (s.id === 'remove-link') s.plugin = true;
  writeFileSync(f, JSON.stringify(p));
  writeFileSync(process.argv[4], JSON.stringify({ authorDataLoss: ['forced', 'remove-link'] }));
});
export default { ...fo, type: 'pluginFailoverLink' };
`);
  writeFileSync(join(dir, 'forged.yml'), runbookText('pluginFailoverLink', 'armDeleteLink', 'plugins: [./forges.mjs]\n'));
  const error = await choices(dir, 'forged.yml').then(() => undefined, (e: unknown) => e as Error & { code?: number });
  assert.ok(error, 'the drill took the built-in link removal\'s engine-made dataLoss as the author\'s choice');
  assert.match(error!.message, /^drill: the runbook's plan, made in a process of its own that ran its plugins, calls built-in step\(s\) remove-link \(armDeleteLink\) a plugin's; the drill could not plan \(its own failure\)$/);
  assert.equal((error as { exitCode?: number }).exitCode, 1);
});

test.run();
