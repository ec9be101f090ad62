// The drill's warm workers (engine/drill/workers.ts, engine/cli/worker.ts) against the built CLI:
// a run on a worker says what a fresh process says; a worker taking its second run carries nothing
// of the first (secrets registered for redaction, environment, directory); a SIGKILL reaches the
// run's own process and the next run gets another.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCliChild } from '../../../engine/drill/child.js';
import { WorkerPool } from '../../../engine/drill/workers.js';
import { engineBackFixtures, FIXTURE_PASSWORDS, tempDir, waitFor } from '../../helpers/cli.js';

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
    // An apply reads its password variables and registers them for redaction.
    const apply = await pool.start(['apply', join(engineBackFixtures, 'flow.yml'), '-i', join(engineBackFixtures, 'inventory.yml'), '--yes'], opts(first, { ...FIXTURE_PASSWORDS, RUNBOOK_JOURNAL_DIR: join(first, 'runs') })).done;
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

test.run();
