// Issue 12, point 3 on a real pseudo-terminal (listr2's renderer): what a step learnt stays on the
// screen after the step ends, the summary ends with Ansible-style counts, and a failed run says the
// exact command that resumes it. The screen is read as a person sees it (test/helpers/screen.ts),
// not as the stream of frames the renderer drew.
import { existsSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../../helpers/cli.js';
import { labWithInventory, runbookFile, FAST_PLANNED } from '../../helpers/lab-run.js';
import { screenOf } from '../../helpers/screen.js';
import { onTerminal, script } from '../../helpers/terminal.js';

const sets = (values: string[]) => values.flatMap((v) => ['--set', v]);

test('a planned failover on a terminal: the roles after it and the notify stay on screen; the recap counts the steps', async () => {
  if (!existsSync(script)) return;
  const dir = tempDir('runbook-screen-');
  const r = await onTerminal(['apply', runbookFile('planned-failover'), '--lab', '--yes', ...sets(FAST_PLANNED)], { cwd: dir, env: { NO_COLOR: '1', CI: '', RUNBOOK_JOURNAL_DIR: dir } });
  assert.is(r.code, 0, r.output);
  assert.match(r.output, /\u001b\[\?25l/, 'drawn by listr2, not plain lines');
  const screen = screenOf(r.output);
  const at = (re: RegExp) => screen.findIndex((l) => re.test(l));
  const after = at(/\d+\/\d+ after /);
  const roles = at(/^ {4}Roles of link dag1: sqlServer says SECONDARY; managedInstance says PRIMARY\.$/);
  assert.ok(after >= 0 && roles > after, screen.join('\n'));
  assert.ok(at(/^ {4}warning: Failover of link dag1 done\. Point the applications at sqlmi1/) > roles, screen.join('\n'));
  assert.ok(at(/^Recap: ok=19 changed=3 skipped=4 failed=0$/) > at(/^Summary of run /), screen.join('\n'));
  assert.is(at(/--resume/), -1, 'nothing to resume after a run that is done');
});

test('a failed run on a terminal ends with the exact apply --resume command (a lab with an inventory outlives the run)', async () => {
  if (!existsSync(script)) return;
  const { lab, dir, inventoryFile } = await labWithInventory({ scenario: 'workload-running' }, 'runbook-screen-');
  const r = await onTerminal(['apply', runbookFile('planned-failover'), '-i', inventoryFile, '--yes', ...sets(['stableFor=300ms', 'pollInterval=50ms', 'lsnTimeout=1s'])], { cwd: dir, env: { ...lab.env, NO_COLOR: '1', CI: '', RUNBOOK_JOURNAL_DIR: dir } }).finally(() => lab.stop());
  assert.is(r.code, 1, r.output);
  const screen = screenOf(r.output);
  const id = screen.map((l) => l.match(/^Summary of run (\S+) /)?.[1]).find(Boolean);
  assert.ok(id, screen.join('\n'));
  assert.ok(screen.includes('Recap: ok=11 changed=0 skipped=0 failed=1 not_run=14'), screen.join('\n'));
  // The failure that stays on screen says how far behind as the live line did (KB, seconds), in
  // seconds as people read them, never a raw LSN difference.
  const words = screen.join(' ').replace(/\s+/g, ' ');
  assert.match(words, /LSNs did not match within 1 s: the secondary managedInstance is behind the primary sqlServer \(\d+ KB of log not sent, \d+ s behind\)/, screen.join('\n'));
  assert.not.match(words.replace(/\d{17}/g, ''), /\d{6,} behind/, screen.join('\n'));
  assert.is(screen.at(-1) === '' ? screen.at(-2) : screen.at(-1), `To go on from where it stopped: runbook apply --resume ${id}`);
});

test('at 60 and 200 columns: a read\'s rows as a table, the LSN report and skipped conditions in words stay on screen; each refusal said once', async () => {
  if (!existsSync(script)) return;
  for (const columns of [60, 200]) {
    const dir = tempDir('runbook-screen-');
    const r = await onTerminal(['apply', runbookFile('planned-failover'), '--lab', '--yes', ...sets(FAST_PLANNED)], { cwd: dir, columns, env: { NO_COLOR: '1', CI: '', RUNBOOK_JOURNAL_DIR: dir } });
    assert.is(r.code, 0, r.output);
    const screen = screenOf(r.output, columns);
    const text = screen.join('\n');
    const at = (re: RegExp, from = 0) => screen.findIndex((l, i) => i >= from && re.test(l));
    const clock = at(/^✔ \d+\/\d+ mi-clock sqlExec/);
    assert.ok(clock >= 0, text);
    assert.equal(screen.slice(clock + 1, clock + 3), ['    Read 1 row from managedInstance.', '    now'], text);
    // CONVERT style 126 (the lab drops a zero fraction, as SQL Server does): the rule is as wide as the value.
    const value = screen[clock + 4]!;
    assert.match(value, /^ {4}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?$/);
    assert.is(screen[clock + 3], `    ${'-'.repeat(value.length - 4)}`);
    const wait = at(/^✔ \d+\/\d+ caught-up waitLsnStable/);
    const under = (i: number) => screen.slice(i + 1, screen.findIndex((l, j) => j > i && !l.startsWith('    '))).join(' ').replace(/\s+/g, ' ');
    assert.match(under(wait), /^ LSNs equal at \d{17} on sqlServer and managedInstance, unchanged for 0\.\d s \(waited \d+\.\d s, \d+ samples\)\.$/, text);
    assert.ok(at(/^↓ \d+\/\d+ remove-link skipped: dropLinkAfter is false$/) > wait, text);
    if (columns === 200) assert.match(text, /^ {2}skipped +\d+\. remove-link +armDeleteLink \[change\] +dropLinkAfter is false$/m);
    assert.not.match(text, /\{\{/, 'no raw template on screen');
    for (const line of screen) assert.ok(line.length <= columns, line);
  }
  // A refusal: at the step and once after the summary, not in its row or under Attention as well.
  const dir = tempDir('runbook-screen-');
  const refused = await onTerminal(['apply', runbookFile('planned-failover'), '--lab', 'split-brain', '--yes', ...sets(FAST_PLANNED)], { cwd: dir, env: { NO_COLOR: '1', CI: '', RUNBOOK_JOURNAL_DIR: dir } });
  assert.is(refused.code, 3, refused.output);
  const screen = screenOf(refused.output);
  const summary = screen.findIndex((l) => /^Summary of run /.test(l));
  assert.is(screen.slice(summary).filter((l) => /Split-brain on link dag1/.test(l)).length, 1, screen.join('\n'));
  assert.match(screen.slice(summary).join('\n'), /^runbook: refused at step before: Split-brain on link dag1/m);
});

test('the LSN wait on a terminal: one line under the step, redrawn in place with the window in seconds and the time left', async () => {
  if (!existsSync(script)) return;
  const dir = tempDir('runbook-screen-');
  const r = await onTerminal(['apply', runbookFile('planned-failover'), '--lab', 'lagging', '--yes', ...sets(['stoppedFor=200ms', 'stableFor=1s', 'pollInterval=100ms', 'lsnTimeout=8s'])], { cwd: dir, env: { NO_COLOR: '1', CI: '', RUNBOOK_JOURNAL_DIR: dir } });
  assert.is(r.code, 0, r.output);
  // Frames drawn while it waited: the window's progress and the time left, one decimal.
  assert.match(r.output, /LSNs equal for 0\.\d s of 1 s; \d+\.\d s elapsed, \d+\.\d s left before the timeout\./);
  // Redrawn in place: none of the progress lines is left on the screen once the step ended.
  const screen = screenOf(r.output);
  assert.not.ok(screen.some((l) => /left before the timeout/.test(l)), screen.join('\n'));
  const drawn = r.output.split('left before the timeout').length - 1;
  assert.ok(drawn >= 5, `the line was redrawn (${drawn} frames)`);
});

test.run();
