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
//
// V8 does not check the cache's own bytes either (its checksum check is off in release builds): a
// damaged cache runs other code, or stops the process on an internal assertion (V8's "unreachable
// code", exit 133). So the copy holds the source followed by the cache's CRC-32 and length, and
// the cache file is used only when it has them ('damaged' otherwise): a cache changed or torn after
// the build, or one left by an interrupted build beside another's copy, never reaches V8. An earlier
// copy held the cache itself, which a cache damaged the same way in both files passed (attack
// r7fix finding 13). zlib's CRC-32 (native, Node 20.15 and later) costs 0.1 ms for the linked
// code's 360 kB cache, and loading node:zlib about 0.8 ms once, only when a copy matches; node:crypto
// would cost 3 ms and a hash in JavaScript 2-4 ms (bench/startup). A Node without zlib.crc32
// uses no code cache (compiled from source: only slower); the build computes it in JavaScript.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/**
 * Whether the compiled code was used: `none` (no cache for this source), `damaged` (not the cache
 * the copy records: not given to V8), `rejected` (by V8), `used`.
 */
export type CodeCacheUse = 'none' | 'damaged' | 'rejected' | 'used';

const require = createRequire(import.meta.url);

/** What follows the source in the copy: the cache's CRC-32, then its length (each 32-bit big-endian). */
export const CACHE_TRAILER_BYTES = 8;

/** What the copy beside a code cache holds: the source, then the CRC-32 and length of the cache compiled from it. */
export function cacheRecord(source: Buffer, cache: Buffer): Buffer {
  const trailer = Buffer.alloc(CACHE_TRAILER_BYTES);
  trailer.writeUInt32BE(nativeCrc32()?.(cache) ?? crc32InJavaScript(cache), 0);
  trailer.writeUInt32BE(cache.length, 4);
  return Buffer.concat([source, trailer]);
}

/** The source a copy records (the copy without its trailer). */
export function recordedSource(record: Buffer): Buffer {
  return record.subarray(0, Math.max(0, record.length - CACHE_TRAILER_BYTES));
}

/**
 * The cache, when the record (the copy) holds exactly this source and this cache's CRC-32 and
 * length; `damaged` when it holds this source and another cache's; undefined when it is the record
 * of another source, or this Node cannot check a cache.
 */
export function cacheIfRecorded(record: Buffer, source: Buffer, cache: () => Buffer): Buffer | 'damaged' | undefined {
  if (record.length !== source.length + CACHE_TRAILER_BYTES || !record.subarray(0, source.length).equals(source)) return undefined;
  const crc32 = nativeCrc32();
  if (!crc32) return undefined;
  const code = cache();
  return code.length === record.readUInt32BE(source.length + 4) && crc32(code) === record.readUInt32BE(source.length) ? code : 'damaged';
}

/** zlib's CRC-32, loaded on first use (Node 20.15 and later); undefined on a Node without it. */
function nativeCrc32(): ((data: Buffer) => number) | undefined {
  const { crc32 } = require('node:zlib') as { crc32?: (data: Buffer) => number };
  return typeof crc32 === 'function' ? crc32 : undefined;
}

let crcTable: Int32Array | undefined;

/** CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib computes it: for a build on a Node without zlib.crc32. */
export function crc32InJavaScript(data: Buffer): number {
  const table = (crcTable ??= Int32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c;
  }));
  let crc = -1;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** A library's file (a CommonJS or UMD build) and the name its copy and code go by in the cache folder. */
export interface CachedLibrary {
  file: string;
  name: string;
  /** How to load it without a cache; by default `require(file)`. */
  required?: () => unknown;
}

/** dist/engine/core/ -> dist/cache/ */
export const codeCacheDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'cache');

export function cacheFiles(dir: string, name: string): { source: string; code: string } {
  return { source: join(dir, name), code: join(dir, `${name}.v8`) };
}

function readIfSame(dir: string, name: string, source: Buffer): Buffer | 'damaged' | undefined {
  const files = cacheFiles(dir, name);
  try {
    return cacheIfRecorded(readFileSync(files.source), source, () => readFileSync(files.code));
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
  if (cachedData === undefined || cachedData === 'damaged') return { exports: (library.required?.() ?? require(library.file)) as T, cache: cachedData ?? 'none' };
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
  const cache = script.createCachedData();
  writeFileSync(files.code, cache);
  writeFileSync(files.source, cacheRecord(source, cache));
}
