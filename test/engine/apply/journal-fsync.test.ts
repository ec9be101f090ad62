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
    journal.close();
    assert.equal(synced, ['change started', 'dataLoss started', 'interrupted', 'finished']);
    const lines = fs.readFileSync(journal.path, 'utf8').trim().split('\n');
    assert.is(lines.length, 6, 'every record written');
  } finally {
    fs.fsyncSync = original;
    syncBuiltinESMExports();
  }
});

test.run();
