// The two files a link writes (engine/build/link/bundle.ts): the linked modules' functions as one
// classic script, and the ES module that runs it, the one the facades import.
//
// Why a classic script inside an ES module: Node 20 can run a script from a V8 code cache
// (vm.Script's cachedData), not a module; with the cache, V8 neither parses the ~500 kB again nor
// compiles the functions a command runs (the build runs validate and plan once, then saves what V8
// compiled: engine/build/link-hot-path.ts). The cache is used only beside a byte-identical copy
// of the script it was made from followed by the cache's CRC-32 and length, as engine/core/code-cache.ts does
// for the libraries (V8 checks only the length, not the bytes); without one, or one V8 refuses, the
// script is compiled as any code is. (The check is written out here rather than imported:
// code-cache.js is itself a linked module, lent by this file.)
import { CACHE_TRAILER_BYTES } from '../../core/code-cache.js';
import { LINKED } from './module-text.js';

/** The code file and its cache's names (in dist/cache/, beside the libraries' code caches). */
export const LINKED_CODE = { name: 'linked-modules.js', cacheDir: '../cache/' } as const;

/**
 * Set on globalThis by the build before it loads linked.js: the cache it saves must be compiled
 * from the code alone, never from a cache already there (one of other code would be saved again,
 * as if it were this code's).
 */
export const COMPILE_WITHOUT_CACHE = 'runbook: compile the linked code without its cache';

const PARAMETERS = [LINKED.require, LINKED.builtin, '__linked$url', '__linked$star', LINKED.dynamicImport, '__linked$packages'];

/** The script: one function that takes what the modules need and returns their functions. */
export function scriptText(moduleFunctions: string[], packageBindings: string[]): string {
  return [
    `(function (${PARAMETERS.join(', ')}) {`,
    "'use strict';",
    '// Linked by `npm run build` (engine/build/link/): each function below is one of our compiled',
    '// modules, whose own file is now a facade of it. Do not edit; compile and link again.',
    ...packageBindings.map((binding, i) => `const ${binding} = __linked$packages[${i}];`),
    ...moduleFunctions,
    `return [${moduleFunctions.map((_, id) => `__linked$m${id}`).join(', ')}];`,
    '})',
    '',
  ].join('\n');
}

