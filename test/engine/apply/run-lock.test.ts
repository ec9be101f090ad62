// The run lock: one process at a time per run's journal; a lock left by a process that is gone
// (on this host) is taken over, any other is refused with its holder named.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** The pid of a process that has ended (one, spawned once: each spawn costs a second on a loaded machine). */
const DEAD_PID = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
function deadPid(): number {
  return DEAD_PID;
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

test('the lock: in a directory made for it, readable by its owner only, its holder in full; the exit hook added once and removed on release', () => {
  const dir = join(tempDir(), 'not', 'yet');
  const hooks = process.listenerCount('exit');
  const before = Date.now();
  const lock = takeRunLock(dir, RUN, 'start');
  assert.is(lock.path, join(dir, `${RUN}.lock`));
  assert.is(statSync(lock.path).mode & 0o777, 0o600);
  const holder = JSON.parse(readFileSync(lock.path, 'utf8'));
  assert.equal(Object.keys(holder), ['runId', 'pid', 'host', 'user', 'since']);
  assert.is(typeof holder.user, 'string');
  assert.ok(holder.user.length > 0);
  assert.ok(Date.parse(holder.since) >= before - 1000 && Date.parse(holder.since) <= Date.now(), holder.since);
  assert.ok(readFileSync(lock.path, 'utf8').endsWith('}\n'));
  assert.is(process.listenerCount('exit'), hooks + 1);
  lock.release();
  assert.is(process.listenerCount('exit'), hooks);
  // Released once: even the same text put back (by hand) is not removed by a second release.
  writeFileSync(lock.path, JSON.stringify(holder) + '\n');
  lock.release();
  assert.ok(existsSync(lock.path));
});

test('the refusal names the holder as far as the file does, the run, what was refused, and that nothing ran', () => {
  const dir = tempDir();
  const path = runLockPath(dir, RUN);
  writeFileSync(path, JSON.stringify({ pid: 4242, host: 'elsewhere.example' }));
  assert.is(
    refusal(() => takeRunLock(dir, RUN, 'start')).message,
    `refusing to start run ${RUN}: its journal is locked by pid 4242 on host elsewhere.example (user ?, since ?); it cannot be checked from this host; if that process is gone, remove ${path}. Nothing was run.`,
  );
  // A pid that is not a number, or no host: no holder that could be checked, never taken over.
  for (const named of [{ pid: String(deadPid()), host: hostname() }, { pid: deadPid() }, { pid: deadPid(), host: 7 }, [1]]) {
    writeFileSync(path, JSON.stringify(named));
    const e = refusal(() => takeRunLock(dir, RUN, 'resume'));
    assert.is(e.message, `refusing to resume run ${RUN}: its journal is locked by a lock file that names no holder; remove ${path} if no runbook process is using run ${RUN}. Nothing was run.`, JSON.stringify(named));
    assert.is(e.exitCode, 3);
  }
  // A live process on this host, the user and since as written.
  writeFileSync(path, JSON.stringify({ runId: RUN, pid: process.pid, host: hostname(), user: 'dba', since: 'then' }));
  assert.is(
    refusal(() => takeRunLock(dir, RUN, 'resume')).message,
    `refusing to resume run ${RUN}: its journal is locked by pid ${process.pid} on host ${hostname()} (user dba, since then); wait for it to end or stop it; if pid ${process.pid} is not a runbook process, remove ${path}. Nothing was run.`,
  );
  assert.equal(readdirSync(dir), [`${RUN}.lock`], 'no temporary file left by a refusal');
});

test('a stale lock whose takeover file names a gone process on another host: refused naming the lock, not the takeover', () => {
  const dir = tempDir();
  const path = runLockPath(dir, RUN);
  writeFileSync(path, JSON.stringify({ runId: RUN, pid: deadPid(), host: hostname(), user: 'dba', since: 'then' }));
  writeFileSync(`${path}.takeover`, JSON.stringify({ runId: RUN, pid: deadPid(), host: 'elsewhere.example', user: 'dba', since: 'then' }));
  const message = refusal(() => takeRunLock(dir, RUN, 'resume')).message;
  assert.match(message, new RegExp(`on host elsewhere\\.example .*; it cannot be checked from this host; if that process is gone, remove ${path.replace(/[.]/g, '\\.')}\\. Nothing was run\\.$`));
  // And a takeover file that names no holder: the lock is named, to be removed by hand.
  writeFileSync(`${path}.takeover`, 'edited');
  assert.match(refusal(() => takeRunLock(dir, RUN, 'resume')).message, new RegExp(`names no holder; remove ${path.replace(/[.]/g, '\\.')} if no runbook`));
  assert.ok(existsSync(`${path}.takeover`), 'another process\'s takeover file is not removed');
});

test('a lock name that exists but cannot be read as a file: a dangling link is refused (nothing to check), a directory is an error, no file left behind', () => {
  const dir = tempDir();
  const path = runLockPath(dir, RUN);
  // Exists for link(2) (EEXIST), gone for read (ENOENT): taken over, then the lock cannot be put there.
  symlinkSync(join(dir, 'nowhere'), path);
  assert.match(refusal(() => takeRunLock(dir, RUN, 'resume')).message, /locked by a lock file that names no holder; remove .*\.lock if no runbook process/);
  assert.equal(readdirSync(dir).sort(), [`${RUN}.lock`], 'the takeover file is removed after the attempt');
  const other = tempDir();
  mkdirSync(runLockPath(other, RUN));
  assert.throws(() => takeRunLock(other, RUN, 'resume'), (e: unknown) => !(e instanceof ExitError) && (e as NodeJS.ErrnoException).code === 'EISDIR');
  assert.equal(readdirSync(other), [`${RUN}.lock`]);
});

test.run();
