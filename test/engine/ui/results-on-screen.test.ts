// Issue 12, point 3 on a real pseudo-terminal (listr2's renderer): what a step learnt stays on the
// screen after the step ends, the summary ends with Ansible-style counts, and a failed run says the
// exact command that resumes it. The screen is read as a person sees it (test/helpers/screen.ts),
// not as the stream of frames the renderer drew.
import { existsSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../../helpers/cli.js';
import { runbookFile, FAST_PLANNED } from '../../helpers/lab-run.js';
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

test('a failed run on a terminal ends with the exact apply --resume command', async () => {
  if (!existsSync(script)) return;
  const dir = tempDir('runbook-screen-');
  const r = await onTerminal(['apply', runbookFile('planned-failover'), '--lab', 'workload-running', '--yes', ...sets(['stableFor=300ms', 'pollInterval=50ms', 'lsnTimeout=1s'])], { cwd: dir, env: { NO_COLOR: '1', CI: '', RUNBOOK_JOURNAL_DIR: dir } });
  assert.is(r.code, 1, r.output);
  const screen = screenOf(r.output);
  const id = screen.map((l) => l.match(/^Summary of run (\S+) /)?.[1]).find(Boolean);
  assert.ok(id, screen.join('\n'));
  assert.ok(screen.includes('Recap: ok=11 changed=0 skipped=0 failed=1 not_run=14'), screen.join('\n'));
  assert.is(screen.at(-1) === '' ? screen.at(-2) : screen.at(-1), `To go on from where it stopped: runbook apply --resume ${id}`);
});

test.run();
