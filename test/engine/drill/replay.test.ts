// The replay line of a random-mode violation (engine/commands/drill.ts replayBase, report.ts adds
// `--seed` and `--only`): run as printed, it plans exactly the run that broke, once, under its seed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { replayBase } from '../../../engine/commands/drill.js';
import { plannedRuns } from '../../../engine/drill/runner.js';

const shape = { steps: [{ index: 1, id: 'a', type: 'sqlExec', impact: 'change', skipped: false }, { index: 2, id: 'b', type: 'sqlExec', impact: 'read', skipped: false }] };
const scenarios = ['healthy', 'primary-down'];
/** A flag's value in a command line, or `fallback` (the drill's own default) when the line leaves it out. */
const flag = (argv: string[], name: string, fallback?: string) => {
  const at = argv.indexOf(name);
  return at < 0 ? fallback : argv[at + 1];
};

test('a random-mode replay line runs the case once, under the seed that broke it (attack r6drill #5)', () => {
  const drawn = plannedRuns({ scenarios, faults: 'random', runs: 200, seed: 1 }, shape);
  const base = replayBase({ runbook: 'rb.yml', sets: ['stableFor=300ms'], faults: 'random', scenarios });
  for (const run of drawn) {
    const argv = [...base(run.case.scenario), '--seed', String(run.seed), '--only', run.case.id];
    // Random mode draws 20 runs unless told otherwise (engine/commands/drill.ts).
    const replayed = plannedRuns({ scenarios: flag(argv, '--scenarios')!.split(','), faults: 'random', runs: Number(flag(argv, '--runs', '20')), seed: Number(flag(argv, '--seed')), only: run.case.id }, shape);
    assert.equal(replayed, [run], `replay of ${run.case.id} seed ${run.seed}: ${argv.join(' ')}`);
  }
});

test('a matrix replay line names its scenario and no --runs (the matrix runs each case once)', () => {
  const argv = replayBase({ runbook: 'rb.yml', sets: [], faults: 'matrix', scenarios })('healthy');
  assert.equal(argv, ['runbook', 'drill', 'rb.yml', '--scenarios', 'healthy', '--faults', 'matrix']);
});

test.run();
