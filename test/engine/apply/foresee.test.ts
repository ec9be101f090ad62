// What apply foresees before its question is a help, never a wait: a replica that does not answer
// (connections that never open) leaves the question without a prediction once the deadline passes.
// (Its use on a real link, the plan saying "will refuse at step 3": test/engine/ui/confirm-on-screen.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { foresee } from '../../../engine/apply/foresee.js';
import { loadInventoryFile, loadRunbook, resolveInputsOrThrow } from '../../../engine/commands/prepare.js';
import type { ApplyOptions } from '../../../engine/apply/types.js';
import type { RunResources } from '../../../engine/core/types.js';
import { runbookFile, root } from '../../helpers/lab-run.js';
import { join } from 'node:path';

test('a probe that never gets an answer is cut at the deadline: no prediction, the roles asked again later', async () => {
  const loaded = await loadRunbook(runbookFile('planned-failover'));
  const inventory = await loadInventoryFile(join(root, 'test', 'fixtures', 'inventories', 'good.yml'));
  let invalidated = 0;
  // Not a driver: connections that never open, as a replica behind a firewall that drops packets.
  const never = () => new Promise<never>(() => undefined);
  const resources: RunResources = { sql: never, arm: never, resolveTarget: never, invalidateRoles: () => void invalidated++, close: async () => undefined };
  const opts = { runbook: loaded.runbook, steps: loaded.steps, inventory, inputs: resolveInputsOrThrow(loaded.runbook, loaded.source, []), env: {}, signal: new AbortController().signal } as unknown as ApplyOptions;
  const started = Date.now();
  assert.is(await foresee(opts, resources, 300), undefined);
  const took = Date.now() - started;
  assert.ok(took >= 300 && took < 2000, `took ${took} ms`);
  assert.ok(invalidated > 0, 'roles read by a probe are not trusted afterwards');
});

test.run();
