// A change batch that begins with a procedure called without EXEC (`sp_configure ...; RECONFIGURE;`)
// could carry the run's lock check only as a batch of its own before it: a KILL of the lock session
// between the two is a moment the server does not check. Refused instead, with "write EXEC ...":
// by validate (file:line:col, exit 2) when the text is known, by apply before anything is sent when
// a template makes it (engine/drivers/sql/change-sql-rules.ts bareProcedureCalls).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChildLab } from '../helpers/child-runs.js';
import { runCli, tempDir } from '../helpers/cli.js';

function runbookWith(dir: string, sql: string): string {
  const file = join(dir, 'bare.yml');
  writeFileSync(file, ['name: bare', 'description: x', 'steps:', '  - id: cfg', '    type: sqlExec', '    target: sqlServer', '    with:', '      impact: change', '      sql: |', ...sql.split('\n').map((l) => `        ${l}`), ''].join('\n'));
  return file;
}

test('validate: a change batch that begins with a bare procedure call is refused at its line and column (exit 2); EXEC, a read, a module definition are not', async () => {
  const dir = tempDir('runbook-bare-');
  const r = await runCli(['validate', runbookWith(dir, "SELECT 1;\nGO\nsp_configure 'show advanced options', 1; RECONFIGURE;")]);
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /bare\.yml:12:9: error reserved-sql: Step `cfg`: sp_configure is a procedure called without EXEC, .*; write `EXEC sp_configure` instead\./);
  for (const fine of ["EXEC sp_configure 'show advanced options', 1; RECONFIGURE;", 'CREATE PROCEDURE dbo.p AS SELECT 1;', 'x:\nSELECT 1;']) {
    const ok = await runCli(['validate', runbookWith(dir, fine)]);
    assert.is(ok.code, 0, `${fine}\n${ok.stdout}${ok.stderr}`);
  }
});

test('apply: a bare procedure call a template makes is refused before anything is sent (exit 3)', async () => {
  const lab = await ChildLab.start();
  try {
    const r = await lab.apply(runbookWith(lab.dir, "{{#if true}}sp_configure 'show advanced options', 1; RECONFIGURE;{{/if}}")).done;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 3, out);
    assert.match(out, /sp_configure is a procedure called without EXEC.*write `EXEC sp_configure` instead/);
    assert.is(lab.count(/sp_configure|runbook_link_lock_held/), 0, 'neither the check nor the call was sent');
  } finally {
    await lab.stop();
  }
});

test.run();
