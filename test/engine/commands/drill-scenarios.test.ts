// Which scenario files a drill watches (engine/commands/drill.ts scenarioFilesOf): the ones the lab
// reads at every case start, found as lab/scenario.ts finds them (attack r7drill #2).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join, resolve } from 'node:path';
import { scenarioFilesOf } from '../../../engine/commands/drill.js';
import { SCENARIO_DIR } from '../../../lab/scenario.js';

test('a built-in name is its file in the source tree, a path is resolved, and healthy.yml (every scenario\'s base) is always watched', () => {
  assert.equal(scenarioFilesOf(['lagging', './my.yml']), [join(SCENARIO_DIR, 'healthy.yml'), join(SCENARIO_DIR, 'lagging.yml'), resolve('my.yml')]);
  assert.equal(scenarioFilesOf(['healthy']), [join(SCENARIO_DIR, 'healthy.yml')]);
});

test.run();
