// The connect preflight of a wave's later links (attack r5conn finding 8): once a server's shared
// sessions are open, a run's borrower connected nothing, so the preflight checked nothing and a
// server gone down mid-wave met the next link as a raw lock refusal (exit 3). A run's first ask of
// each server now asks for a live session (server-sessions.ts live(), lock-sessions.ts live()),
// so a later link is told what a fresh wave of it alone would be told.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fleetLab } from '../../helpers/fleet-run.js';

/** What a link's run said about its lock and its exit, from a wave's output. */
function linkOutcome(output: string, link: string): { lock: string | undefined; exit: string | undefined } {
  const lines = output.split('\n').filter((l) => l.startsWith(`[${link}] `));
  const withoutRunIds = (l: string | undefined) => l?.replace(/localhost:\d+/g, 'localhost:N');
  return {
    lock: withoutRunIds(lines.find((l) => /\] (Lock |runbook: )/.test(l))),
    exit: lines.find((l) => /\] Exit \d/.test(l)),
  };
}

test("each link's run asks each server for a live session before its journal and lock, not only the link that opened the wave's sessions", async () => {
  const f = await fleetLab({ links: 3 });
  try {
    const runbook = join(f.dir, 'read.yml');
    writeFileSync(runbook, 'name: read\ndescription: One read.\nsteps:\n  - id: r\n    type: sqlExec\n    target: sqlServer\n    with: { impact: read, sql: "SELECT 3 AS x;" }\n');
    const r = await f.run(['apply', runbook, '-i', f.fleetFile, '--all', '--yes', '--parallel', '1']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    for (const side of ['sqlServer', 'managedInstance'] as const) {
      const asked = f.lab.statements().filter((s) => s.side === side && /SELECT 1 AS live/.test(s.statement)).length;
      assert.is(asked, 3, `${side}: one live check per link`);
    }
  } finally {
    await f.stop();
  }
});

test("a server gone down while a wave's first link runs: the next link is told it is unreachable, as a fresh wave of that link alone is (was exit 3, a raw lock refusal)", async () => {
  const f = await fleetLab({ links: 2 });
  try {
    const runbook = join(f.dir, 'gate.yml');
    writeFileSync(runbook, `name: gate
description: Reads the managed instance, then SQL Server.
steps:
  - id: mi
    type: sqlExec
    target: managedInstance
    with: { impact: read, sql: "SELECT 1 AS x /* gate {{ident link.name}} */;" }
  - id: sql
    type: sqlExec
    target: sqlServer
    with: { impact: read, sql: "SELECT 2 AS y;" }
`);
    const hold = f.lab.hold({ match: /gate \[dag1\]/, side: 'managedInstance' });
    const wave = f.run(['apply', runbook, '-i', f.fleetFile, '--all', '--yes', '--parallel', '1']);
    await hold.reached;
    // dag1 opened the wave's sessions on SQL Server; now it goes away.
    f.lab.setDown('sqlServer', 'refuse');
    hold.release();
    const r = await wave;
    const inWave = linkOutcome(r.stdout + r.stderr, 'dag2');
    assert.not.match(r.stdout + r.stderr, /refusing to apply: Failed to connect/);
    const alone = await f.run(['apply', runbook, '-i', f.fleetFile, '--links', 'dag2', '--yes']);
    assert.equal(inWave, linkOutcome(alone.stdout + alone.stderr, 'dag2'), r.stdout + r.stderr);
    assert.match(inWave.lock ?? '', /held on managedInstance; sqlServer unreachable, not locked \(Cannot connect to sqlServer at localhost:N: the TCP connection was refused \(ECONNREFUSED\)/);
    assert.is(r.code, alone.code);
  } finally {
    await f.stop();
  }
});

test.run();
