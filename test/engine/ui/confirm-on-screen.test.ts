// Issue 12, point 1 on a real pseudo-terminal (listr2's renderer), read as a person sees the screen
// (test/helpers/screen.ts) at 200, 120 and 60 columns: apply shows the compact plan and asks once,
// before any step, with every confirmation the run needs together; the answer is echoed where it
// is typed; only yes goes on, and any other answer is told why; Ctrl-C at the question is exit 130
// before any step, said as a no (so is Ctrl-D); a gate whose question needs run-time values (forced
// failover's loss report) is asked when the run gets there, with the renderer paused.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../../helpers/cli.js';
import { FAST_PLANNED, runbookFile } from '../../helpers/lab-run.js';
import { screenOf } from '../../helpers/screen.js';
import { onTerminal, script, type TerminalOptions } from '../../helpers/terminal.js';

const sets = (values: string[]) => values.flatMap((v) => ['--set', v]);
const PROMPT = 'Type "yes" to go on: ';

async function planned(columns: number, answers: string[], extra: string[] = [], more: { typeWhen?: TerminalOptions['typeWhen']; env?: Record<string, string> } = {}) {
  const dir = tempDir('runbook-confirm-');
  const r = await onTerminal(['apply', runbookFile('planned-failover'), '--lab', ...extra, ...sets(FAST_PLANNED)], {
    cwd: dir, columns, answers, env: { NO_COLOR: '1', CI: '', RUNBOOK_JOURNAL_DIR: dir, ...more.env }, ...(more.typeWhen ? { typeWhen: more.typeWhen } : {}),
  });
  const screen = screenOf(r.output, columns);
  const journalFile = readdirSync(dir).find((f) => f.endsWith('.jsonl'));
  const journal = journalFile ? readFileSync(join(dir, journalFile), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>) : [];
  return { ...r, screen, journal, text: screen.join('\n') };
}

/** The forced failover on the primary-down lab at 120 columns, the data loss acknowledged (and SQL Server's version given, unless told). */
async function forced(answers: string[], version: string[] = ['--set', 'sqlServerVersion=16.0.4135.4']) {
  const dir = tempDir('runbook-confirm-');
  const r = await onTerminal(['apply', runbookFile('forced-failover'), '--lab', 'primary-down', '--allow-data-loss', 'dag1', ...version], {
    cwd: dir, columns: 120, answers, env: { NO_COLOR: '1', CI: '', RUNBOOK_JOURNAL_DIR: dir },
  });
  const screen = screenOf(r.output, 120);
  return { ...r, screen, text: screen.join('\n') };
}

const at = (screen: string[], re: RegExp) => screen.findIndex((l) => re.test(l));

test('planned failover at 200 columns: the plan, then one question with the workload gate and the changes; yes is echoed on the prompt line and the run does not ask again', async () => {
  if (!existsSync(script)) return;
  const r = await planned(200, ['yes']);
  assert.is(r.code, 0, r.text);
  const closing = at(r.screen, /^Plan: \d+ changes, 0 data-loss steps, \d+ reads/);
  const heading = at(r.screen, /^Before anything runs, answering yes confirms all of:$/);
  const gate = at(r.screen, /^ {2}1\. The application workload on the current primary of link dag1 is stopped and will stay stopped until the failover is done\. \(step 1, workload-stopped\)$/);
  const changes = at(r.screen, /^ {2}2\. Change link dag1: steps \d+ sync-commit-sql-server \(if its condition holds\), \d+ sync-commit-managed-instance \(if its condition holds\), \d+ failover\.$/);
  const prompt = r.screen.indexOf(`${PROMPT}yes`);
  const firstStep = at(r.screen, /^✔ 1\/\d+ workload-stopped/);
  assert.ok(closing >= 0 && heading > closing && gate > heading && changes > gate && prompt > changes && firstStep > prompt, r.text);
  // Asked once: no second question before the first change, after the LSN wait.
  assert.is(r.output.split('Type "yes" to go on').length - 1, 1, r.text);
  // The hoisted gate is honoured at its place, and the journal says what was confirmed.
  assert.ok(r.screen[firstStep + 1]?.startsWith('    Confirmed by the operator before the run began: The application workload'), r.text);
  const confirmed = r.journal.find((e) => e.kind === 'confirmed');
  assert.equal(confirmed && { by: confirmed.by, steps: confirmed.steps, changes: confirmed.changes }, { by: 'operator', steps: ['workload-stopped'], changes: ['sync-commit-sql-server', 'sync-commit-managed-instance', 'failover'] });
  assert.ok(r.journal.indexOf(confirmed!) < r.journal.findIndex((e) => e.kind === 'step-started'), 'confirmed before any step started');
  const gateDone = r.journal.find((e) => e.kind === 'step-finished' && e.step === 'workload-stopped');
  assert.is(gateDone?.outputs.confirmedBy, 'operator');
  assert.is(gateDone?.outputs.confirmedAt, confirmed!.at);
});

