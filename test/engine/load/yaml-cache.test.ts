// js-yaml run from the build's V8 code cache (engine/load/yaml.ts loadJsYaml): the cache `npm run build`
// wrote is used, and its UMD build reads documents exactly as the ESM build `import 'js-yaml'` does,
// values and errors alike. The load runs in a child process: V8 keeps code it compiled once per
// process and would not look at a cache for the same source again. What a stale or refused cache
// does is the same code as for Handlebars (test/engine/template/handlebars.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as packageYaml from 'js-yaml';
import { codeCacheDir } from '../../../engine/core/code-cache.js';

const DOCUMENTS = [
  'name: x\nsteps:\n  - id: a\n    with: { n: [1, 2.5, 0x1f, ~, true], s: "q\\u00e9" }\n  - id: b\n    with:\n      sql: |\n        SELECT 1\n        GO\n',
  'a: &x { b: 1 }\nc: *x\nd: >-\n  folded\n  text\ne: 2026-12-06\n',
  'a: 1\na: 2\n',
  '{{x}}: 1\n',
  'a: [1, 2\n',
  'a:\n\t- tab\n',
];

/** What reading gives with the engine's options: the value, or the error's message. */
function outcome(yaml: typeof packageYaml, text: string): unknown {
  try {
    return JSON.parse(JSON.stringify(yaml.load(text, { schema: yaml.CORE_SCHEMA, json: true, maxDepth: 64 } as packageYaml.LoadOptions)));
  } catch (e) {
    return { error: String((e as Error).message) };
  }
}

test('the js-yaml cache the build wrote is used, and reads documents as the package does', () => {
  const moduleUrl = new URL('../../../engine/load/yaml.js', import.meta.url).href;
  const script = `
    const { loadJsYaml } = await import(${JSON.stringify(moduleUrl)});
    const loaded = loadJsYaml();
    const outcome = ${outcome.toString()};
    process.stdout.write(JSON.stringify({ cache: loaded.cache, outcomes: ${JSON.stringify(DOCUMENTS)}.map((t) => outcome(loaded.yaml, t)) }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const child = JSON.parse(r.stdout) as { cache: string; outcomes: unknown[] };
  assert.is(child.cache, 'used', `dist/cache (${codeCacheDir}) holds the code cache of this js-yaml`);
  assert.equal(child.outcomes, DOCUMENTS.map((t) => outcome(packageYaml, t)));
  assert.ok(child.outcomes.slice(4).every((o) => (o as { error?: string }).error), 'the broken documents do fail');
});

test.run();
