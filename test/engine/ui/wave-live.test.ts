// The wave's terminal rows (pure: a stream in memory): a step's warning flags its link's row while
// it still runs, not only once the wave ends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PassThrough } from 'node:stream';
import { LiveWaveView } from '../../../engine/ui/wave/live.js';
import { foldEvent, type LinkProgress } from '../../../engine/ui/wave/progress.js';
import { makeStyle, plainStyle, visibleText, type Style } from '../../../engine/ui/style.js';

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

/** The rows as drawn once in `style`, at a fixed time. */
function drawnRows(rows: LinkProgress[], style: Style): string {
  const out = new PassThrough();
  let screen = '';
  out.on('data', (d) => (screen += d));
  new LiveWaveView(out, rows, style, 120, 1).finish();
  return screen;
}

test('attack r4wave: coloured rows line up as the plain ones do (padding counts what the terminal shows, not the colour codes)', () => {
  const started = Date.now() - 65_000;
  const rows: LinkProgress[] = [
    { name: 'dag1', state: 'running', startedAt: started, step: 'failover (7/12)' },
    { name: 'dag2', state: 'done', startedAt: started, durationMs: 61_000, exitCode: 0, meaning: 'done' },
    { name: 'dag3', state: 'failed', startedAt: started, durationMs: 2_000, exitCode: 3, meaning: 'refused' },
    { name: 'dag4', state: 'pending' },
  ];
  const plain = drawnRows(rows, plainStyle);
  const coloured = drawnRows(rows, makeStyle(true));
  assert.ok(coloured !== plain && coloured.includes('\x1b[1mrunning'), 'the coloured rows carry colour codes');
  assert.is(visibleText(coloured), plain, 'on screen the coloured rows are the plain rows');
  // Every row's elapsed time (right-aligned) ends in the same column.
  const at = plain.split('\n').filter(Boolean).map((l) => {
    const m = /  (\S+s) /.exec(l.replace('\x1b[2K', ''));
    return m ? m.index + m[0].length : -1;
  });
  assert.ok(at.slice(0, 3).every((c) => c === at[0]), `elapsed columns at ${at.join(', ')}`);
});

test.run();
