// Every change in the shipped runbooks can be verified: a static scan of runbooks/*.yml (each
// change/dataLoss sqlExec has a read-only, quoted `verify`, with a fixed `verifyTarget` when the
// script moves roles; other change steps have a step type that verifies itself), and lab runs
// where the answer to a change statement is lost after it took effect, which must end verified
// done (exit 0, the statement sent once), never "unknown" and never sent twice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadYaml } from '../../engine/load/yaml.js';
import { readOnlyProblem } from '../../engine/drivers/sql/checks.js';
import { stepModules } from '../../steps/index.js';
import { root, waitFor } from '../helpers/cli.js';
import type { Rec } from '../helpers/child-runs.js';
import { journalRecords } from '../helpers/fault-matrix.js';
import { FAST, type LabRun, type TestLab } from '../helpers/lab-run.js';
import { runbookCases } from '../helpers/runbook-cases.js';

interface StepDoc {
  id?: string;
  type?: string;
  target?: string;
  with?: Record<string, unknown>;
}

const ROLE_MOVES = /\b(FAILOVER|FORCE_FAILOVER_ALLOW_DATA_LOSS|SET\s*\(\s*ROLE)\b/i;
const FIXED_SIDE = /^(sqlServer|managedInstance|\{\{.*\}\})$/;

/** One `file:line:col: problem` per change step whose outcome could not be verified. */
export async function unverifiableChanges(file: string): Promise<string[]> {
  const doc = loadYaml(file);
  const steps = (doc.value as { steps?: StepDoc[] }).steps ?? [];
  const problems: string[] = [];
  const at = (pointer: string) => {
    const p = doc.locate(pointer);
    return `${file}:${p.line}:${p.column}`;
  };
  for (const [i, step] of steps.entries()) {
    const w = step.with ?? {};
    if (step.type !== 'sqlExec') {
      const load = stepModules[step.type ?? ''];
      if (!load) continue;
      const def = (await load()).default;
      if (def.impact !== 'read' && !def.verify) problems.push(`${at(`/steps/${i}`)}: ${step.id} (${step.type}) changes the link and its step type cannot verify it`);
      if (step.type === 'armFailoverLink' && w.expectInstanceRole === undefined) {
        problems.push(`${at(`/steps/${i}`)}: ${step.id} (armFailoverLink) has no expectInstanceRole, so it cannot be verified`);
      }
      continue;
    }
    if (w.impact === 'read') continue;
    const verify = w.verify;
    if (typeof verify !== 'string') {
      problems.push(`${at(`/steps/${i}`)}: ${step.id} (sqlExec, ${String(w.impact ?? 'change')}) has no verify: query`);
      continue;
    }
    // Judged as the SQL it renders to: a value through str is a string literal, through ident a
    // [name], and a block helper writes text (the raw-splice check below sees to the rest). The
    // template's own words (`link.database`) are not T-SQL and must not be read as such.
    const asSql = verify
      .replace(/\{\{\s*str\s[^}]*\}\}/g, "N'x'")
      .replace(/\{\{\s*ident\s[^}]*\}\}/g, '[x]')
      .replace(/\{\{[#/^]?[^}]*\}\}/g, '');
    const readOnly = readOnlyProblem(asSql);
    if (readOnly) problems.push(`${at(`/steps/${i}/with/verify`)}: ${step.id}'s verify is not a plain SELECT (${readOnly})`);
    verify.split('\n').forEach((text, l) => {
      for (const m of text.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
        const expr = m[1]!;
        if (/^(ident|str)\s/.test(expr) || /^[#/]|^else\b/.test(expr) || !/\b(link|inputs|steps|run)\./.test(expr)) continue;
        const p = doc.locateInValue(`/steps/${i}/with/verify`, l + 1, (m.index ?? 0) + 1);
        problems.push(`${file}:${p.line}:${p.column}: {{${expr}}} reaches T-SQL without ident/str in ${step.id}'s verify`);
      }
    });
    const where = String(w.verifyTarget ?? step.target ?? 'primary');
    if (typeof w.sql === 'string' && ROLE_MOVES.test(w.sql) && !FIXED_SIDE.test(where)) {
      problems.push(`${at(`/steps/${i}/with`)}: ${step.id} moves roles but verifies on ${where}, which moves with them; give verifyTarget a fixed side`);
    }
  }
  return problems;
}

test('every change and dataLoss step in runbooks/*.yml can be verified (sqlExec: a quoted, read-only verify)', async () => {
  const dir = join(root, 'runbooks');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml')).sort();
  assert.ok(files.length >= 5, files.join(', '));
  const problems: string[] = [];
  for (const f of files) problems.push(...(await unverifiableChanges(join(dir, f))));
  assert.equal(problems, [], problems.join('\n'));
});

test('the scan names file:line:col of a change without verify, an unquoted value and a verify on a moving side', async () => {
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const file = join(mkdtempSync(join(tmpdir(), 'verify-scan-')), 'bad.yml');
  writeFileSync(
    file,
    `name: bad
description: three unverifiable changes
steps:
  - id: no-verify
    type: sqlExec
    target: sqlServer
    with:
      impact: change
      sql: DROP AVAILABILITY GROUP {{ident link.name}};
  - id: unquoted
    type: sqlExec
    target: sqlServer
    with:
      impact: change
      sql: DROP AVAILABILITY GROUP {{ident link.name}};
      verify: SELECT 1 WHERE N'x' = {{link.name}};
  - id: moving
    type: sqlExec
    target: primary
    with:
      impact: change
      sql: ALTER AVAILABILITY GROUP {{ident link.name}} FAILOVER;
      verify: SELECT 1;
  - id: read-only
    type: sqlExec
    target: sqlServer
    with: { impact: read, sql: SELECT 1; }
`,
  );
  assert.equal(await unverifiableChanges(file), [
    `${file}:4:5: no-verify (sqlExec, change) has no verify: query`,
    `${file}:16:37: {{link.name}} reaches T-SQL without ident/str in unquoted's verify`,
    `${file}:21:7: moving moves roles but verifies on primary, which moves with them; give verifyTarget a fixed side`,
  ]);
});

// --- Lost answers on the lab: the statement took effect, the reply never came. ---

const OUTCOME = ['--outcome-timeout', '10s'];
const FORCE = /FORCE_FAILOVER_ALLOW_DATA_LOSS/i;
const SET_SECONDARY = /SET\s*\(\s*ROLE\s*=\s*SECONDARY\s*\)/i;
const TAIL_LOG = /^\s*BACKUP\s+LOG\b/i;
const COPY_ONLY = /^\s*BACKUP\s+DATABASE\b/i;
const DROP_DAG = /^\s*DROP\s+AVAILABILITY\s+GROUP\s+\[dag1\]/i;

function verifiedDone(recs: Rec[], step: string): void {
  assert.ok(
    recs.some((r) => r.kind === 'step-verified' && r.step === step && r.why === 'unknown-outcome' && r.result === 'done'),
    `${step} verified done after the lost answer:\n${recs.map((r) => JSON.stringify(r)).join('\n')}`,
  );
  assert.ok(recs.some((r) => r.kind === 'step-finished' && r.step === step && r.verified === true), `${step} finished as verified`);
  assert.not.ok(recs.some((r) => r.kind === 'step-failed' && r.step === step), `${step} never journaled as failed or unknown`);
}

// The verify queries must also say "not done" when the statement never ran, or they prove nothing.
function verifiedNotDone(recs: Rec[], step: string): void {
  assert.ok(
    recs.some((r) => r.kind === 'step-verified' && r.step === step && r.why === 'unknown-outcome' && r.result === 'not-done'),
    `${step} verified NOT done:\n${recs.map((r) => JSON.stringify(r)).join('\n')}`,
  );
}

const verified = (done: string[], notDone: string[] = []) => (_t: TestLab, run: LabRun) => {
  const recs = journalRecords(run.journalDir);
  for (const step of done) verifiedDone(recs, step);
  for (const step of notDone) verifiedNotDone(recs, step);
};
const FORCED = { allowDataLoss: 'dag1', args: OUTCOME };

// Each in a child process, as an operator runs it.
runbookCases(
  [
    {
      name: 'forced-failover, primary down: the answer to FORCE_FAILOVER is lost; verified done on the forced side, exit 0, sent once',
      scenario: 'primary-down',
      overrides: {
        faults: [
          { kind: 'replicaDown', replica: 'sqlServer', fromMs: 0 },
          { kind: 'dropConnection', replica: 'managedInstance', match: 'FORCE_FAILOVER_ALLOW_DATA_LOSS', after: true },
        ],
      },
      runbook: 'forced-failover',
      // SQL Server's version cannot be read while it is down: given, as the operator knows it.
      set: ['sqlServerVersion=16.0.4125.3'],
      flags: FORCED,
      expect: { exit: 0, times: [[FORCE, 1]], roles: { managedInstance: 'PRIMARY' }, notStdout: [/UNKNOWN|FAILED/] },
      then: verified(['force']),
    },
    {
      name: 'forced-failover drill with reverseRoles: the answers to FORCE_FAILOVER and SET (ROLE = SECONDARY) are lost; both verified done, one primary',
      scenario: 'primary-down',
      overrides: {
        faults: [
          { kind: 'dropConnection', replica: 'managedInstance', match: 'FORCE_FAILOVER_ALLOW_DATA_LOSS', after: true },
          { kind: 'dropConnection', replica: 'sqlServer', match: 'SET\\s*\\(\\s*ROLE', after: true },
        ],
      },
      runbook: 'forced-failover',
      set: ['reverseRoles=true', 'pollInterval=50ms'],
      flags: FORCED,
      // The drill waits, after the demotion, for the MI to harden all SQL Server's log before it
      // forces it (caught-up), then for the old primary to resynchronize: the link moves data
      // again once SQL Server was demoted.
      async during(t) {
        await waitFor(() => t.statements().some((s) => /SET \(ROLE = SECONDARY\)/.test(s)));
        t.lab.link().setReplication({ stalled: false });
      },
      expect: { exit: 0, times: [[FORCE, 1], [SET_SECONDARY, 1]], roles: { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' } },
      then: verified(['force', 'reverse-sql-server']),
    },
    {
      name: 'split-brain keep=managedInstance: the answers to BACKUP LOG and SET (ROLE = SECONDARY) are lost; both verified done, each sent once',
      scenario: 'split-brain',
      overrides: {
        faults: [
          { kind: 'dropConnection', replica: 'sqlServer', match: '^\\s*BACKUP\\s+LOG', after: true },
          { kind: 'dropConnection', replica: 'sqlServer', match: 'SET\\s*\\(\\s*ROLE', after: true },
        ],
      },
      runbook: 'split-brain',
      set: [...FAST, 'keep=managedInstance', 'backupLocation=/var/opt/mssql/backup/SalesDb-tail.trn'],
      flags: { args: OUTCOME },
      expect: { exit: 0, times: [[TAIL_LOG, 1], [SET_SECONDARY, 1]], roles: { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' } },
      then(t, run) {
        verified(['tail-log-backup', 'demote-sql-server'])(t, run);
        const recs = journalRecords(run.journalDir);
        assert.ok(recs.some((x) => x.kind === 'step-finished' && x.step === 'backup-verified' && (x.outputs as Rec | undefined)?.found === true), 'the backup gate still passed');
      },
    },
    {
      name: 'split-brain keep=sqlServer: the answer to the copy-only BACKUP DATABASE is lost; verified done, sent once',
      scenario: 'split-brain',
      overrides: { faults: [{ kind: 'dropConnection', replica: 'managedInstance', match: '^\\s*BACKUP\\s+DATABASE', after: true }] },
      runbook: 'split-brain',
      set: [...FAST, 'keep=sqlServer', 'backupLocation=https://labbackups.blob.core.windows.net/splitbrain/SalesDb.bak'],
      flags: { args: OUTCOME },
      expect: { exit: 0, times: [[COPY_ONLY, 1]], roles: { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' } },
      then: verified(['copy-only-backup']),
    },
    {
      name: 'break-link: the answer to DROP AVAILABILITY GROUP is lost; verified done, exit 0, sent once',
      overrides: { faults: [{ kind: 'dropConnection', replica: 'sqlServer', match: '^\\s*DROP\\s+AVAILABILITY\\s+GROUP', after: true }] },
      runbook: 'break-link',
      set: FAST,
      flags: { args: OUTCOME },
      expect: { exit: 0, times: [[DROP_DAG, 1]], link: { sqlServer: false } },
      then: verified(['drop-dag']),
    },
    {
      name: 'forced-failover: FORCE_FAILOVER dropped before it ran; verified NOT done, not re-sent, exit 1 (nothing changed)',
      scenario: 'primary-down',
      overrides: { faults: [{ kind: 'dropConnection', replica: 'managedInstance', match: 'FORCE_FAILOVER_ALLOW_DATA_LOSS' }] },
      runbook: 'forced-failover',
      flags: FORCED,
      // Sent once: not re-sent by the run.
      expect: { exit: 1, stdout: [/Nothing was changed\./], times: [[FORCE, 1]], roles: { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' } },
      then: verified([], ['force']),
    },
    {
      name: 'split-brain: BACKUP LOG dropped before it ran; verified NOT done, nothing demoted',
      scenario: 'split-brain',
      overrides: { faults: [{ kind: 'dropConnection', replica: 'sqlServer', match: '^\\s*BACKUP\\s+LOG' }] },
      runbook: 'split-brain',
      set: [...FAST, 'keep=managedInstance', 'backupLocation=/var/opt/mssql/backup/t.trn'],
      flags: { args: OUTCOME },
      // BACKUP LOG sent once (not re-sent by the run), and no demotion without the backup.
      expect: { exit: (code) => code !== 0 && code !== 5, times: [[TAIL_LOG, 1], [SET_SECONDARY, 0]], roles: { sqlServer: 'PRIMARY', managedInstance: 'PRIMARY' } },
      then: verified([], ['tail-log-backup']),
    },
  ],
);

test.run();
