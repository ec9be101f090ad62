// The drill's verdict over hand-made results: a drill in which no run sent a change says so, in
// text and JSON, and is not ok; one run that changed something is enough to have exercised it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exercise, renderDrillJson, renderDrillText } from '../../../engine/drill/report.js';
import type { JudgedRun } from '../../../engine/drill/runner.js';

const healthy = { id: 'healthy/no-fault', scenario: 'healthy', fault: { kind: 'none' } } as unknown as JudgedRun['case'];
const dropped = { id: 'healthy/drop-before-1', scenario: 'healthy', fault: { kind: 'drop-before', nth: 1 } } as unknown as JudgedRun['case'];
const judged = (o: Partial<JudgedRun>): JudgedRun => ({ case: healthy, seed: 7, violations: [], fired: true, ms: 100, codes: [3], changesSent: 0, ...o });
const summary = (results: JudgedRun[]) => ({ runbook: 'rb.yml', replayBase: () => ['runbook', 'drill', 'rb.yml'], seed: 7, faults: 'matrix' as const, results, ms: 1000 });

test('a drill in which every run refused before its first change is not exercised, and says so', () => {
  const s = summary([judged({}), judged({ case: dropped, codes: [], unreachable: 'the run without a fault sends 0 change statement(s)' })]);
  assert.equal(exercise(s), { exercised: false, changedRuns: 0, unchangedRuns: 1, notRun: 1 });
  const text = renderDrillText(s);
  assert.match(text, /No invariant broke\.\nNOT EXERCISED: no run sent a change statement or ARM change \(1 run\(s\) reached no change step, 1 of 2 case run\(s\) not run\)/);
  const json = JSON.parse(renderDrillJson(s));
  assert.is(json.exercised, false);
  assert.is(json.ok, false);
  assert.is(json.changedRuns, 0);
  assert.is(json.unchangedRuns, 1);
});

test('one run that sent a change exercised the runbook', () => {
  const s = summary([judged({ codes: [0], changesSent: 2 }), judged({ case: dropped, codes: [3] })]);
  assert.equal(exercise(s), { exercised: true, changedRuns: 1, unchangedRuns: 1, notRun: 0 });
  assert.not.match(renderDrillText(s), /NOT EXERCISED/);
  const json = JSON.parse(renderDrillJson(s));
  assert.is(json.exercised, true);
  assert.is(json.ok, true);
});

test.run();
