// A wave's runs borrow a few sessions per server for their steps (engine/drivers/sql/
// server-sessions.ts) besides the one lock session per server (shared-lock-sessions.ts): issue 13's
// "at most 4 logins per server", read as sessions open at once; the logins over the whole wave are
// bounded too. A script's GO batches still share one session in a wave.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fleetLab, fleetRoles } from '../../helpers/fleet-run.js';
import { FAST_PLANNED as FAST, runbookFile } from '../../helpers/lab-run.js';

const planned = runbookFile('planned-failover');
const sets = FAST.flatMap((s) => ['--set', s]);

test('a wave of 8 links (twice the bound) fails every link over with at most 4 sessions open at once per server (3 for steps, 1 for the locks) and 6 logins', async () => {
  const f = await fleetLab({ links: 8 });
  try {
    const r = await f.run(['apply', planned, '-i', f.fleetFile, '--all', '--parallel', '8', '--yes', ...sets]);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.ok(Object.values(fleetRoles(f.lab)).every((roles) => roles === 'SP'), 'every link failed over');
    const peak = f.lab.peakSessions();
    assert.ok(peak.sql01! <= 4 && peak.sqlmi1! <= 4, `sessions at once: ${JSON.stringify(peak)}`);
    // Each pool's sessions and the test login mssql's connect() makes first: 1 + 1 for the lock, 3 + 1 for the steps.
    const logins = f.lab.logins();
    assert.ok(logins.sql01! <= 6 && logins.sqlmi1! <= 6, `logins: ${JSON.stringify(logins)}`);
  } finally {
    await f.stop();
  }
});

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
    assert.ok(f.lab.peakSessions().sql01! <= 4);
  } finally {
    await f.stop();
  }
});

test.run();
