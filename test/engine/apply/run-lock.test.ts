// The run lock: one process at a time per run's journal; a lock left by a process that is gone
// (on this host) is taken over, any other is refused with its holder named.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { tempDir } from '../../helpers/cli.js';
import { runLockPath, takeRunLock } from '../../../engine/apply/journal/run-lock.js';
import { ExitError } from '../../../engine/core/errors.js';

const RUN = '20261206T120000Z-abcd';

function refusal(fn: () => unknown): ExitError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ExitError) return error;
    throw error;
  }
  throw new Error('not refused');
}

/** The pid of a process that has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('taken, refused to a second taker (exit 3, holder named), released, taken again', () => {
  const dir = tempDir();
  const lock = takeRunLock(dir, RUN, 'resume');
  const holder = JSON.parse(readFileSync(runLockPath(dir, RUN), 'utf8'));
  assert.equal({ runId: holder.runId, pid: holder.pid, host: holder.host }, { runId: RUN, pid: process.pid, host: hostname() });
  const second = refusal(() => takeRunLock(dir, RUN, 'resume'));
  assert.is(second.exitCode, 3);
  assert.match(second.message, new RegExp(`^refusing to resume run ${RUN}: its journal is locked by pid ${process.pid} on host ${hostname()} \\(user .*, since .*\\); wait for it to end or stop it`));
  lock.release();
  lock.release();
  assert.not.ok(existsSync(runLockPath(dir, RUN)));
  takeRunLock(dir, RUN, 'resume').release();
  assert.equal(readdirSync(dir), [], 'no temporary or takeover files left behind');
});

test('a lock left by a process that is gone on this host is taken over', () => {
  const dir = tempDir();
  writeFileSync(runLockPath(dir, RUN), JSON.stringify({ runId: RUN, pid: deadPid(), host: hostname(), user: 'dba', since: '2026-12-06T11:00:00.000Z' }));
  const lock = takeRunLock(dir, RUN, 'resume');
  assert.is(JSON.parse(readFileSync(runLockPath(dir, RUN), 'utf8')).pid, process.pid);
  lock.release();
  assert.equal(readdirSync(dir), []);
});

test('refused: a lock from another host, one naming no holder, a takeover in progress', () => {
  const dir = tempDir();
  const path = runLockPath(dir, RUN);
  writeFileSync(path, JSON.stringify({ runId: RUN, pid: deadPid(), host: 'elsewhere.example', user: 'dba', since: 'then' }));
  assert.match(refusal(() => takeRunLock(dir, RUN, 'resume')).message, /locked by pid \d+ on host elsewhere\.example .*it cannot be checked from this host; if that process is gone, remove .*\.lock/);

  writeFileSync(path, '');
  assert.match(refusal(() => takeRunLock(dir, RUN, 'resume')).message, /locked by a lock file that names no holder; remove .*\.lock if no runbook process is using run/);

  // A stale lock, and another process (alive) in the middle of taking it over.
  writeFileSync(path, JSON.stringify({ runId: RUN, pid: deadPid(), host: hostname(), user: 'dba', since: 'then' }));
  writeFileSync(`${path}.takeover`, JSON.stringify({ runId: RUN, pid: process.pid, host: hostname(), user: 'dba', since: 'now' }));
  assert.match(refusal(() => takeRunLock(dir, RUN, 'resume')).message, new RegExp(`locked by pid ${process.pid} on host`));
  // The same, left behind by a takeover that crashed: named, to be removed by hand.
  writeFileSync(`${path}.takeover`, JSON.stringify({ runId: RUN, pid: deadPid(), host: hostname(), user: 'dba', since: 'then' }));
  assert.match(refusal(() => takeRunLock(dir, RUN, 'resume')).message, /remove .*\.lock\.takeover if no runbook process is using run/);
});

test('release leaves a lock that is no longer its own', () => {
  const dir = tempDir();
  const lock = takeRunLock(dir, RUN, 'start');
  const other = JSON.stringify({ runId: RUN, pid: 1, host: 'elsewhere.example', user: 'x', since: 'y' });
  writeFileSync(runLockPath(dir, RUN), other);
  lock.release();
  assert.is(readFileSync(runLockPath(dir, RUN), 'utf8'), other);
});

test.run();
