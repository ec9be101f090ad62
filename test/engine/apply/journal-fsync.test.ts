// Which journal records are fsynced (engine/apply/journal/write.ts): a change's step-started before
// it acts, the run's end and an interrupt; not a read's step-started, since in a wave every fsync
// stops the one thread all links' runs share (bench/fleet's profile: 14.8 s of an 84 s 50-link
// wave under load, 23 fsyncs per planned-failover run where 4 now).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs, { mkdtempSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openJournal } from '../../../engine/apply/journal/write.js';
import { runStepWithRetry } from '../../../engine/apply/step-runner.js';
import type { StepDefinition } from '../../../engine/step-api/types.js';

test("a read's step-started is written, not fsynced; a change's (and a dataLoss one's), the run's end and an interrupt are fsynced", () => {
  const dir = mkdtempSync(join(tmpdir(), 'runbook-journal-fsync-'));
  const original = fs.fsyncSync;
  const synced: string[] = [];
  let last = '';
  fs.fsyncSync = (fd) => {
    synced.push(last);
    original(fd);
  };
  syncBuiltinESMExports();
  try {
    const journal = openJournal(dir, '20261207T031500Z-abcd', { create: true });
    const write = (record: Parameters<typeof journal.write>[0], name: string) => {
      last = name;
      journal.write(record);
    };
    write({ kind: 'step-started', step: 'caught-up', type: 'waitLsnStable', index: 1, impact: 'read', attempt: 1 }, 'read started');
    write({ kind: 'step-finished', step: 'caught-up', outputs: {}, durationMs: 5, attempts: 1 }, 'read finished');
    write({ kind: 'step-started', step: 'failover', type: 'sqlExec', index: 2, impact: 'change', attempt: 1 }, 'change started');
    write({ kind: 'step-started', step: 'force', type: 'sqlExec', index: 3, impact: 'dataLoss', attempt: 1 }, 'dataLoss started');
    write({ kind: 'interrupted', signal: 'SIGINT', stoppedBefore: 'x' }, 'interrupted');
    write({ kind: 'run-finished', exitCode: 0, meaning: 'done', durationMs: 9, changed: [] }, 'finished');
    void journal.close();
    assert.equal(synced, ['change started', 'dataLoss started', 'interrupted', 'finished']);
    const lines = fs.readFileSync(journal.path, 'utf8').trim().split('\n');
    assert.is(lines.length, 6, 'every record written');
  } finally {
    fs.fsyncSync = original;
    syncBuiltinESMExports();
  }
});

test("a wave's journal (flushOffThread): nothing is fsynced on the thread; a change's start is durable once durable() settles, after the thread pool's fsync; close() waits for it", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'runbook-journal-fsync-'));
  const originalSync = fs.fsyncSync;
  const originalAsync = fs.fsync;
  let onThread = 0;
  const offThread: number[] = [];
  fs.fsyncSync = () => void onThread++;
  fs.fsync = ((fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => {
    offThread.push(fd);
    originalAsync(fd, cb);
  }) as typeof fs.fsync;
  syncBuiltinESMExports();
  try {
    const journal = openJournal(dir, '20261207T031500Z-abce', { create: true, flushOffThread: true });
    journal.write({ kind: 'step-started', step: 'caught-up', type: 'waitLsnStable', index: 1, impact: 'read', attempt: 1 });
    journal.write({ kind: 'step-started', step: 'failover', type: 'sqlExec', index: 2, impact: 'change', attempt: 1 });
    let durable = false;
    const flushed = journal.durable().then(() => void (durable = true));
    // A thread-pool callback cannot run between microtasks: still pending here, unlike a flush done on the thread.
    await Promise.resolve();
    await Promise.resolve();
    assert.not.ok(durable, 'the change start is flushed off the thread');
    await flushed;
    journal.write({ kind: 'run-finished', exitCode: 0, meaning: 'done', durationMs: 9, changed: [] });
    await journal.close();
    assert.is(onThread, 0, 'no fsync on the thread');
    assert.is(offThread.length, 2, "the change's start and the run's end");
    assert.is(fs.readFileSync(journal.path, 'utf8').trim().split('\n').length, 3);
  } finally {
    fs.fsyncSync = originalSync;
    fs.fsync = originalAsync;
    syncBuiltinESMExports();
  }
});

test("the step runner starts an attempt only once beforeAttempt's promise settled (the change's start record durable)", async () => {
  let ran = 0;
  let recordDurable!: () => void;
  const definition = { type: 'noteRun', run: async () => void ran++ } as unknown as StepDefinition<Record<string, never>>;
  const ending = runStepWithRetry({
    definition, args: {}, impact: 'change', nonSafe: true, runSignal: new AbortController().signal, interruptGraceMs: 50,
    context: { stepId: 'failover' } as never,
    hooks: { beforeAttempt: () => new Promise<void>((resolve) => (recordDurable = resolve)), onRetry: () => undefined },
  });
  await new Promise((r) => setImmediate(r));
  assert.is(ran, 0, 'not begun while its record is not on disk');
  recordDurable();
  const end = await ending;
  assert.ok(end.ok);
  assert.is(ran, 1);
});

test.run();
