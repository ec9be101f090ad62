// A wave's runs borrow a few sessions per server for their steps (engine/drivers/sql/
// server-sessions.ts) besides the one lock session per server (shared-lock-sessions.ts): issue 13's
// "at most 4 logins per server", read as sessions open at once (wave.test.ts's mixed fleet checks
// it on a planned failover). A script's GO batches still share one session in a wave.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
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
    // Each pool's sessions and the test login mssql's connect() makes first: 1 + 1 for the lock, at most 3 + 1 for the steps.
    assert.ok(f.lab.logins().sql01! <= 6, `logins: ${JSON.stringify(f.lab.logins())}`);
  } finally {
    await f.stop();
  }
});

test.run();
