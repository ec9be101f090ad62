// js-yaml, the reader of runbooks and inventories (yaml.ts), run from the build's V8 code cache
// (engine/core/code-cache.ts; written by engine/build/code-caches.ts). Its UMD build, dist/js-yaml.js,
// is the code of the ESM build `import 'js-yaml'` gives (the package makes both from one source
// with one rollup build) in a form a script can run. The package's exports map does not name that
// file, so it is found beside the package's main one.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as JsYaml from 'js-yaml';
import { codeCacheDir, loadLibrary, type CachedLibrary, type CodeCacheUse } from '../core/code-cache.js';

export type JsYamlModule = typeof JsYaml;

const require = createRequire(import.meta.url);

export function jsYamlLibrary(): CachedLibrary {
  return { file: join(dirname(require.resolve('js-yaml')), 'dist', 'js-yaml.js'), name: 'js-yaml.js' };
}

/** js-yaml, and whether a code cache in `dir` was used. */
export function loadJsYaml(dir: string = codeCacheDir): { yaml: JsYamlModule; cache: CodeCacheUse } {
  const { exports, cache } = loadLibrary<JsYamlModule>(jsYamlLibrary(), dir);
  return { yaml: exports, cache };
}
