// A run held at a step boundary by its warm worker (engine/cli/worker-hold.ts), for the drill's
// SIGKILL: the journal ends with the record that reached the boundary, however long the drill
// takes to kill; only the drill's run instruction over IPC holds a run, never the environment.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { journalRecords, startCliChild } from '../../../engine/drill/child.js';
import { WorkerPool } from '../../../engine/drill/workers.js';
import { engineBackFixtures, FIXTURE_PASSWORDS, tempDir } from '../../helpers/cli.js';

const baseEnv = { PATH: process.env.PATH ?? '', NO_COLOR: '1' };
/** Names a hold switch might have been given, had there been one outside the IPC instruction. */
const HOLD_LOOKALIKES = { RUNBOOK_HOLD_AT: '1', RUNBOOK_HOLD: '1', RUNBOOK_DRILL_HOLD: '1', RUNBOOK_HOLD_AT_BOUNDARY: '1' };

/** Three notify steps, applied with the engine's fixture inventory (nothing is contacted). */
function threeSteps(dir: string): { args: string[]; env: Record<string, string> } {
  const file = join(dir, 'three.yml');
  writeFileSync(file, 'name: three\ndescription: x\nsteps:\n  - { id: a, type: notify, with: { message: a } }\n  - { id: b, type: notify, with: { message: b } }\n  - { id: c, type: notify, with: { message: c } }\n');
  return { args: ['apply', file, '-i', join(engineBackFixtures, 'inventory.yml'), '--yes'], env: { ...baseEnv, ...FIXTURE_PASSWORDS, RUNBOOK_JOURNAL_DIR: join(dir, 'runs') } };
}

test('a worker held at boundary 2 has written nothing after step 2\'s start record until its SIGKILL, while the same run elsewhere ran to its end', async () => {
  const dir = tempDir('runbook-hold-');
  const { args, env } = threeSteps(dir);
  const pool = new WorkerPool({ baseEnv, warm: 0, maxIdle: 1, reuse: false });
  try {
    const run = pool.start(args, { env, cwd: dir, deadlineMs: 60_000, holdAt: 2 });
    let ended = false;
    void run.done.then(() => (ended = true));
    assert.ok(run.held, 'a warm worker can hold');
    assert.is(await run.held, true, 'held before the run ended');
    // Time enough for the whole run: the same run, in a process of its own, to its end.
    const other = tempDir('runbook-hold-');
    const reference = await startCliChild(args, { env: { ...env, RUNBOOK_JOURNAL_DIR: join(other, 'runs') }, cwd: other, deadlineMs: 60_000 }).done;
    assert.is(reference.code, 0, reference.stdout + reference.stderr);
    assert.not.ok(ended, 'the held run went on to its end');
    const records = journalRecords(join(dir, 'runs'));
    const last = records[records.length - 1];
    assert.equal([last?.kind, last?.step], ['step-started', 'b'], JSON.stringify(records));
    run.kill('SIGKILL');
    const killed = await run.done;
    assert.is(killed.signal, 'SIGKILL');
    assert.is(journalRecords(join(dir, 'runs')).length, records.length, 'nothing written after the boundary');
    assert.not.match(killed.stderr, 'runbook-worker-held', 'the hold mark is not in the run\'s output');
  } finally {
    await pool.close();
  }
});

test('a plain `runbook apply`, and a worker run not told to hold, ignore any environment that would turn on a hold: both run to the end', async () => {
  for (const onWorker of [false, true]) {
    const dir = tempDir('runbook-hold-');
    const { args, env } = threeSteps(dir);
    const pool = new WorkerPool({ baseEnv, warm: 0, maxIdle: 1, reuse: false });
    try {
      const opts = { env: { ...env, ...HOLD_LOOKALIKES }, cwd: dir, deadlineMs: 60_000 };
      const run = onWorker ? pool.start(args, opts) : startCliChild(args, opts);
      assert.is(run.held, undefined, 'no hold asked, none offered');
      const r = await run.done;
      assert.is(r.code, 0, r.stdout + r.stderr);
      const records = journalRecords(join(dir, 'runs'));
      assert.equal(records.filter((x) => x.kind === 'step-finished').map((x) => x.step), ['a', 'b', 'c']);
      assert.is(records[records.length - 1]?.kind, 'run-finished');
    } finally {
      await pool.close();
    }
  }
});

test.run();
