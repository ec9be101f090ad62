// What apply foresees before its question is a help, never a wait: a replica that does not answer
// (connections that never open) leaves the question without a prediction once the deadline passes,
// over connections of the probes' own; only a definite answer is a prediction.
// (Its use on a real link, the plan saying "will refuse at step 3": test/engine/ui/confirm-on-screen.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { boundedInventory, foresee, judged } from '../../../engine/apply/foresee.js';
import type { PredictedPath } from '../../../engine/plan/probe.js';
import { loadInventoryFile, loadRunbook, resolveInputsOrThrow } from '../../../engine/commands/prepare.js';
import type { ApplyOptions } from '../../../engine/apply/types.js';
import type { Inventory, RunResources } from '../../../engine/core/types.js';
import { runbookFile, root } from '../../helpers/lab-run.js';
import { waitFor } from '../../helpers/cli.js';
import { join } from 'node:path';

test('a probe that never gets an answer is cut at the deadline: the question says the probes timed out, and their own connections are closed', async () => {
  const loaded = await loadRunbook(runbookFile('planned-failover'));
  const inventory = await loadInventoryFile(join(root, 'test', 'fixtures', 'inventories', 'good.yml'));
  let closed = 0;
  // Not a driver: connections that never open, as a replica behind a firewall that drops packets.
  const never = () => new Promise<never>(() => undefined);
  const resources: RunResources = { sql: never, arm: never, resolveTarget: never, invalidateRoles: () => undefined, close: async () => void closed++ };
  const opts = { runbook: loaded.runbook, steps: loaded.steps, inventory, inputs: resolveInputsOrThrow(loaded.runbook, loaded.source, []), env: {}, signal: new AbortController().signal } as unknown as ApplyOptions;
  const started = Date.now();
  const seen = await foresee(opts, 300, async () => resources);
  const took = Date.now() - started;
  assert.is(seen.kind, 'timed out');
  assert.ok(took >= 300 && took < 2000, `took ${took} ms`);
  assert.ok(closed > 0, 'the probes\' connections are closed at the deadline');
});

test('connections that open only after the deadline, for a probe that never ends, are closed as soon as they open', async () => {
  const loaded = await loadRunbook(runbookFile('planned-failover'));
  const inventory = await loadInventoryFile(join(root, 'test', 'fixtures', 'inventories', 'good.yml'));
  let closed = 0;
  const never = () => new Promise<never>(() => undefined);
  const resources: RunResources = { sql: never, arm: never, resolveTarget: never, invalidateRoles: () => undefined, close: async () => void closed++ };
  let opened!: () => void;
  const slowOpen = new Promise<void>((resolve) => (opened = resolve));
  let asked = false;
  const open = async () => ((asked = true), await slowOpen, resources);
  const opts = { runbook: loaded.runbook, steps: loaded.steps, inventory, inputs: resolveInputsOrThrow(loaded.runbook, loaded.source, []), env: {}, signal: new AbortController().signal } as unknown as ApplyOptions;
  const seen = await foresee(opts, 100, open);
  assert.is(seen.kind, 'timed out');
  assert.ok(asked, 'the probes began to open their connections before the deadline');
  assert.is(closed, 0, 'nothing to close yet');
  opened();
  await waitFor(() => closed > 0, 2000);
});

test('the probes\' connections are their own, cut to the deadline: a role read hung past it cannot hold a run\'s', () => {
  const given = { host: 'h', requestTimeoutMs: 0, connectTimeoutMs: 60_000 };
  const inventory = { link: { sqlServer: { connection: given }, managedInstance: { connection: { host: 'm', requestTimeoutMs: 2000 } } } } as unknown as Inventory;
  const bounded = boundedInventory(inventory, 5000);
  assert.equal(bounded.link.sqlServer.connection, { host: 'h', requestTimeoutMs: 5000, connectTimeoutMs: 5000 });
  assert.equal(bounded.link.managedInstance.connection, { host: 'm', requestTimeoutMs: 2000, connectTimeoutMs: 5000 });
  assert.is(given.requestTimeoutMs, 0, 'the run\'s inventory is left as it was');
});

test('only a definite answer is a prediction: a refusal is; a probe that failed (a dropped connection) is "could not tell"', () => {
  const step = (id: string, probed: boolean) => ({ index: 3, id, type: 'sqlQuery', impact: 'read' as const, prediction: 'fails' as const, probed, notes: [] });
  const failed: PredictedPath = { outcome: 'fails', summary: 's', steps: [step('version', true)], stoppedAt: { index: 3, id: 'version', outcome: 'fails', message: 'socket hang up' } };
  const told = judged(failed);
  assert.is(told.kind, 'could not tell');
  assert.is(told.kind === 'could not tell' && told.line, 'Step 3 (version) could not be probed (socket hang up): the plan shows no prediction from it; the run checks it when it gets there.');
  const refused: PredictedPath = { ...failed, outcome: 'refused', stoppedAt: { ...failed.stoppedAt!, outcome: 'refused' } };
  assert.is(judged(refused).kind, 'predicted');
  // A template that cannot render fails the same way in the run: definite, though nothing was probed.
  assert.is(judged({ ...failed, steps: [step('version', false)] }).kind, 'predicted');
});

test.run();
