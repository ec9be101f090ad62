// The drill's warm workers (engine/drill/workers.ts, engine/cli/worker.ts) against the built CLI:
// a run on a worker says what a fresh process says; a worker taking its second run carries nothing
// of the first (secrets registered for redaction, environment, directory); a SIGKILL reaches the
// run's own process and the next run gets another.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCliChild } from '../../../engine/drill/child.js';
import { WorkerPool } from '../../../engine/drill/workers.js';
import { engineBackFixtures, FIXTURE_PASSWORDS, root, tempDir, waitFor } from '../../helpers/cli.js';
import { TestLab } from '../../helpers/lab-run.js';

const baseEnv = { PATH: process.env.PATH ?? '', NO_COLOR: '1' };
const opts = (cwd: string, env: Record<string, string> = {}) => ({ env: { ...baseEnv, ...env }, cwd, deadlineMs: 60_000 });

/** A runbook whose diagnostics quote `word` (an unknown top-level key). */
function runbookQuoting(dir: string, word: string): string {
  const file = join(dir, 'quoting.yml');
  writeFileSync(file, `name: quoting\ndescription: x\n${word}: 1\nsteps:\n  - { id: a, type: notify, with: { message: hi } }\n`);
  return file;
}

test('a run on a warm worker has the exit code and output of the same run in a fresh process', async () => {
  const dir = tempDir('runbook-workers-');
  const file = runbookQuoting(dir, 'surprise');
  const pool = new WorkerPool({ baseEnv, warm: 0, maxIdle: 1, reuse: true });
  try {
    for (const args of [['validate', file], ['--version'], ['plan', file]]) {
      const fresh = await startCliChild(args, opts(dir)).done;
      const warm = await pool.start(args, opts(dir)).done;
      assert.is(warm.code, fresh.code, args.join(' '));
      assert.is(warm.stdout, fresh.stdout, args.join(' '));
      assert.is(warm.stderr, fresh.stderr, args.join(' '));
    }
  } finally {
    await pool.close();
  }
});

test('a reused worker forgets the last run: its secrets are not masked in the next run, its environment and directory are gone', async () => {
  const first = tempDir('runbook-workers-');
  const second = tempDir('runbook-workers-');
  const pool = new WorkerPool({ baseEnv, warm: 0, maxIdle: 1, reuse: true });
  try {
    // An apply reads its password variables and registers them for redaction (a runbook without
    // plugins: a process that imported one is never reused). Nothing listens on the inventory's ports.
    const notify = join(first, 'notify.yml');
    writeFileSync(notify, 'name: notify\ndescription: x\nsteps:\n  - { id: a, type: notify, with: { message: hi } }\n');
    const apply = await pool.start(['apply', notify, '-i', join(engineBackFixtures, 'inventory.yml'), '--yes'], opts(first, { ...FIXTURE_PASSWORDS, RUNBOOK_JOURNAL_DIR: join(first, 'runs') })).done;
    assert.is(apply.code, 0, apply.stdout + apply.stderr);
    // The next run on the same process quotes that value in a diagnostic: a fresh process shows it.
    const password = FIXTURE_PASSWORDS.TEST_SQL_PASSWORD!;
    const validate = await pool.start(['validate', runbookQuoting(second, password)], opts(second)).done;
    assert.is(validate.pid, apply.pid, 'the same worker took the second run');
    assert.is(validate.code, 2);
    assert.match(validate.stderr, `Unknown key \`${password}\``);
    // `runs` lists the journal folder of its own environment, relative to its own directory.
    const runs = await pool.start(['runs'], opts(second)).done;
    assert.is(runs.pid, apply.pid);
    assert.not.match(runs.stdout + runs.stderr, first);
  } finally {
    await pool.close();
  }
});