/** The ES module: imports the packages, runs the script (from its code cache when it matches), and lends each module. */
export function moduleText(files: string[], packages: [specifier: string, binding: string][], build: string): string {
  const { name, cacheDir } = LINKED_CODE;
  return `// Linked by \`npm run build\` (engine/build/link/): runs ${name}, the code of the modules whose own
// files are facades importing this one. Do not edit; compile and link again.
import { createRequire as __linked$createRequire } from 'node:module';
import { readFileSync as __linked$read } from 'node:fs';
import { Script as __linked$Script } from 'node:vm';
${packages.map(([specifier, binding]) => `import * as ${binding} from ${JSON.stringify(specifier)};`).join('\n')}
const __linked$files = ${JSON.stringify(files)};
const __linked$build = ${JSON.stringify(build)};
const ${LINKED.builtin} = __linked$createRequire(import.meta.url);
const __linked$url = (id) => new URL(__linked$files[id], import.meta.url).href;
const ${LINKED.dynamicImport} = (specifier) => import(specifier);
const __linked$done = [];
const __linked$failed = [];
const __linked$running = [];
/**
 * The exports of linked module \`id\`, its function run on the first call (ESM: once, after its imports).
 * A facade asks by its module's path and its build: one of another build (runbook rebuilt or upgraded
 * since this file was loaded) is refused, never lent the module that has its number here.
 */
export function ${LINKED.require}(id, build) {
  if (typeof id === 'string') id = __linked$facade(id, build);
  const done = __linked$done[id];
  if (done !== undefined) return done;
  if (__linked$failed[id] !== undefined) throw __linked$failed[id].error;
  if (__linked$running[id]) throw new Error(\`linked module \${__linked$files[id]} was imported while it ran\`);
  __linked$running[id] = true;
  try {
    // Called with no receiver: a module's top-level \`this\` is undefined, as in ESM.
    return (__linked$done[id] = __linked$modules[id].call(undefined));
  } catch (error) {
    __linked$failed[id] = { error };
    throw error;
  } finally {
    __linked$running[id] = false;
  }
}
function __linked$facade(file, build) {
  const id = build === __linked$build ? __linked$files.indexOf(file) : -1;
  if (id >= 0) return id;
  throw new Error(\`runbook was rebuilt or upgraded while this process ran: \${new URL(file, import.meta.url).pathname} belongs to build \${build}, this process runs build \${__linked$build}; start the command again (a run resumes from its journal)\`);
}
/** The URLs of the linked modules whose function has run (or thrown), for a test to see what a command loaded. */
export function linkedModulesRun() {
  return __linked$files.flatMap((_, id) => (__linked$done[id] !== undefined || __linked$failed[id] !== undefined ? [__linked$url(id)] : []));
}
function __linked$star(id) {
  const { default: _, ...names } = ${LINKED.require}(id);
  return names;
}
const __linked$code = __linked$read(new URL(${JSON.stringify(`./${name}`)}, import.meta.url));
let __linked$cached;
let __linked$damaged = false;
if (!globalThis[Symbol.for(${JSON.stringify(COMPILE_WITHOUT_CACHE)})]) {
  try {
    // The copy: the code, then the CRC-32 and length of the cache made from it (engine/core/code-cache.ts cacheRecord).
    const record = __linked$read(new URL(${JSON.stringify(`${cacheDir}${name}`)}, import.meta.url));
    if (record.length === __linked$code.length + ${CACHE_TRAILER_BYTES} && record.subarray(0, __linked$code.length).equals(__linked$code)) {
      // zlib.crc32: Node 20.15 and later; without it the cache is not used (the code compiles as any code does).
      const { crc32 } = ${LINKED.builtin}('node:zlib');
      const cache = typeof crc32 === 'function' ? __linked$read(new URL(${JSON.stringify(`${cacheDir}${name}.v8`)}, import.meta.url)) : undefined;
      if (cache && cache.length === record.readUInt32BE(__linked$code.length + 4) && crc32(cache) === record.readUInt32BE(__linked$code.length)) __linked$cached = cache;
      else if (cache) __linked$damaged = true;
    }
  } catch {
    // No cache (a build that wrote none yet): compiled as any code is.
  }
}
const __linked$codeUrl = new URL(${JSON.stringify(`./${name}`)}, import.meta.url).href;
let __linked$script;
let __linked$modules;
try {
  __linked$script = new __linked$Script(__linked$code.toString('utf8'), { filename: __linked$codeUrl, ...(__linked$cached ? { cachedData: __linked$cached } : {}) });
  __linked$modules = __linked$script.runInThisContext()(${LINKED.require}, ${LINKED.builtin}, __linked$url, __linked$star, ${LINKED.dynamicImport}, [${packages.map(([, b]) => b).join(', ')}]);
} catch (error) {
  // Only a damaged file fails here (the modules' own code runs later, on their first import).
  throw new Error(\`\${__linked$codeUrl} is damaged: \${error.message}\`, { cause: error });
}
/** Whether the script ran from its code cache: \`none\` (no cache for this code), \`damaged\` (not the cache the copy records), \`rejected\` (by V8), \`used\`. */
export const linkedCodeCacheUse = __linked$damaged ? 'damaged' : __linked$cached === undefined ? 'none' : __linked$script.cachedDataRejected ? 'rejected' : 'used';
/** V8's code of the script and of every function compiled so far (the build saves it after running the commands). */
export function linkedCodeCache() {
  return __linked$script.createCachedData();
}
/** The bytes the script was compiled from: the copy the build saves beside its cache. */
export function linkedCode() {
  return __linked$code;
}
`;
}
