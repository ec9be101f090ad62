// The house's import direction (README "Architecture", .dependency-cruiser.cjs), checked by
// dependency-cruiser on the sources: each engine folder imports only the folders below it, steps
// only the step API and the drivers, the lab nothing of ours, and no module is part of a cycle.
// The second test builds a small tree with one import of each forbidden kind and checks that the
// same configuration names every one, so a rule that stopped matching would fail here too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { root, tempDir } from './helpers/cli.js';

const depcruise = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const config = join(root, '.dependency-cruiser.cjs');

function cruise(cwd: string, folders: string[]): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [depcruise, ...folders, '--config', config, '--output-type', 'err'], { cwd, encoding: 'utf8', timeout: 90_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test('the sources import one way: no violation of .dependency-cruiser.cjs', () => {
  const r = cruise(root, ['engine', 'steps', 'lab', 'examples']);
  assert.is(r.status, 0, r.output);
  assert.match(r.output, /no dependency violations found/);
});

test('each kind of wrong-way import is named by its rule', () => {
  const dir = tempDir('runbook-arch-');
  const files: Record<string, string> = {
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowJs: false } }),
    'engine/core/types.ts': "import type { Plan } from '../plan/types.js';\nexport type T = Plan;\n",
    'engine/plan/types.ts': "import { run } from '../apply/run.js';\nexport interface Plan { x: typeof run }\n",
    'engine/apply/run.ts': "import { style } from '../ui/style.js';\nexport const run = style;\n",
    'engine/ui/style.ts': "export const style = 1;\n",
    'engine/step-api/index.ts': "import { pool } from '../drivers/sql/pool.js';\nexport const api = pool;\n",
    'engine/drivers/sql/pool.ts': "export const pool = 1;\n",
    'engine/validate/rules.ts': "import steps from '../../steps/index.js';\nexport const rules = steps;\n",
    'steps/index.ts': "import { run } from '../engine/apply/run.js';\nexport default run;\n",
    'lab/index.ts': "import type { T } from '../engine/core/types.js';\nexport type L = T;\n",
    'engine/load/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
    'engine/load/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const r = cruise(dir, ['engine', 'steps', 'lab']);
  assert.is.not(r.status, 0, r.output);
  for (const rule of [
    'core-imports-only-below: engine/core/types.ts → engine/plan/types.ts',
    'plan-imports-only-below: engine/plan/types.ts → engine/apply/run.ts',
    'apply-imports-only-below: engine/apply/run.ts → engine/ui/style.ts',
    'step-api-imports-only-below: engine/step-api/index.ts → engine/drivers/sql/pool.ts',
    'validate-imports-only-below: engine/validate/rules.ts → steps/index.ts',
    'steps-know-step-api-and-drivers: steps/index.ts → engine/apply/run.ts',
    'lab-knows-nothing-of-ours: lab/index.ts → engine/core/types.ts',
    'no-circular: engine/load/a.ts',
  ]) {
    assert.ok(r.output.includes(rule), `expected "${rule}" in:\n${r.output}`);
  }
});

test.run();
