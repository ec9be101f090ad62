// Loading Handlebars' minified build (the parser of runbook templates, engine/template/syntax.ts)
// with a V8 code cache: compiling the library and its parser's functions is a large share of what
// `validate` and `plan` spend beyond `node -e 0` (bench/startup), and Node 20 has no compile cache
// for modules. `npm run build` (engine/build/template-cache.ts) parses sample templates and writes
// V8's compiled code to dist/cache/ beside a copy of the exact source it was compiled from.
//
// The cache is used only for that same source, byte for byte: V8 itself checks only the source's
// length (and its own version and flags), so a reinstalled Handlebars of the same length would
// otherwise run the old code. Without a matching cache the library is `require`d as before; a
// cache V8 refuses (another Node, other V8 flags) costs nothing but the time of compiling it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import type Handlebars from 'handlebars';

export type HandlebarsParse = typeof Handlebars.parse;

/** Whether the compiled code was used: `none` (no cache for this source), `rejected` (by V8), `used`. */
export type CodeCacheUse = 'none' | 'rejected' | 'used';

const require = createRequire(import.meta.url);
/** dist/engine/template/ -> dist/cache/ */
export const templateCacheDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'cache');

export function cacheFiles(dir: string): { source: string; code: string } {
  return { source: join(dir, 'handlebars.min.js'), code: join(dir, 'handlebars.min.js.v8') };
}

function librarySource(): { file: string; source: Buffer } {
  const file = require.resolve('handlebars/dist/handlebars.min.js');
  return { file, source: readFileSync(file) };
}

function readIfSame(dir: string, source: Buffer): Buffer | undefined {
  const files = cacheFiles(dir);
  try {
    return readFileSync(files.source).equals(source) ? readFileSync(files.code) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The library's UMD build run as CommonJS would run it (it sets `module.exports` when it sees
 * `exports` and `module`), compiled with `cachedData` when given.
 */
function compile(file: string, source: Buffer, cachedData: Buffer | undefined): { script: Script; handlebars: typeof Handlebars } {
  const script = new Script(`(function (exports, module) {${source.toString('utf8')}\n})`, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} as unknown };
  (script.runInThisContext() as (exports: unknown, module: { exports: unknown }) => void)(module.exports, module);
  return { script, handlebars: module.exports as typeof Handlebars };
}

/** Handlebars' `parse`, and whether a code cache in `dir` was used. */
export function loadHandlebarsParse(dir: string = templateCacheDir): { parse: HandlebarsParse; cache: CodeCacheUse } {
  const { file, source } = librarySource();
  const cachedData = readIfSame(dir, source);
  if (cachedData === undefined) {
    // No cache for this source: loaded as any CommonJS module is.
    const handlebars = require('handlebars/dist/handlebars.min.js') as typeof Handlebars;
    return { parse: handlebars.parse.bind(handlebars), cache: 'none' };
  }
  const { script, handlebars } = compile(file, source, cachedData);
  return { parse: handlebars.parse.bind(handlebars), cache: script.cachedDataRejected ? 'rejected' : 'used' };
}

/**
 * Writes the code cache into `dir`: the library compiled, then `samples` parsed so that the
 * parser's functions (compiled lazily, on first call) are in the cache too. The compiled code is
 * written before the copy of its source: a build stopped between the two leaves a cache that no
 * longer matches (unused), never one that matches code compiled from another source.
 */
export function writeHandlebarsCache(dir: string, samples: readonly string[]): void {
  const { file, source } = librarySource();
  const { script, handlebars } = compile(file, source, undefined);
  for (const text of samples) handlebars.parse(text);
  const files = cacheFiles(dir);
  mkdirSync(dir, { recursive: true });
  writeFileSync(files.code, script.createCachedData());
  writeFileSync(files.source, source);
}
