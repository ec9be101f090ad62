// The wave on a real pseudo-terminal (test/helpers/terminal.ts): one confirmation listing every
// link, then one row per link redrawn in place, a link's error kept under the rows, the summary.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
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

test.run();