test('SIGKILL reaches the run in progress; the next run is another process', async () => {
  const dir = tempDir('runbook-workers-');
  const started = join(dir, 'started');
  const pool = new WorkerPool({ baseEnv, warm: 1, maxIdle: 2, reuse: true });
  try {
    const run = pool.start(['apply', join(engineBackFixtures, 'interrupt.yml'), '-i', join(engineBackFixtures, 'inventory.yml'), '--yes', '--set', `started=${started}`, '--set', `out=${join(dir, 'out')}`], opts(dir, { ...FIXTURE_PASSWORDS, RUNBOOK_JOURNAL_DIR: join(dir, 'runs') }));
    await waitFor(() => existsSync(started), 30_000);
    run.kill('SIGKILL');
    const killed = await run.done;
    assert.is(killed.signal, 'SIGKILL');
    assert.is(killed.code, null);
    assert.not.ok(existsSync(join(dir, 'out')), 'the step after the killed one never ran');
    const next = await pool.start(['--version'], opts(dir)).done;
    assert.is(next.code, 0);
    assert.is.not(next.pid, killed.pid);
  } finally {
    await pool.close();
  }
});

test('a process that imported a plugin takes no other run, even when the pool would reuse it (attack r5drill #6)', async () => {
  const dir = tempDir('runbook-workers-');
  const pool = new WorkerPool({ baseEnv, warm: 0, maxIdle: 1, reuse: true });
  try {
    // flow.yml lists two plugins: validate imports them.
    const withPlugins = await pool.start(['validate', join(engineBackFixtures, 'flow.yml')], opts(dir)).done;
    assert.is(withPlugins.code, 0, withPlugins.stdout + withPlugins.stderr);
    const next = await pool.start(['--version'], opts(dir)).done;
    assert.is(next.code, 0);
    assert.is.not(next.pid, withPlugins.pid);
  } finally {
    await pool.close();
  }
});

test('a run that leaves a socket open, unref\'d (the ARM client\'s keep-alive to a lab still up), ends its worker; one whose lab went away leaves it reusable (attack r5drill #1)', async () => {
  const dir = tempDir('runbook-workers-');
  const file = join(dir, 'arm-read.yml');
  writeFileSync(file, 'name: arm-read\ndescription: one ARM read\nsteps:\n  - { id: link, type: armGetLink }\n');
  const pool = new WorkerPool({ baseEnv, warm: 0, maxIdle: 1, reuse: true });
  const applyOn = async (t: TestLab) => {
    const r = await pool.start(['apply', file, '-i', t.inventoryFile, '--yes'], opts(dir, { ...t.lab.env, RUNBOOK_JOURNAL_DIR: join(dir, 'runs') })).done;
    assert.is(r.code, 0, r.stdout + r.stderr);
    return r;
  };
  try {
    const up = await TestLab.start();
    let kept: number | undefined;
    try {
      kept = (await applyOn(up)).pid;
      // The lab (and its keep-alive connection) is still up while the worker settles.
      const next = await pool.start(['--version'], opts(dir)).done;
      assert.is.not(next.pid, kept, 'a worker holding a socket to the last lab was reused');
    } finally {
      await up.stop();
    }
    const gone = await TestLab.start();
    const r = await applyOn(gone);
    await gone.stop();
    const next = await pool.start(['--version'], opts(dir)).done;
    assert.is(next.pid, r.pid, 'a worker whose run left nothing open is reused');
    // After a clean run the worker stops following resources (worker-leftovers.ts stopTracking):
    // its next run is followed again, and a socket it leaves open ends the worker.
    const upAgain = await TestLab.start();
    try {
      const leaving = await applyOn(upAgain);
      assert.is(leaving.pid, r.pid, 'the clean worker took the next run');
      const after = await pool.start(['--version'], opts(dir)).done;
      assert.is.not(after.pid, leaving.pid, 'a reused worker holding a socket to the last lab was reused again');
    } finally {
      await upAgain.stop();
    }
  } finally {
    await pool.close();
  }
});

test('a run to be held at a step boundary never has a successor on its worker, even when it ends before the boundary', async () => {
  const dir = tempDir('runbook-workers-');
  const pool = new WorkerPool({ baseEnv, warm: 0, maxIdle: 1, reuse: true });
  try {
    const plain = await pool.start(['--version'], opts(dir)).done;
    const sameWorker = await pool.start(['--version'], opts(dir)).done;
    assert.is(sameWorker.pid, plain.pid, 'a plain run is followed on its worker');
    // --version writes no journal: it never reaches boundary 1 and ends by itself.
    const held = await pool.start(['--version'], { ...opts(dir), holdAt: 1 }).done;
    assert.is(held.code, 0);
    const next = await pool.start(['--version'], opts(dir)).done;
    assert.is.not(next.pid, held.pid, 'the worker of a run meant to be killed took another run');
  } finally {
    await pool.close();
  }
});

