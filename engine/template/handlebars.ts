// Handlebars' minified build (the parser of runbook templates, engine/template/syntax.ts), run from
// the build's V8 code cache (engine/core/code-cache.ts): the library and its parser's functions
// compiled once, at build time, by parsing sample templates (engine/build/code-caches.ts).
import { createRequire } from 'node:module';
import type Handlebars from 'handlebars';
import { cacheFiles as libraryCacheFiles, codeCacheDir, loadLibrary, writeLibraryCache, type CachedLibrary, type CodeCacheUse } from '../core/code-cache.js';

export type { CodeCacheUse } from '../core/code-cache.js';
export type HandlebarsParse = typeof Handlebars.parse;

const require = createRequire(import.meta.url);
/** Where the build writes the cache: dist/cache/. */
export const templateCacheDir = codeCacheDir;

function handlebarsLibrary(): CachedLibrary {
  return {
    file: require.resolve('handlebars/dist/handlebars.min.js'),
    name: 'handlebars.min.js',
    required: () => require('handlebars/dist/handlebars.min.js'),
  };
}

export function cacheFiles(dir: string): { source: string; code: string } {
  return libraryCacheFiles(dir, handlebarsLibrary().name);
}

/** Handlebars' `parse`, and whether a code cache in `dir` was used. */
export function loadHandlebarsParse(dir: string = templateCacheDir): { parse: HandlebarsParse; cache: CodeCacheUse } {
  const { exports: handlebars, cache } = loadLibrary<typeof Handlebars>(handlebarsLibrary(), dir);
  return { parse: handlebars.parse.bind(handlebars), cache };
}

/** Writes the code cache into `dir`, with `samples` parsed so the parser's functions are in it. */
export function writeHandlebarsCache(dir: string, samples: readonly string[]): void {
  writeLibraryCache<typeof Handlebars>(handlebarsLibrary(), dir, (handlebars) => {
    for (const text of samples) handlebars.parse(text);
  });
}
