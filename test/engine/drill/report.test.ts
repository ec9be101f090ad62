// The drill's verdict over hand-made results: a drill in which no run sent a change says so, in
// text and JSON, and is not ok; one run that changed something is enough to have exercised it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { durationLeft, exercise, progressLine, renderDrillJson, renderDrillText } from '../../../engine/drill/report.js';
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

test('cases left unrun by where the run without a fault ended are named beside "No invariant broke.", with where it ended (attack r7fix #2)', () => {
  const base = judged({ codes: [1], changesSent: 1, baseline: true, stoppedAt: 'failed at step caught-up: LSNs did not match within 1 s' });
  const s = summary([base, judged({ case: dropped, codes: [], unreachable: 'the run without a fault sends 0 change statement(s)' })]);
  const line = 'NOT RUN: 1 case(s) of healthy, whose fault strikes past where its run without a fault (seed 7) ended: exit 1 (failed at step caught-up: LSNs did not match within 1 s). They were not rehearsed; a run that goes further (other --set values or scenario) would rehearse them.';
  assert.match(renderDrillText(s), `No invariant broke.\n${line}\n1 run(s) in 1.0 s`);
  assert.equal(JSON.parse(renderDrillJson(s)).notRun, [line]);
  // Every case ran: nothing to say.
  assert.not.match(renderDrillText(summary([base])), /NOT RUN/);
  assert.equal(JSON.parse(renderDrillJson(summary([base]))).notRun, []);
});

test('progress: each line says about how long the rest will take, at the rate so far', () => {
  // 10 of 100 runs in 20 s: 90 more at 0.5 runs/s is 3 minutes.
  assert.match(progressLine(judged({ codes: [0] }), 10, 100, 0, 0, false, 20_000), /^run 10\/100 healthy\/no-fault seed 7: exit 0, ok \(0\.1 s\), about 3m left\n$/);
  assert.match(progressLine(judged({ codes: [0] }), 10, 100, 0, 0, true, 20_000), /10\/100 runs, 0 violation\(s\), 0\.5 runs\/s, about 3m left $/);
  assert.not.match(progressLine(judged({ codes: [0] }), 100, 100, 0, 0, false, 20_000), /left/);
  assert.equal([durationLeft(30), durationLeft(600), durationLeft(4 * 3600 + 1260), durationLeft(Infinity)], ['30s', '10m', '4h 21m', 'an unknown time']);
});

test.run();
