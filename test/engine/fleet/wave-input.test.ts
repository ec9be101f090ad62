// What a wave refuses before any link starts (no lab: nothing is connected): data loss not
// acknowledged for every link it covers, a link name that is not in the fleet, flags without a
// fleet. Nothing is written either: no wave record, no link inventories.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { noStack, root, runInProcess, tempDir } from '../../helpers/cli.js';

const fleet = join(root, 'test', 'fixtures', 'inventories', 'fleet.yml');
const forced = join(root, 'runbooks', 'forced-failover.yml');
const planned = join(root, 'runbooks', 'planned-failover.yml');

async function wave(args: string[]) {
  const journals = tempDir('runbook-wave-input-');
  const r = await runInProcess(args, { env: { RUNBOOK_JOURNAL_DIR: journals } });
  noStack(r.stderr);
  const written = existsSync(join(journals, 'waves')) ? readdirSync(join(journals, 'waves')) : [];
  return { ...r, written };
}

test('--allow-data-loss must name every link with a data-loss step; --yes implies none', async () => {
  const none = await wave(['apply', forced, '-i', fleet, '--all', '--yes']);
  assert.is(none.code, 3);
  assert.match(none.stderr, /refusing the wave: 3 link\(s\) have steps that can lose data: dag-sales \(force[^)]*\); dag-hr \(force[^)]*\); dag-stock \(force[^)]*\)/);
  assert.equal(none.written, []);
  const some = await wave(['apply', forced, '-i', fleet, '--all', '--yes', '--allow-data-loss', 'dag-hr']);
  assert.is(some.code, 3);
  assert.match(some.stderr, '--allow-data-loss dag-sales,dag-stock');
  assert.equal(some.written, []);
});

test('--allow-data-loss naming a link outside the wave, or --allow-data-loss-all-of another file, is exit 2', async () => {
  const typo = await wave(['apply', forced, '-i', fleet, '--links', 'dag-hr', '--yes', '--allow-data-loss', 'dag-hr,dag-sale']);
  assert.is(typo.code, 2);
  assert.match(typo.stderr, 'dag-sale is not a link of this wave');
  const other = await wave(['apply', forced, '-i', fleet, '--all', '--yes', '--allow-data-loss-all-of', planned]);
  assert.is(other.code, 2);
  assert.match(other.stderr, '--allow-data-loss-all-of names');
  assert.equal([...typo.written, ...other.written], []);
});

test('a fleet without --links or --all, an unknown link, wave flags on one link: one line, exit 2', async () => {
  const bare = await wave(['apply', planned, '-i', fleet, '--yes']);
  assert.is(bare.code, 2);
  assert.match(bare.stderr, 'is a fleet inventory (3 links): choose the links with --links a,b or --all');
  const unknown = await wave(['plan', planned, '-i', fleet, '--links', 'dag-hr,dag-nope']);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, 'the fleet has no link dag-nope (links: dag-sales, dag-hr, dag-stock)');
  const single = await wave(['apply', planned, '-i', join(root, 'test', 'fixtures', 'inventories', 'good.yml'), '--parallel', '4']);
  assert.is(single.code, 2);
  assert.match(single.stderr, '--parallel apply to a wave');
  const zero = await wave(['apply', planned, '-i', fleet, '--all', '--parallel', '0', '--yes']);
  assert.is(zero.code, 2);
  assert.match(zero.stderr, '--parallel must be a whole number of at least 1');
});

test('plan over a fleet lists every link\'s changes, then each link\'s plan; connects to nothing', async () => {
  const r = await wave(['plan', planned, '-i', fleet, '--all']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^The wave runs planned-failover on 3 link\(s\):\n  dag-sales: SalesDb on SQL01 <-> sqlmi1; \d+ steps, changes: /);
  assert.match(r.stdout, '== Link dag-stock (3 of 3) ==');
});

test('F1: a wave takes a shipped runbook by name, as a single-link plan or apply does', async () => {
  const cwd = tempDir('runbook-wave-shipped-');
  const journals = tempDir('runbook-wave-input-');
  const plan = await runInProcess(['plan', 'planned-failover', '-i', fleet, '--all'], { cwd, env: { RUNBOOK_JOURNAL_DIR: journals } });
  assert.is(plan.code, 0, plan.stderr);
  assert.ok(plan.stderr.includes(`runbook: no planned-failover in ${cwd}; using the shipped runbook ${planned}`), plan.stderr);
  assert.match(plan.stdout, 'The wave runs planned-failover on 3 link(s):');
  // apply gets as far as its one confirmation (no terminal here: refused, exit 3), not a file-unreadable exit 2.
  const apply = await runInProcess(['apply', 'planned-failover', '-i', fleet, '--links', 'dag-hr'], { cwd, env: { RUNBOOK_JOURNAL_DIR: journals } });
  assert.is(apply.code, 3, apply.stderr);
  assert.match(apply.stderr, 'refusing the wave: 1 link(s) need confirmation (dag-hr)');
  const missing = await runInProcess(['plan', 'no-such-runbook', '-i', fleet, '--all'], { cwd, env: { RUNBOOK_JOURNAL_DIR: journals } });
  assert.is(missing.code, 2);
  assert.match(missing.stderr, 'plan: no-such-runbook: no such file');
  noStack(missing.stderr);
});

test('F9: --allow-data-loss matches names as --links does (case folded); its own flag is named in its problems; -all-of says paths compare as written', async () => {
  // DAG-HR acknowledges dag-hr: the wave then gets past the acknowledgement to its confirmation (no terminal: exit 3 there).
  const folded = await wave(['apply', forced, '-i', fleet, '--links', 'dag-hr', '--allow-data-loss', 'DAG-HR']);
  assert.is(folded.code, 3, folded.stderr);
  assert.match(folded.stderr, 'refusing the wave: 1 link(s) have gates whose question needs what the run learns');
  const empty = await wave(['apply', forced, '-i', fleet, '--links', 'dag-hr', '--yes', '--allow-data-loss', '']);
  assert.is(empty.code, 2);
  assert.match(empty.stderr, '--allow-data-loss "" has an empty name');
  assert.not.match(empty.stderr, '--links ""');
  const other = await wave(['apply', forced, '-i', fleet, '--all', '--yes', '--allow-data-loss-all-of', planned]);
  assert.is(other.code, 2);
  assert.match(other.stderr, 'the paths are compared as written');
  assert.equal([...folded.written, ...empty.written, ...other.written], []);
});

test.run();