test('at 60 columns, "y" is a no that says why, without breaking a word; nothing runs and the run is refused (exit 3)', async () => {
  if (!existsSync(script)) return;
  const r = await planned(60, ['y']);
  assert.is(r.code, 3, r.text);
  const prompt = r.screen.indexOf(`${PROMPT}y`);
  assert.ok(prompt >= 0, r.text);
  assert.equal(r.screen.slice(prompt + 1, prompt + 3), ['Not confirmed: "y" is not "yes"; type the whole word to go', '    on.'], r.text);
  for (const line of r.screen) assert.ok(line.length <= 60, line);
  assert.is(r.journal.filter((e) => e.kind === 'step-started').length, 0, 'no step ran');
  assert.ok(r.journal.some((e) => e.kind === 'step-failed' && e.step === 'workload-stopped' && e.outcome === 'refused'));
});

test('at 60 columns the plan and the summary fit the terminal: a step on its own lines with what it does (the FAILOVER seen), summary rows unpadded, the refusal broken between words', async () => {
  if (!existsSync(script)) return;
  const r = await planned(60, ['no']);
  assert.is(r.code, 3, r.text);
  const failover = r.screen.indexOf('18. failover  sqlExec -> primary  [change]');
  assert.ok(failover >= 0, r.text);
  assert.equal(r.screen.slice(failover + 1, failover + 3), ['    Run 1 batch of T-SQL on primary: ALTER AVAILABILITY', '    GROUP [dag1] FAILOVER;'], r.text);
  // Each summary row on one line: no padding to the longest step id pushes it past 60 columns.
  for (const row of ['  not run 2. before  assertRole [read]', '  not run 18. failover  sqlExec [change]']) assert.ok(r.screen.includes(row), r.text);
  assert.equal(r.screen.slice(-3).filter(Boolean), ['runbook: refused at step workload-stopped: not confirmed:', '    the answer was not "yes"'], r.text);
});

test('at 120 columns, Ctrl-C at the question exits 130 at once: no step runs; it says not confirmed, and no --resume (nothing ran, and the lab ended)', async () => {
  if (!existsSync(script)) return;
  const r = await planned(120, ['\u0003']);
  assert.is(r.code, 130, r.text);
  const prompt = r.screen.indexOf(`${PROMPT}^C`);
  assert.ok(prompt >= 0, r.text);
  assert.is(r.screen[prompt + 1], 'Not confirmed (Ctrl-C).', r.text);
  // No step was running: there is no step boundary to wait for, and no second Ctrl-C to press.
  assert.not.match(r.text, /step boundary|again to exit/, r.text);
  assert.ok(r.screen.includes('Nothing was changed.'), r.text);
  assert.not.match(r.text, /--resume/, r.text);
  assert.is(r.journal.filter((e) => e.kind === 'step-started').length, 0, 'no step ran');
  assert.ok(r.journal.some((e) => e.kind === 'interrupted' && e.stoppedBefore === 'workload-stopped'), JSON.stringify(r.journal));
});

test('Ctrl-D (end of input) at the question is a no: exit 3 at once, nothing runs, the run ends and lets the lock go', async () => {
  if (!existsSync(script)) return;
  const r = await planned(120, ['\u0004']);
  assert.is(r.code, 3, r.text);
  const prompt = r.screen.indexOf(PROMPT.trimEnd());
  assert.ok(prompt >= 0, r.text);
  assert.is(r.screen[prompt + 1], 'Not confirmed (end of input).', r.text);
  // The last line says the same, not "the answer was not yes" (attack-r4apply A7: there was no answer).
  assert.ok(r.screen.includes('runbook: refused at step workload-stopped: not confirmed (end of input)'), r.text);
  assert.is(r.journal.filter((e) => e.kind === 'step-started').length, 0, 'no step ran');
  assert.ok(r.journal.some((e) => e.kind === 'step-failed' && e.step === 'workload-stopped' && e.outcome === 'refused'), JSON.stringify(r.journal));
  assert.equal(r.journal.at(-1) && { kind: r.journal.at(-1)!.kind, exitCode: r.journal.at(-1)!.exitCode }, { kind: 'run-finished', exitCode: 3 });
});

