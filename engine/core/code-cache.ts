// A CommonJS library (a package's build, or a module the build generates) run from a V8 code cache. Compiling a library and the functions a first use
// calls is a large share of what `validate` and `plan` spend beyond `node -e 0` (bench/startup),
// and Node 20 has no compile cache for modules. `npm run build` (engine/build/code-caches.ts) runs
// each library on sample input and writes V8's compiled code to dist/cache/ beside a copy of the
// exact source it was compiled from.
//
// The cache is used only for that same source, byte for byte: V8 itself checks only the source's
// length (and its own version and flags), so a reinstalled library of the same length would
// otherwise run the old code. Without a matching cache the library is `require`d as before; a
// cache V8 refuses (another Node, other V8 flags) costs nothing but the time of compiling it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/** Whether the compiled code was used: `none` (no cache for this source), `rejected` (by V8), `used`. */
export type CodeCacheUse = 'none' | 'rejected' | 'used';

/** A library's file (a CommonJS or UMD build) and the name its copy and code go by in the cache folder. */
export interface CachedLibrary {
  file: string;
  name: string;
  /** How to load it without a cache; by default `require(file)`. */
  required?: () => unknown;
}

const require = createRequire(import.meta.url);
/** dist/engine/core/ -> dist/cache/ */
export const codeCacheDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'cache');

export function cacheFiles(dir: string, name: string): { source: string; code: string } {
  return { source: join(dir, name), code: join(dir, `${name}.v8`) };
}

function readIfSame(dir: string, name: string, source: Buffer): Buffer | undefined {
  const files = cacheFiles(dir, name);
  try {
    return readFileSync(files.source).equals(source) ? readFileSync(files.code) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The library run as CommonJS would run it (a UMD build sets `module.exports`, or fills `exports`,
 * when it sees them; a CommonJS module may `require` what it needs, from its own place), compiled
 * with `cachedData` when given.
 */
function compile<T>(file: string, source: Buffer, cachedData: Buffer | undefined): { script: Script; exports: T } {
  const script = new Script(`(function (exports, module, require) {${source.toString('utf8')}\n})`, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} as unknown };
  (script.runInThisContext() as (exports: unknown, module: { exports: unknown }, require: NodeRequire) => void)(module.exports, module, createRequire(file));
  return { script, exports: module.exports as T };
}

/** The library's exports, and whether a code cache in `dir` was used. */
export function loadLibrary<T>(library: CachedLibrary, dir: string = codeCacheDir): { exports: T; cache: CodeCacheUse } {
  const source = readFileSync(library.file);
  const cachedData = readIfSame(dir, library.name, source);
  // No cache for this source: loaded as any CommonJS module is.
  if (cachedData === undefined) return { exports: (library.required?.() ?? require(library.file)) as T, cache: 'none' };
  const { script, exports } = compile<T>(library.file, source, cachedData);
  return { exports, cache: script.cachedDataRejected ? 'rejected' : 'used' };
}

/**
 * Writes the library's code cache into `dir`: the library compiled, then `warm` run on it so that
 * the functions a first use calls (compiled lazily, on first call) are in the cache too. The code
 * is written before the copy of its source: a build stopped between the two leaves a cache that no
 * longer matches (unused), never one that matches code compiled from another source.
 */
export function writeLibraryCache<T>(library: CachedLibrary, dir: string, warm: (exports: T) => void): void {
  const source = readFileSync(library.file);
  const { script, exports } = compile<T>(library.file, source, undefined);
  warm(exports);
  const files = cacheFiles(dir, library.name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(files.code, script.createCachedData());
  writeFileSync(files.source, source);
}
