// The wave on a real pseudo-terminal (test/helpers/terminal.ts): one confirmation listing every
// link, then one row per link redrawn in place, a link's error kept under the rows, the summary.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fleetLab } from '../../helpers/fleet-run.js';
import { FAST_PLANNED as FAST, runbookFile } from '../../helpers/lab-run.js';
import { onTerminal, script } from '../../helpers/terminal.js';

test('on a terminal: one "yes" for the wave, rows redrawn in place, the split-brain link\'s refusal under them', async () => {
  if (!existsSync(script)) return; // util-linux `script` gives the pseudo-terminal (as the other terminal tests)
  const f = await fleetLab({ links: 3, linkScenarios: { 3: 'split-brain' } });
  try {
    const args = ['apply', runbookFile('planned-failover'), '-i', f.fleetFile, '--all', '--parallel', '3', ...FAST.flatMap((s) => ['--set', s])];
    const r = await onTerminal(args, { cwd: f.dir, answer: 'yes', env: { ...f.lab.env, RUNBOOK_JOURNAL_DIR: join(f.dir, 'journals'), NO_COLOR: '1', CI: '' } });
    assert.is(r.code, 3, r.output);
    const out = r.output.replace(/\r/g, '');
    assert.match(out, /The wave runs planned-failover on 3 link\(s\):\n  dag1: SalesDb1 on sql01 <-> sqlmi1; \d+ steps, changes: /);
    assert.is(out.split('Type "yes" to go on').length, 2, 'one confirmation for the whole wave');
    assert.match(out, '\x1b[3A', 'the three rows are redrawn in place');
    assert.match(out, /\x1b\[2Kdag1\s+running\s+\S+\s+\S+ \(\d+\/\d+\)/, 'a running row shows its current step');
    assert.match(out, /\x1b\[2Kdag3\s+FAILED \(exit 3\)/);
    assert.match(out, /\[dag3\] runbook: refused at step .*split-brain/i);
    assert.match(out, /Totals: 3 links, 2 done, 1 failed, 0 not started/);
    assert.not.match(out, /^\[dag1\] \[\d+\/\d+\]/m, 'no plain progress lines on a terminal');
  } finally {
    await f.stop();
  }
});

test('F14 on a terminal: a forced failover that leaves two primaries is flagged on its row and in the table, its Attention lines said under them', async () => {
  if (!existsSync(script)) return;
  const f = await fleetLab({ links: 2 });
  try {
    // Both primaries stay up, so forcing each MI leaves two primaries per link (the runbook's declared split-brain outcome).
    const args = ['apply', runbookFile('forced-failover'), '-i', f.fleetFile, '--all', '--parallel', '2', '--allow-data-loss', 'dag1,dag2', '--yes', '--set', 'pollInterval=50ms'];
    const r = await onTerminal(args, { cwd: f.dir, env: { ...f.lab.env, RUNBOOK_JOURNAL_DIR: join(f.dir, 'journals'), NO_COLOR: '1', CI: '' } });
    assert.is(r.code, 0, r.output);
    const out = r.output.replace(/\r/g, '');
    assert.match(out, /\x1b\[2Kdag1\s+done ATTENTION/, 'the live row is not a plain "done"');
    assert.match(out, /^  dag1\s+done, ATTENTION\s+0 /m, 'the summary table flags it');
    for (const link of ['dag1', 'dag2']) {
      assert.match(out, new RegExp(`^  \\[${link}\\] two-primaries: SPLIT-BRAIN: sqlServer is still up and still PRIMARY, .*two primaries now exist on link ${link}`, 'm'));
      assert.match(out, new RegExp(`^  \\[${link}\\] .*what the report above lists is lost`, 'm'));
    }
    assert.ok(out.indexOf('Attention:') > out.lastIndexOf('\x1b[2Kdag2'), 'the Attention lines come after the last drawing of the rows');
  } finally {
    await f.stop();
  }
});

test('F12 on a terminal: the one confirmation shows each link\'s gate questions; the runs journal the operator\'s answer, not --yes', async () => {
  if (!existsSync(script)) return;
  const f = await fleetLab({ links: 2 });
  try {
    const journals = join(f.dir, 'journals');
    const env = { ...f.lab.env, RUNBOOK_JOURNAL_DIR: journals, NO_COLOR: '1', CI: '' };
    const args = ['apply', runbookFile('planned-failover'), '-i', f.fleetFile, '--all', '--parallel', '1', ...FAST.flatMap((s) => ['--set', s])];
    const r = await onTerminal(args, { cwd: f.dir, answer: 'yes', env });
    assert.is(r.code, 0, r.output);
    const out = r.output.replace(/\r/g, '');
    for (const link of ['dag1', 'dag2']) {
      assert.match(out, new RegExp(`^    confirms \\(step workload-stopped\\): The application workload on the current primary of link ${link} is stopped and will stay stopped until the failover is done\\.`, 'm'));
    }
    const record = JSON.parse(readFileSync(join(journals, 'waves', readdirSync(join(journals, 'waves')).find((n) => n.endsWith('.json'))!), 'utf8'));
    const gates = record.links.map((l: { runId: string }) => {
      const lines = readFileSync(join(journals, `${l.runId}.jsonl`), 'utf8').split('\n').filter(Boolean).map((x) => JSON.parse(x));
      const confirmed = lines.find((x) => x.kind === 'confirmed');
      assert.ok(confirmed, 'the run journals a confirmation');
      assert.is(confirmed.via, `the one confirmation of wave ${record.waveId}`);
      return { ...lines.find((x) => x.kind === 'step-finished' && x.step === 'workload-stopped').outputs, runStarted: lines.find((x) => x.kind === 'run-started').at };
    });
    assert.is(gates[0].confirmedBy, 'operator');
    assert.is(gates[1].confirmedBy, 'operator');
    // One answer, one time: the second link (run after the first, --parallel 1) was confirmed when the operator answered.
    assert.is(gates[1].confirmedAt, gates[0].confirmedAt);
    assert.ok(gates[1].confirmedAt < gates[1].runStarted, `${gates[1].confirmedAt} is before dag2's run began (${gates[1].runStarted})`);
    // A runbook whose gate needs what the run learns (forced failover's loss report) cannot be confirmed once for a wave.
    const forced = await onTerminal(['apply', runbookFile('forced-failover'), '-i', f.fleetFile, '--all', '--allow-data-loss', 'dag1,dag2'], { cwd: f.dir, answer: 'yes', env });
    assert.is(forced.code, 3, forced.output);
    assert.match(forced.output, /refusing the wave: 2 link\(s\) have gates whose question needs what the run learns, asked when the run gets there: dag1 \([^)]+\), dag2/);
    assert.not.match(forced.output, 'Type "yes" to go on');
  } finally {
    await f.stop();
  }
});

test.run();