test('"YES" is not "yes": the rule says exactly "yes", and the no says why (exit 3, nothing runs)', async () => {
  if (!existsSync(script)) return;
  const r = await planned(120, ['YES']);
  assert.is(r.code, 3, r.text);
  assert.ok(r.screen.some((l) => l.startsWith('Only "yes", exactly, goes on;')), r.text);
  const prompt = r.screen.indexOf(`${PROMPT}YES`);
  assert.is(r.screen[prompt + 1], 'Not confirmed: "YES" is not exactly "yes"; type just the word, in lower case.', r.text);
  assert.is(r.journal.filter((e) => e.kind === 'step-started').length, 0, 'no step ran');
});

test('forced failover at 120 columns: the data loss is in the one question; the loss report is asked when known, with the renderer paused', async () => {
  if (!existsSync(script)) return;
  const { code, screen, text } = await forced(['yes', 'yes']);
  assert.is(code, 0, text);
  const loss = at(screen, /^ {2}2\. Lose data: steps \d+ force, \d+ force-sql-server, \d+ remove-link can lose transactions \(acknowledged with$/);
  const later = at(screen, /^ {2}Asked when the run gets there, since it needs what the run learns: step \d+ \(accept-loss\)\.$/);
  const first = screen.indexOf(`${PROMPT}yes`);
  assert.ok(loss >= 0 && later > loss && first > later, text);
  const gap = at(screen, /^✔ \d+\/\d+ gap lsnGap/);
  const asked = at(screen, /^The run needs your confirmation before it goes on:$/);
  const second = screen.indexOf(`${PROMPT}yes`, first + 1);
  const gate = at(screen, /^✔ \d+\/\d+ accept-loss confirm/);
  assert.ok(gap > first && asked > gap && second > asked && gate > second, text);
  assert.match(screen[asked + 1]!, /^ {2}Force managedInstance to become the primary of link dag1, losing what it has not received: The primary sqlServer/);
  // Typed keys echo on the prompt line, not one per line under a spinner.
  assert.not.ok(screen.some((l) => /^[yes]$/.test(l)), text);
});

test('forced failover: Ctrl-C at the loss report\'s question ends as not confirmed, not an AbortError; no --resume for the ephemeral lab', async () => {
  if (!existsSync(script)) return;
  const { code, screen, text } = await forced(['yes', '\u0003']);
  assert.is(code, 130, text);
  const second = screen.indexOf(`${PROMPT}^C`);
  assert.ok(second > 0, text);
  assert.is(screen[second + 1], 'Not confirmed (Ctrl-C).', text);
  assert.not.match(text, /aborted|step boundary|again to exit/i, text);
  const gate = at(screen, /^✖ \d+\/\d+ accept-loss confirm/);
  assert.ok(gate > second, text);
  assert.ok(screen.slice(gate + 1).some((l) => /^ {2}› not confirmed \(Ctrl-C at the question\)$/.test(l)), text);
  assert.ok(at(screen, /^ {2}INTERRUPTED +\d+\. accept-loss .*not confirmed \(Ctrl-C at the question\)$/) > gate, text);
  assert.not.match(text, /--resume/, text);
  assert.ok(screen.includes('The embedded lab (--lab) ended with this run, so it cannot be resumed; start a new run.'), text);
});

test('forced failover with SQL Server down and its version not given: the plan with the question already says the run will refuse at step 3, before the operator is asked to accept data loss', async () => {
  if (!existsSync(script)) return;
  const { code, screen, text } = await forced(['no'], []);
  assert.is(code, 3, text);
  const closing = at(screen, /^Plan: \d+ changes, 3 data-loss steps, \d+ reads \(.*\); will refuse at step 3 \(SQL Server cannot be$/);
  const prompt = screen.indexOf(`${PROMPT}no`);
  assert.ok(closing >= 0 && prompt > closing, text);
  assert.match(screen[closing + 2]!, /^ {2}Step 3 \(version-known\) would refuse, by what the probe read: SQL Server cannot be reached/, text);
});

/** A lab scenario of `faults` over `healthy`, written where the test's run writes. */
function scenario(name: string, faults: string[]): string {
  const file = join(tempDir('runbook-scenario-'), `${name}.yml`);
  writeFileSync(file, [`name: ${name}`, `description: ${name}`, 'faults:', ...faults.map((f) => `  - ${f}`)].join('\n') + '\n');
  return file;
}

test('keys typed while the probes run are not the answer: the screen says what it checks, the question drops them and waits (attack-r4apply A3, A5)', async () => {
  if (!existsSync(script)) return;
  const hung = scenario('hang-version', ['{ kind: hang, replica: sqlServer, match: "ProductVersion", nth: 1, count: 1 }']);
  const r = await planned(120, ['no'], [hung], { typeWhen: [{ when: /Lock runbook:link:dag1: held/, keys: 'yes' }], env: { RUNBOOK_FORESEE_DEADLINE_MS: '1500' } });
  assert.is(r.code, 3, r.text);
  const checking = at(r.screen, /^Checking the link with read-only probes before asking \(up to 1\.5 s\)\.\.\.$/);
  const late = at(r.screen, /^The link did not answer the read-only probes within 1\.5 s: the plan shows no prediction;/);
  const ignored = r.screen.indexOf('Ignored what was typed before this question ("yes"): answer it now.');
  const prompt = r.screen.indexOf(`${PROMPT}no`);
  assert.ok(checking >= 0 && late > checking && ignored > late && prompt > ignored, r.text);
  assert.is(r.journal.filter((e) => e.kind === 'step-started').length, 0, 'no step ran');
  const foreseen = r.journal.filter((e) => e.kind === 'foreseen');
  assert.equal(foreseen.map((e) => e.result), ['timed out'], JSON.stringify(r.journal));
});

test('a probe whose connection drops is no prediction: the plan says the step could not be probed, not "will fail" (attack-r4apply A4, A5)', async () => {
  if (!existsSync(script)) return;
  const dropped = scenario('drop-version', ['{ kind: dropConnection, replica: sqlServer, match: "ProductVersion", nth: 1, count: 1 }']);
  const r = await planned(200, ['yes'], [dropped]);
  assert.is(r.code, 0, r.text);
  assert.not.match(r.text, /will fail at step/, r.text);
  const told = at(r.screen, /^Step \d+ \([a-z-]+\) could not be probed \(.+\): the plan shows no prediction from it; the run checks it when it gets there\.$/);
  assert.ok(told >= 0 && told < r.screen.indexOf(`${PROMPT}yes`), r.text);
  assert.equal(r.journal.filter((e) => e.kind === 'foreseen').map((e) => e.result), ['could not tell']);
});

test('a probe\'s role read that hangs holds only the probes\' own connection: the run\'s first role check does not wait for it (attack-r4apply A2)', async () => {
  if (!existsSync(script)) return;
  const hung = scenario('hang-role', ['{ kind: hang, replica: sqlServer, match: "role_desc AS link_role", nth: 3, count: 1 }']);
  const r = await planned(120, ['yes'], [hung], { env: { RUNBOOK_FORESEE_DEADLINE_MS: '1500' } });
  assert.is(r.code, 0, r.text);
  const reads = r.journal.filter((e) => e.kind === 'step-finished' && e.step !== 'workload-stopped').slice(0, 2);
  assert.ok(reads.length === 2 && reads.every((e) => e.durationMs < 3000), JSON.stringify(reads));
});

test('Ctrl-C three times through a hung FAILOVER: each interrupt line is on screen as it happens, the last says the outcome is unknown and what next (attack-r4apply A1)', async () => {
  if (!existsSync(script)) return;
  const hung = scenario('hang-failover', ['{ kind: hang, match: "FAILOVER", nth: 1, count: 1 }']);
  const r = await planned(120, ['yes'], [hung], {
    typeWhen: [
      { when: /\d+\/\d+ failover sqlExec, change/, keys: '\u0003' },
      { when: /Ctrl-C\s+twice\s+more\s+to\s+abandon\s+it/, keys: '\u0003' },
      { when: /Press\s+Ctrl-C\s+once\s+more\s+to\s+abandon\s+it\s+anyway/, keys: '\u0003' },
    ],
  });
  assert.is(r.code, 130, r.text);
  const first = at(r.screen, /^runbook: SIGINT: stopping after step failover \(sqlExec\)/);
  const second = at(r.screen, /^runbook: SIGINT again: step failover \(sqlExec\) is changing the link and its outcome is not known yet/);
  const third = at(r.screen, /^runbook: SIGINT: abandoning step failover \(sqlExec\); its outcome is UNKNOWN\. Check the replicas' roles/);
  const next = at(r.screen, /^runbook: the embedded lab \(--lab\) ends with this run, so it cannot be resumed; start a new run\.$/);
  assert.ok(first >= 0 && second > first && third > second && next > third, r.text);
  assert.ok(r.journal.some((e) => e.kind === 'interrupted' && e.abandonedDuring === 'failover'), JSON.stringify(r.journal));
});

test.run();
