// The wave's terminal rows (pure: a stream in memory): a step's warning flags its link's row while
// it still runs, not only once the wave ends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PassThrough } from 'node:stream';
import { LiveWaveView } from '../../../engine/ui/wave/live.js';
import { foldEvent, type LinkProgress } from '../../../engine/ui/wave/progress.js';

test('F14: a running link a step warned about shows WARNING on its row at the next redraw', () => {
  const out = new PassThrough();
  let screen = '';
  out.on('data', (d) => (screen += d));
  const rows: LinkProgress[] = [{ name: 'dag1', state: 'pending' }, { name: 'dag2', state: 'pending' }];
  const view = new LiveWaveView(out, rows, undefined, 120, 1);
  const now = Date.now();
  for (const row of rows) {
    foldEvent(row, { event: 'run-started', runId: '20261206T000000Z-abcd', runbook: 'x', link: row.name, journal: 'j', steps: 3 }, now);
    foldEvent(row, { event: 'step-started', step: 'force', index: 2, total: 3, type: 'sqlExec', impact: 'dataLoss', attempt: 1 }, now);
  }
  foldEvent(rows[0]!, { event: 'step-output', step: 'force', level: 'warn', message: 'two primaries now exist' }, now);
  foldEvent(rows[1]!, { event: 'step-output', step: 'force', level: 'info', message: 'sent' }, now);
  view.finish();
  assert.match(screen, /\x1b\[2Kdag1\s+running WARNING\s/);
  assert.match(screen, /\x1b\[2Kdag2\s+running\s+\S+\s+force \(2\/3\)/);
  assert.not.match(screen, /dag2\s+running WARNING/);
});

test.run();
