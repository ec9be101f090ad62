// Fault matrix, SQL text: string literals holding `--` or `/*` (issue 9, point 6). The probe's
// read-only check and sqlExec's "nothing took effect" both read the engine's one T-SQL scanner;
// the lab's statement log shows what really reached the replicas.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { labWithInventory } from '../helpers/lab-run.js';
import { ChildLab, SYNC_COMMIT } from '../helpers/child-runs.js';

/** A runbook of sqlExec steps on SQL Server; `impact` per step. */
function sqlRunbook(dir: string, name: string, steps: Array<{ id: string; sql: string; impact?: string }>): string {
  const file = join(dir, `${name}.yml`);
  const body = steps
    .map((s) => {
      const sql = s.sql.split('\n').map((l) => `        ${l}`).join('\n');
      return `  - id: ${s.id}\n    type: sqlExec\n    target: sqlServer\n    with:\n      impact: ${s.impact ?? 'change'}\n      sql: |\n${sql}\n`;
    })
    .join('');
  // `impact: "{{inputs.read}}"` renders to read: validate, which refuses a literal `impact: read`
  // whose SQL is not a plain read, cannot judge it, so the probe's own check is what is tested.
  writeFileSync(file, `name: ${name}\ndescription: String literals that look like comments.\ninputs:\n  read: { type: string, default: read, enum: [read] }\nsteps:\n${body}`);
  return file;
}

test("plan --probe: a read step whose '--' or '/*' string hides a DELETE is not sent; a real read with them is", async () => {
  const { lab, dir, inventoryFile: inventory } = await labWithInventory({ scenario: 'healthy' }, 'runbook-sql-text-');
  try {
    const file = sqlRunbook(dir, 'probe-attack', [
      { id: 'honest', impact: '"{{inputs.read}}"', sql: "SELECT N'--' AS dashes, '/*' AS star" },
      { id: 'dashes', impact: '"{{inputs.read}}"', sql: "SELECT '--' AS marker; DELETE FROM msdb.dbo.backupset" },
      { id: 'star', impact: '"{{inputs.read}}"', sql: "SELECT '/*' AS opened; DELETE FROM msdb.dbo.backupset; SELECT '*/' AS closed" },
    ]);
    const r = await runCli(['plan', file, '-i', inventory, '--probe', '--format', 'json'], { env: lab.env, timeoutMs: 30_000 });
    assert.is(r.code, 0, r.stderr);
    const sent = lab.statements().map((s) => s.statement);
    assert.ok(sent.some((s) => /N'--' AS dashes/.test(s)), 'the honest read reached SQL Server');
    assert.equal(sent.filter((s) => /\bDELETE\b/i.test(s)), [], 'no DELETE reached any replica');
    assert.equal(sent.filter((s) => /'--' AS marker|'\/\*' AS opened/.test(s)), [], 'the hiding scripts were not sent at all');

    const steps = (JSON.parse(r.stdout) as { predicted: { steps: Array<{ id: string; probed: boolean; notes: string[]; outputs?: Record<string, unknown> }> } }).predicted.steps;
    const byId = (id: string) => steps.find((s) => s.id === id)!;
    assert.ok(byId('honest').probed, 'a plain read with -- and /* in its strings is still probed');
    assert.equal(byId('honest').outputs?.first, { dashes: '--', star: '/*' });
    for (const id of ['dashes', 'star']) assert.match(byId(id).notes.join('\n'), /Not probed: it contains DELETE, which a plain read does not/, id);
  } finally {
    await lab.stop();
  }
});

test("sqlExec: an error after a change in a batch whose '/*' string hid the change is exit 4, \"may have changed\", never \"nothing\"", async () => {
  const lab = await ChildLab.start();
  try {
    const sql = [
      "SELECT N'/*' AS opened",
      'ALTER AVAILABILITY GROUP {{ident link.name}} MODIFY AVAILABILITY GROUP ON {{str link.sqlServer.agName}} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT);',
      "SELECT 1 AS x FROM no_such_table WHERE N'*/' = N''",
    ].join('\n');
    const file = sqlRunbook(lab.dir, 'star-batch', [{ id: 'hidden-change', sql }]);
    const r = await lab.applyInProcess(file);
    assert.is(lab.count(SYNC_COMMIT), 1, 'the change in the middle of the batch ran');
    assert.is(r.code, 4, r.stdout + r.stderr);
    assert.not.match(r.stdout, /Nothing was changed/);
    assert.match(r.stdout, /May have changed: hidden-change/);
    const end = lab.records().at(-1)!;
    assert.is(end.kind, 'run-finished');
    assert.equal(end.mayHaveChanged, ['hidden-change']);
  } finally {
    await lab.stop();
  }
});

test.run();