test('a run started apart from a pid gets another process, though that pid\'s worker waits idle', async () => {
  const dir = tempDir('runbook-workers-');
  // One worker started, none kept spare: the only one idle is the first run's.
  const pool = new WorkerPool({ baseEnv, warm: 0, maxIdle: 1, reuse: true });
  try {
    const first = await pool.start(['--version'], opts(dir)).done;
    const reused = await pool.start(['--version'], opts(dir)).done;
    assert.is(reused.pid, first.pid, 'the idle worker is taken when nothing is said');
    const apart = await pool.start(['--version'], { ...opts(dir), apartFrom: first.pid! }).done;
    assert.is(apart.code, 0);
    assert.is.not(apart.pid, first.pid);
  } finally {
    await pool.close();
  }
});

/** Pids of the drill workers (worker.js) this process has started and that have not exited. */
function liveWorkers(): string[] {
  const children = readdirSync('/proc/self/task').flatMap((t) => readFileSync(`/proc/self/task/${t}/children`, 'utf8').split(' ').filter(Boolean));
  return children.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('worker.js');
    } catch {
      return false;
    }
  });
}

test('a pool told how many runs may still come starts no spare beyond them: the end of a drill loads no worker for nothing', async () => {
  const dir = tempDir('runbook-workers-');
  let asksLeft = 2;
  // Two spares wanted, but only two runs to come in all: the first worker and one more.
  const options = { baseEnv, initial: 1, warm: 2, maxIdle: 3, reuse: true, demand: () => asksLeft };
  const pool = new WorkerPool(options);
  const started = new Set<string>();
  const see = () => liveWorkers().forEach((pid) => started.add(pid));
  try {
    for (let n = 0; n < 2; n++) {
      asksLeft--;
      const run = pool.start(['--version'], opts(dir));
      see();
      assert.is((await run.done).code, 0);
      see();
    }
    see();
    assert.ok(started.size <= 2, `${started.size} workers started for 2 runs`);
  } finally {
    await pool.close();
  }
});

test('worker.js outside the drill: one line and exit 2, never a stack trace; a run in a directory that is not there: one line, exit 2 (attack r5drill #5)', async () => {
  const byHand = spawnSync(process.execPath, [join(root, 'dist', 'engine', 'cli', 'worker.js')], { encoding: 'utf8' });
  assert.is(byHand.status, 2);
  assert.is(byHand.stderr, 'runbook: worker.js takes its runs from `runbook drill` over IPC; run `runbook` (bin.js) instead\n');
  const pool = new WorkerPool({ baseEnv, warm: 0, maxIdle: 1, reuse: true });
  try {
    const missing = join(tempDir('runbook-workers-'), 'gone');
    const r = await pool.start(['--version'], opts(missing)).done;
    assert.is(r.code, 2);
    assert.is(r.stderr, `runbook: cannot run in ${missing}: ENOENT\n`);
  } finally {
    await pool.close();
  }
});

test('a worker that dies while loading is a failure of the drill, with what it said; not a run that exited 7 (attack r5drill #4)', async () => {
  const dir = tempDir('runbook-workers-');
  const boom = join(dir, 'boom.cjs');
  writeFileSync(boom, "process.stderr.write('worker boom: cannot load\\n'); process.exit(7);\n");
  const pool = new WorkerPool({ baseEnv: { ...baseEnv, NODE_OPTIONS: `--require=${boom}` }, warm: 0, maxIdle: 1, reuse: true });
  try {
    const r = await pool.start(['--version'], opts(dir)).done;
    assert.is(r.code, 7);
    assert.match(r.harnessFailure ?? '', /^a drill worker \(pid \d+\) ended before its run began \(exit 7\): worker boom: cannot load$/);
  } finally {
    await pool.close();
  }
});

test.run();
