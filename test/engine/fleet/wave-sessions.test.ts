// A wave's runs borrow a few sessions per server for their steps (engine/drivers/sql/
// server-sessions.ts) besides the one lock session per server (shared-lock-sessions.ts): issue 13's
// "at most 4 logins per server", as sessions open at once and as logins over the wave (wave.test.ts's
// mixed fleet checks both on a planned failover). A script's GO batches still share one session in a wave.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fleetLab } from '../../helpers/fleet-run.js';

test("in a wave, a script's USE holds for its later batches, on every link at once", async () => {
  const f = await fleetLab({ links: 6 });
  try {
    const runbook = join(f.dir, 'use-then-read.yml');
    writeFileSync(runbook, `name: use-then-read
description: A script whose second batch reads what its first one set.
steps:
  - id: in-link-database
    type: sqlExec
    target: sqlServer
    with:
      impact: change
      sql: |
        USE {{ident link.database}};
        GO
        SELECT DB_NAME() AS db;
      expect: { column: db, equals: "{{link.database}}" }
`);
    const r = await f.run(['apply', runbook, '-i', f.fleetFile, '--all', '--parallel', '6', '--yes']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.ok(f.lab.peakSessions().sql01! <= 4, `sessions at once: ${JSON.stringify(f.lab.peakSessions())}`);
    // One login per session over the whole wave: 1 for the lock, at most 3 for the steps (mssql's
    // connect() login is kept as a pool's first session, engine/drivers/sql/kept-login.ts; it was 6).
    assert.ok(f.lab.logins().sql01! <= 4, `logins: ${JSON.stringify(f.lab.logins())}`);
  } finally {
    await f.stop();
  }
});

test('r5conn-9: a RUNBOOK_SESSIONS_PER_SERVER that is not a whole number from 1 to 100 is one line and exit 2, before anything is written', async () => {
  const f = await fleetLab({ links: 1 });
  try {
    const runbook = join(f.dir, 'read.yml');
    writeFileSync(runbook, 'name: read\ndescription: One read.\nsteps:\n  - id: r\n    type: sqlExec\n    target: sqlServer\n    with: { impact: read, sql: "SELECT 1 AS x;" }\n');
    for (const bad of ['abc', '0', '-2', '2.5', '1e3', '100000']) {
      const r = await f.run(['apply', runbook, '-i', f.fleetFile, '--all', '--yes'], { RUNBOOK_SESSIONS_PER_SERVER: bad });
      assert.is(r.code, 2, `${bad}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`RUNBOOK_SESSIONS_PER_SERVER must be a whole number from 1 to 100, not "${bad.replace('.', '\\.')}"`));
      assert.not.ok(existsSync(join(f.journalDir, 'waves')), 'no wave record');
    }
    const ok = await f.run(['apply', runbook, '-i', f.fleetFile, '--all', '--yes'], { RUNBOOK_SESSIONS_PER_SERVER: '2' });
    assert.is(ok.code, 0, ok.stdout + ok.stderr);
  } finally {
    await f.stop();
  }
});

test('r5conn-1: Ctrl-C in a wave while a change waits for the server\'s one step session: that link stops as interrupted (exit 130) and its change is never sent', async () => {
  const f = await fleetLab({ links: 2 });
  const hold = f.lab.hold({ match: /hangme/, side: 'sqlServer' });
  try {
    const runbook = join(f.dir, 'hang.yml');
    writeFileSync(runbook, 'name: hang\ndescription: A change the server holds on one link while the other waits.\nsteps:\n  - id: slow-change\n    type: sqlExec\n    target: sqlServer\n    with: { impact: change, sql: "SELECT 1 AS x /* hangme */;" }\n');
    const running = f.run(['apply', runbook, '-i', f.fleetFile, '--all', '--parallel', '2', '--yes'], { RUNBOOK_SESSIONS_PER_SERVER: '1' });
    await hold.reached;
    // Both links are in the change step: one held on the server, the other waiting for the session.
    const started = () => existsSync(f.journalDir) ? readdirSync(f.journalDir).filter((n) => n.endsWith('.jsonl')).filter((n) => readFileSync(join(f.journalDir, n), 'utf8').includes('"step-started"')).length : 0;
    for (let i = 0; i < 500 && started() < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.is(started(), 2, 'both links started their change');
    process.kill(process.pid, 'SIGINT');
    // The waiting link ends now; the held one only when the server answers (its change was sent).
    const ended = () => readdirSync(f.journalDir).filter((n) => n.endsWith('.jsonl') && readFileSync(join(f.journalDir, n), 'utf8').includes('"run-finished"')).length;
    for (let i = 0; i < 300 && ended() < 1; i++) await new Promise((r) => setTimeout(r, 10));
    hold.release();
    const r = await running;
    assert.is(r.code, 130, r.stdout + r.stderr);
    // The lab's statement log keeps statements without their comments.
    const sent = f.lab.statements().filter((s) => /SELECT 1 AS x/.test(s.statement));
    assert.is(sent.length, 1, `only the held link's change reached the server: ${sent.map((s) => s.link).join(', ')}`);
    assert.match(r.stdout + r.stderr, /it had sent nothing yet, so it is safe to run again/);
  } finally {
    hold.release();
    await f.stop();
  }
});

test.run();
