// A wave's runs borrow a few sessions per server for their steps (engine/drivers/sql/
// server-sessions.ts) besides the one lock session per server (shared-lock-sessions.ts): issue 13's
// "at most 4 logins per server", as sessions open at once and as logins over the wave (wave.test.ts's
// mixed fleet checks both on a planned failover). A script's GO batches still share one session in a wave.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fleetLab, type FleetRun } from '../../helpers/fleet-run.js';
import { poll } from '../../helpers/lab.js';

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

test("a wave's runs share one ARM HTTP client: three links' ARM reads, one link after the other, over fewer TLS connections than runs; each run's journal records only its own link's request", async () => {
  const f = await fleetLab({ links: 3 });
  try {
    const runbook = join(f.dir, 'arm-read.yml');
    writeFileSync(runbook, 'name: arm-read\ndescription: One ARM read.\nsteps:\n  - { id: link, type: armGetLink }\n');
    const before = f.lab.armConnections();
    const r = await f.run(['apply', runbook, '-i', f.fleetFile, '--all', '--parallel', '1', '--yes', '--format', 'json']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    const gets = f.lab.armRequests().filter((q) => q.method === 'GET' && /distributedAvailabilityGroups/i.test(q.path));
    // Each link's link read twice: apply's look before its question (engine/apply/foresee.ts) and the step.
    assert.is(gets.length, 6, JSON.stringify(gets));
    // Each run its own client once made its own agents: one handshake per run (3). A keep-alive
    // connection the lab closed while idle (5 s) would add one, not one per run.
    assert.ok(f.lab.armConnections() - before < 3, `TLS connections to ARM: ${f.lab.armConnections() - before}`);
    const runIds = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; link?: string; runId?: string }).filter((e) => e.event === 'link-started');
    for (const { link, runId } of runIds) {
      const sent = readFileSync(join(f.journalDir, `${runId}.jsonl`), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; text?: string }).filter((x) => x.kind === 'statement' && /^GET /.test(x.text ?? ''));
      assert.ok(sent.length > 0, `${link}: no ARM request journaled`);
      for (const { text } of sent) assert.match(text!, new RegExp(`/distributedAvailabilityGroups/${link}\\?`, 'i'), `${link}'s journal`);
    }
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

test("Ctrl-C in a wave while a link's live check waits for the server's one session: every link stops at once (exit 130) before anything ran, without waiting for the session", async () => {
  const f = await fleetLab({ links: 2 });
  // The first live check to reach SQL Server keeps the server's one step session; the other link's waits for it.
  const hold = f.lab.hold({ match: /SELECT 1 AS live/, side: 'sqlServer' });
  let running: Promise<FleetRun> | undefined;
  try {
    const runbook = join(f.dir, 'read.yml');
    writeFileSync(runbook, 'name: read\ndescription: One read.\nsteps:\n  - id: r\n    type: sqlExec\n    target: sqlServer\n    with: { impact: read, sql: "SELECT 1 AS x;" }\n');
    running = f.run(['apply', runbook, '-i', f.fleetFile, '--all', '--parallel', '2', '--yes'], { RUNBOOK_SESSIONS_PER_SERVER: '1' });
    await hold.reached;
    // Both links are running (the wave records that before it starts one): the one not held is in its live check, waiting.
    const record = () => {
      const dir = join(f.journalDir, 'waves');
      const file = existsSync(dir) ? readdirSync(dir).find((n) => n.endsWith('.json')) : undefined;
      return file ? (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { links: Array<{ state: string; exitCode?: number }> }) : undefined;
    };
    await poll(() => (record()?.links.every((l) => l.state === 'running') ? true : undefined));
    process.kill(process.pid, 'SIGINT');
    // Both links end while the live check is still held: the old code waited for the session, i.e. for this hold.
    await poll(() => (record()?.links.every((l) => l.exitCode === 130) ? true : undefined));
    hold.release();
    // The wave itself ends once its sessions closed, the held check's answer included.
    const r = await running;
    assert.is(r.code, 130, r.stdout + r.stderr);
    assert.not.ok(existsSync(f.journalDir) && readdirSync(f.journalDir).some((n) => n.endsWith('.jsonl')), 'no run began: no journal');
    assert.match(r.stderr, /interrupted while the replicas were being checked, before anything ran/);
  } finally {
    hold.release();
    await running?.catch(() => undefined);
    await f.stop();
  }
});

test.run();
