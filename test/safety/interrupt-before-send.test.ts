// A change step interrupted before it sent anything (its send gate saw it: engine/apply/step-runner.ts)
// changed nothing: Ctrl-C says so rather than "a change in progress", the journal records it, and a
// resume treats the step as never begun instead of refusing it as one that may have acted (attack
// r5conn: a wave's change still waiting for a shared session was announced and resumed as acting).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Interrupts } from '../../engine/apply/interrupt.js';
import { waitFor } from '../helpers/cli.js';
import { ChildLab, SYNC_COMMIT, writeNoVerifyRunbook } from '../helpers/child-runs.js';

test('Ctrl-C while a change step waits to send says it stops without sending, and a second Ctrl-C exits at once', async () => {
  const said: string[] = [];
  const exits: number[] = [];
  const interrupts = new Interrupts({ say: (l) => said.push(l), exit: (c) => exits.push(c) });
  let release!: () => void;
  const section = interrupts.nonSafe('step sync (sqlExec)', () => new Promise<void>((r) => (release = r)));
  interrupts.sendState('waiting');
  interrupts.press('SIGINT');
  assert.is(said[0], 'SIGINT: stopping now: step sync (sqlExec) has sent nothing yet (it was waiting to send its change), so it stops without sending and no further step starts (Ctrl-C again to exit at once)');
  assert.ok(interrupts.signal.aborted);
  interrupts.press('SIGINT');
  assert.equal(exits, [130], 'nothing is in progress to wait for');
  release();
  await section;
  // Once it sends, the same section is a change in progress again.
  const later = new Interrupts({ say: (l) => said.push(l), exit: (c) => exits.push(c) });
  await later.nonSafe('step sync (sqlExec)', async () => {
    later.sendState('waiting');
    later.sendState('sent');
    later.press('SIGINT');
  });
  assert.match(said.at(-1)!, /^SIGINT: stopping after step sync \(sqlExec\) \(a change in progress is finished and verified first/);
});

test('a change interrupted before it sent anything is journaled so, and a resume runs it as never begun, even without a verify: query (exit 0)', async () => {
  const lab = await ChildLab.start();
  try {
    const file = writeNoVerifyRunbook(lab.dir);
    // The run asks the lock session whether it still holds the lock right before the change; Ctrl-C lands then.
    const pin = lab.lab.hold({ match: /APPLOCK_MODE/, side: 'sqlServer' });
    const first = lab.apply(file);
    await Promise.race([pin.reached, first.done.then((r) => Promise.reject(new Error(`the run ended before it was pinned: ${r.stdout}${r.stderr}`)))]);
    let err = '';
    first.child.stderr!.on('data', (d) => (err += d));
    first.child.kill('SIGINT');
    await waitFor(() => /SIGINT: stopping/.test(err), 10_000);
    pin.release();
    const r = await first.done;
    assert.is(r.code, 130, r.stdout + r.stderr);
    assert.is(lab.count(SYNC_COMMIT), 0, 'nothing was sent');
    const runId = lab.runIds()[0]!;
    const failed = lab.records(runId).find((x) => x.kind === 'step-failed' && x.step === 'sync');
    assert.ok(failed, 'the step began and ended');
    assert.is(failed!.outcome, 'interrupted');
    assert.is(failed!.nothingSent, true, 'the journal says nothing was sent');
    // Old code: refused, "may already have acted ... its step type cannot verify it" (exit 3).
    const again = await lab.inProcess(['apply', '--resume', runId, '--yes']);
    const out = again.stdout + again.stderr;
    assert.is(again.code, 0, out);
    assert.not.match(out, /may already have acted/);
    assert.is(lab.count(SYNC_COMMIT), 1, 'the resume sent the change once');
  } finally {
    await lab.stop();
  }
});

test.run();
