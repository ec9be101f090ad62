// Handlebars loaded with the build's V8 code cache (engine/template/handlebars.ts): the cache is
// used for the source it was made from and for nothing else, a cache V8 refuses is harmless, and
// whichever way the library was compiled, it parses exactly as the package's own build does.
// Each load runs in a child process: V8 keeps code it compiled once per process and would not
// look at a second cache for the same source.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cacheRecord, recordedSource } from '../../../engine/core/code-cache.js';
import { cacheFiles, templateCacheDir, writeHandlebarsCache, type CodeCacheUse, type HandlebarsParse } from '../../../engine/template/handlebars.js';
import { tempDir } from '../../helpers/cli.js';

const packageParse = (createRequire(import.meta.url)('handlebars/dist/handlebars.min.js') as { parse: HandlebarsParse }).parse;

const TEMPLATES = [
  '{{link.name}}',
  "{{#if (eq inputs.direction 'toManagedInstance')}}\n  MI\n{{else}}\n  SQL Server\n{{/if}}\n",
  'ALTER AVAILABILITY GROUP {{ident link.name}} SET (ROLE = SECONDARY); -- {{str inputs.note}}',
  '{{~default inputs.wait "5m"~}} {{! comment }} {{gt steps.gap.outputs.bytes 0}}',
];
const BROKEN = ['{{#if a}}no end', '{{a.b', '{{a}}}'];

/** What parsing gives: the tree, or the error's message (which carries the position). */
function outcome(parse: HandlebarsParse, text: string): unknown {
  try {
    return JSON.parse(JSON.stringify(parse(text)));
  } catch (e) {
    return { error: String((e as Error).message) };
  }
}

const moduleUrl = new URL('../../../engine/template/handlebars.js', import.meta.url).href;

/** Loads Handlebars with the cache in `dir` in a fresh process; how the cache went and what the texts parse to. */
function loadInChild(dir?: string): { cache: CodeCacheUse; outcomes: unknown[] } {
  const script = `
    const { loadHandlebarsParse } = await import(${JSON.stringify(moduleUrl)});
    const loaded = loadHandlebarsParse(...${JSON.stringify(dir === undefined ? [] : [dir])});
    const outcome = ${outcome.toString()};
    const texts = ${JSON.stringify([...TEMPLATES, ...BROKEN])};
    process.stdout.write(JSON.stringify({ cache: loaded.cache, outcomes: texts.map((t) => outcome(loaded.parse, t)) }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { cache: CodeCacheUse; outcomes: unknown[] };
}

function assertParsesAsThePackage(outcomes: unknown[]): void {
  assert.equal(outcomes, [...TEMPLATES, ...BROKEN].map((t) => outcome(packageParse, t)));
  assert.ok(outcomes.slice(TEMPLATES.length).every((o) => (o as { error?: string }).error), 'the broken templates do fail');
}

test('the cache `npm run build` wrote is used, and parses as the package does', () => {
  const loaded = loadInChild();
  assert.is(loaded.cache, 'used', `dist/cache (${templateCacheDir}) holds the code cache of this Handlebars`);
  assertParsesAsThePackage(loaded.outcomes);
});

test('a cache made from another source of the same length is not used', () => {
  const dir = tempDir('runbook-hbs-cache-');
  writeHandlebarsCache(dir, TEMPLATES);
  assert.is(loadInChild(dir).cache, 'used', 'the fresh cache matches');
  // One byte of the copy's source changed: V8 alone would accept the code (it compares lengths only).
  const copy = readFileSync(cacheFiles(dir).source);
  const at = recordedSource(copy).length - 2;
  copy[at] = copy[at] === 0x20 ? 0x0a : 0x20;
  writeFileSync(cacheFiles(dir).source, copy);
  const loaded = loadInChild(dir);
  assert.is(loaded.cache, 'none');
  assertParsesAsThePackage(loaded.outcomes);
});

test('a cache V8 refuses, or none at all, only costs the time', () => {
  const dir = tempDir('runbook-hbs-cache-');
  writeHandlebarsCache(dir, TEMPLATES);
  const source = recordedSource(readFileSync(cacheFiles(dir).source));
  writeFileSync(cacheFiles(dir).code, Buffer.alloc(4096, 7));
  writeFileSync(cacheFiles(dir).source, cacheRecord(source, Buffer.alloc(4096, 7)));
  const refused = loadInChild(dir);
  assert.is(refused.cache, 'rejected');
  assertParsesAsThePackage(refused.outcomes);
  const none = loadInChild(tempDir('runbook-hbs-empty-'));
  assert.is(none.cache, 'none');
  assertParsesAsThePackage(none.outcomes);
});

// V8 checks the cache's length, not its bytes: a damaged one would run other code or stop the
// process on an internal assertion. The copy records the cache's CRC-32, which keeps it from V8.
test('a damaged cache (bytes changed, length kept) is not given to V8: compiled from the source', () => {
  const dir = tempDir('runbook-hbs-cache-');
  writeHandlebarsCache(dir, TEMPLATES);
  const code = readFileSync(cacheFiles(dir).code);
  for (let i = 1000; i < code.length - 64; i += 997) code[i]! ^= 0xff;
  writeFileSync(cacheFiles(dir).code, code);
  const loaded = loadInChild(dir);
  assert.is(loaded.cache, 'damaged');
  assertParsesAsThePackage(loaded.outcomes);
});

test.run();
