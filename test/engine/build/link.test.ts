// The start-up linker (engine/build/link/): a tree of small ES modules is imported as ESM runs it,
// then linked, then imported again through its facades: what runs, in which order, what each
// importer gets and where each module believes it lives must not change; what a linked function
// cannot keep is refused by name. And the real build: one copy of the step API for the engine
// and a plugin.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FACADE_MARK, LinkError, linkModules } from '../../../engine/build/link/bundle.js';
import { COMPILE_WITHOUT_CACHE } from '../../../engine/build/link/runtime.js';
import { cacheRecord } from '../../../engine/core/code-cache.js';
import { linkModule, readModuleSyntax } from '../../../engine/build/link/module-text.js';
import { noStack, root, tempDir } from '../../helpers/cli.js';

/** Records what ran, in order, in this process (each import of the tree below appends). */
const TRACE = '__linkTestTrace';
type Trace = string[];
const traced = () => ((globalThis as Record<string, unknown>)[TRACE] ??= []) as Trace;

const TREE: Record<string, string> = {
  'package.json': '{ "type": "module" }',
  'main.js': `
import { Thing, make } from './lib/thing.js';
import * as sum from './lib/sum.js';
import answer, { twice as double } from './lib/answer.js';
import './lib/side.js';
import { readFileSync as read } from 'node:fs';
import * as path from 'node:path';
globalThis.${TRACE}.push('main');
export const own = { thisAtTop: typeof this, url: import.meta.url, thing: make() instanceof Thing, sum: sum.total(2, 3), answer, double: double(4), read: typeof read, sep: path.sep, pathDefault: path.default === path.default && typeof path.default.join };
export async function later() { return import('./lib/lazy.js'); }
export async function outside() { return import('./cold/outside.js'); }
export async function computed(name) { return import(new URL('./cold/' + name, import.meta.url).href); }
export { Thing };
export * from './lib/stars.js';
export { total as plus } from './lib/sum.js';
export default 'main default';
`,
  'lib/thing.js': `globalThis.${TRACE}.push('thing'); export class Thing {} export function make() { return new Thing(); }`,
  'lib/sum.js': `import { Thing } from './thing.js'; globalThis.${TRACE}.push('sum'); export const total = (a, b) => a + b, { nested } = { nested: Thing.name };`,
  'lib/answer.js': `globalThis.${TRACE}.push('answer'); export function twice(n) { return 2 * n; } export default 42;`,
  'lib/side.js': `globalThis.${TRACE}.push('side');`,
  'lib/stars.js': `export const starred = 'star'; export default 'not re-exported';`,
  'lib/lazy.js': `import { Thing } from './thing.js'; globalThis.${TRACE}.push('lazy'); export const lazyThing = Thing;`,
  'lib/broken.js': `globalThis.${TRACE}.push('broken'); throw new Error('broken at load');`,
  'broken-root.js': `import './lib/broken.js'; export const never = 1;`,
  'cold/outside.js': `import { Thing } from '../lib/thing.js'; globalThis.${TRACE}.push('outside'); export const outsideThing = Thing;`,
  'cold/computed.js': `export const where = import.meta.url;`,
};

function writeTree(dir: string): void {
  for (const [file, text] of Object.entries(TREE)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
}

/** What importing the tree's main module shows, its trace included. */
async function observe(dir: string): Promise<Record<string, unknown>> {
  traced().length = 0;
  const main = await import(pathToFileURL(join(dir, 'main.js')).href);
  const afterStatic = [...traced()];
  const lazy = await main.later();
  const outside = await main.outside();
  const computed = await main.computed('computed.js');
  return {
    trace: afterStatic,
    traceAfterLazy: [...traced()],
    own: { ...main.own, url: main.own.url.replace(pathToFileURL(dir).href, '') },
    names: Object.keys(main).sort(),
    default: main.default,
    starred: main.starred,
    plus: main.plus(1, 1),
    lazyIsSameThing: lazy.lazyThing === main.Thing,
    outsideIsSameThing: outside.outsideThing === main.Thing,
    computedUrl: computed.where.replace(pathToFileURL(dir).href, ''),
  };
}

test('a linked tree behaves as the same tree under ESM: order, values, identity, import.meta.url, lazy and computed imports', async () => {
  const plain = tempDir('runbook-link-plain-');
  const linked = tempDir('runbook-link-linked-');
  writeTree(plain);
  writeTree(linked);
  const result = linkModules({ dist: linked, output: 'linked.js', roots: ['main.js'] });
  assert.equal(result.modules, ['main.js', 'lib/thing.js', 'lib/sum.js', 'lib/answer.js', 'lib/side.js', 'lib/stars.js']);
  assert.equal(result.builtins, ['node:fs', 'node:path']);
  assert.ok(readFileSync(join(linked, 'lib/thing.js'), 'utf8').startsWith(FACADE_MARK), 'its own file became a facade');
  assert.not.ok(readFileSync(join(linked, 'lib/lazy.js'), 'utf8').startsWith(FACADE_MARK), 'a module only imported lazily is left alone');

  const expected = await observe(plain);
  const actual = await observe(linked);
  assert.equal(actual, expected);
  assert.equal(expected.trace, ['thing', 'sum', 'answer', 'side', 'main'], 'the ESM order the linked tree had to keep');
  assert.ok((expected.own as Record<string, unknown>).thing, 'instanceof held');
});

test('a linked module that throws at load throws the same error to every importer, as ESM does', async () => {
  const dir = tempDir('runbook-link-broken-');
  writeTree(dir);
  linkModules({ dist: dir, output: 'linked.js', roots: ['broken-root.js'] });
  traced().length = 0;
  const first = await import(pathToFileURL(join(dir, 'broken-root.js')).href).catch((e: unknown) => e);
  const again = await import(pathToFileURL(join(dir, 'lib/broken.js')).href).catch((e: unknown) => e);
  assert.instance(first, Error);
  assert.is((first as Error).message, 'broken at load');
  assert.is(again, first, 'the same error object');
  assert.equal(traced(), ['broken'], 'its code ran once');
});

test('what a linked function cannot keep is refused with the file, line and column', () => {
  const problems = (text: string) => readModuleSyntax(text, 'x.js').problems;
  assert.equal(problems('export let n = 1;\nexport function bump() { n++; }'), ['x.js:1:1: an exported let or var is a live binding, which a linked module cannot keep']);
  assert.equal(problems('export var n = 1;').length, 1);
  assert.equal(problems("const x = 1;\nconst data = await fetch('x');"), ['x.js:2:14: a top-level await cannot run in a linked (synchronous) module']);
  assert.equal(problems('for await (const x of y) {}').length, 1);
  assert.equal(problems("import data from './d.json' with { type: 'json' };"), ["x.js:1:1: import attributes are not linked"]);
  assert.equal(problems('let count = 0;\nconst fixed = 1;\nexport { fixed, count as total };'), ['x.js:3:17: an exported let or var is a live binding, which a linked module cannot keep']);
  assert.equal(problems('var n = 1;\nexport { n };').length, 1);
  assert.equal(problems('export default function () { return 1; }'), ['x.js:1:1: an anonymous default function is not linked: give it a name']);
  assert.equal(problems("export * from 'some-package';\nexport * from './ours.js';"), ["x.js:1:1: export * from some-package: its names are not known to the linker"]);
  assert.equal(problems('export default class {}'), ['x.js:1:1: an anonymous default class is not linked: give it a name']);
  assert.equal(problems("import { a } from './a.js';\nfunction f() { let a2 = 1; return a2; }\nexport { a, f };\nexport default function named() {}"), [], 'an imported or a function binding re-exported, a named default');
  assert.equal(problems("export async function f() { await g(); for await (const x of y) {} }\nexport const c = 1;\nclass K { static { } }"), [], 'await inside functions and const exports are fine');
});

// A process keeps the linked.js it loaded; a module it first imports after a rebuild (apply loads
// its drivers at the change step) reads the new facades from disk. ESM would find the old module
// by its URL; a facade must never be lent the module that has its number in the old build.
test('a facade of a newer build is refused by the linked file a running process holds, never lent another module', async () => {
  const dir = tempDir('runbook-link-rebuilt-');
  writeTree(dir);
  linkModules({ dist: dir, output: 'linked.js', roots: ['main.js'] });
  const main = await import(pathToFileURL(join(dir, 'main.js')).href);
  // The rebuild: one more import ahead of the others moves every module's number.
  writeTree(dir);
  writeFileSync(join(dir, 'lib/first.js'), 'export const first = 1;');
  writeFileSync(join(dir, 'main.js'), `import './lib/first.js';\n${TREE['main.js']}`);
  linkModules({ dist: dir, output: 'linked.js', roots: ['main.js'] });
  const lazy = await main.later().catch((e: unknown) => e);
  assert.instance(lazy, Error, `the lazily loaded module was lent: ${JSON.stringify(Object.keys(lazy as object))}`);
  assert.match((lazy as Error).message, /^runbook was rebuilt or upgraded while this process ran: \S+\/lib\/thing\.js belongs to build [0-9a-f]{16}, this process runs build [0-9a-f]{16}; start the command again/);
});

test('the linker refuses a cycle, a tree already linked, and export * of a package', () => {
  const dir = tempDir('runbook-link-refused-');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
  writeFileSync(join(dir, 'a.js'), "import './b.js'; export const a = 1;");
  writeFileSync(join(dir, 'b.js'), "import './a.js'; export const b = 1;");
  assert.throws(() => linkModules({ dist: dir, output: 'linked.js', roots: ['a.js'] }), (e: unknown) => e instanceof LinkError && /an import cycle: a\.js -> b\.js -> a\.js/.test(e.message));

  const tree = tempDir('runbook-link-twice-');
  writeTree(tree);
  linkModules({ dist: tree, output: 'linked.js', roots: ['main.js'] });
  assert.throws(() => linkModules({ dist: tree, output: 'linked.js', roots: ['main.js'] }), (e: unknown) => e instanceof LinkError && /main\.js is already a facade of a linked file: compile again/.test(e.message));

  assert.throws(() => linkModule("export * from 'some-package';", 'p.js', () => ({ kind: 'package', binding: 'p0' })), /export \* from some-package: its names are not known/);
});

test('a module\'s text: imports become constants, exports the returned names, import.meta its own', () => {
  const m = linkModule(
    "import d, { a as b } from './x.js';\nimport * as fs from 'node:fs';\nexport class C {}\nexport default function f() { return import.meta.url; }\nconst g = () => import('./y.js');\n//# sourceMappingURL=m.js.map\n",
    'm.js',
    (s) => (s === './x.js' ? { kind: 'linked', id: 3 } : s === './y.js' ? { kind: 'file', path: './cold/y.js' } : { kind: 'builtin', specifier: s }),
  );
  assert.match(m.body, 'const d = __linked$require(3).default;');
  assert.match(m.body, 'const { a: b } = __linked$require(3);');
  assert.match(m.body, 'const fs = { ...__linked$builtin("node:fs"), default: __linked$builtin("node:fs") };');
  assert.match(m.body, 'function f() { return __linked$meta.url; }');
  assert.match(m.body, 'const g = () => __linked$import("./cold/y.js");');
  assert.not.match(m.body, 'sourceMappingURL');
  assert.not.match(m.body, /^\s*export /m);
  assert.equal(m.exports, [{ name: 'C', value: 'C' }, { name: 'default', value: 'f' }]);
  assert.ok(m.usesMeta);
});

// The real build (npm run build links it): the step API a plugin imports by its path is the one
// copy the engine runs, so isDefinedStep and instanceof answer alike for both.
test('the build: the step API and the error classes exist once, whichever way they are imported', async () => {
  const facade = join(root, 'dist', 'engine', 'step-api', 'index.js');
  assert.ok(readFileSync(facade, 'utf8').startsWith(FACADE_MARK), 'the step API is linked (npm run build)');
  const api = await import(pathToFileURL(facade).href);
  const linked = await import(pathToFileURL(join(root, 'dist', 'engine', 'linked.js')).href);
  const [, key, build] = /__linked\$require\(("[^"]+"), ("[0-9a-f]+")\)/.exec(readFileSync(facade, 'utf8'))!;
  assert.is(linked.__linked$require(JSON.parse(key!), JSON.parse(build!)).defineStep, api.defineStep);
  const { stepModules } = await import(pathToFileURL(join(root, 'dist', 'steps', 'index.js')).href);
  const sqlExec = (await stepModules.sqlExec()).default;
  assert.ok(api.isDefinedStep(sqlExec), 'a built-in step (linked) is a defined step to the API a plugin imports');
  const errors = await import(pathToFileURL(join(root, 'dist', 'engine', 'core', 'errors.js')).href);
  assert.is(api.StepFailure, errors.StepFailure);
  assert.is(linked.linkedCodeCacheUse, 'used', 'the build saved the code cache of the linked modules, and it is used');
});

type LinkedFile = { linkedCodeCacheUse: string; linkedCodeCache: () => Buffer; linkedCode: () => Buffer };

/** A linked tree in `dir`/dist with the code cache the build would write in `dir`/cache; `load` imports linked.js afresh. */
async function linkedWithCache(dir: string): Promise<{ code: Buffer; load: (tag: string) => Promise<LinkedFile> }> {
  writeTree(join(dir, 'dist'));
  linkModules({ dist: join(dir, 'dist'), output: 'linked.js', roots: ['main.js'] });
  const load = async (tag: string) => (await import(`${pathToFileURL(join(dir, 'dist', 'linked.js')).href}?${tag}`)) as LinkedFile;
  assert.is((await load('none')).linkedCodeCacheUse, 'none', 'no cache written yet');
  const made = await load('make');
  mkdirSync(join(dir, 'cache'), { recursive: true });
  const cache = made.linkedCodeCache();
  writeFileSync(join(dir, 'cache', 'linked-modules.js.v8'), cache);
  writeFileSync(join(dir, 'cache', 'linked-modules.js'), cacheRecord(made.linkedCode(), cache));
  return { code: readFileSync(join(dir, 'dist', 'linked-modules.js')), load };
}

test('the code cache is used only beside a byte-identical copy of the code it was made from', async () => {
  const dir = tempDir('runbook-link-cache-');
  const { code, load } = await linkedWithCache(dir);
  assert.is((await load('same')).linkedCodeCacheUse, 'used');
  // The same length, another byte: V8 alone would take the cache (it checks the length).
  const other = Buffer.from(code);
  other[other.indexOf('push')] = 'P'.charCodeAt(0);
  writeFileSync(join(dir, 'cache', 'linked-modules.js'), cacheRecord(other, readFileSync(join(dir, 'cache', 'linked-modules.js.v8'))));
  assert.is((await load('other')).linkedCodeCacheUse, 'none');
});

// V8 checks a cache's length, not its bytes: changed constants would run as if they were the code's,
// other changes stop the process on an internal assertion (attack r6link #2).
test('a code cache whose bytes changed is not given to V8: the code is compiled from source and runs as written', async () => {
  const dir = tempDir('runbook-link-damaged-');
  const { load } = await linkedWithCache(dir);
  const file = readFileSync(join(dir, 'cache', 'linked-modules.js.v8'));
  for (let i = 100; i < file.length - 64; i += 97) file[i]! ^= 0xff;
  writeFileSync(join(dir, 'cache', 'linked-modules.js.v8'), file);
  assert.is((await load('damaged')).linkedCodeCacheUse, 'damaged');
  const main = await import(pathToFileURL(join(dir, 'dist', 'main.js')).href);
  assert.is(main.plus(2, 3), 5);
});

// The same damage in every place the build recorded the cache's bytes (the .v8 file, and the copy
// when it held them) passed a check that compared the two, and V8 ran it or stopped on an internal
// assertion, exit 133 (attack r7fix finding 13). In a child process: V8 may abort.
test('a code cache damaged alike wherever the build recorded its bytes is not given to V8', async () => {
  const dir = tempDir('runbook-link-alike-');
  await linkedWithCache(dir);
  const cacheFile = join(dir, 'cache', 'linked-modules.js.v8');
  const copyFile = join(dir, 'cache', 'linked-modules.js');
  const cache = readFileSync(cacheFile);
  const damaged = Buffer.from(cache);
  for (let i = 100; i < damaged.length - 64; i += 97) damaged[i]! ^= 0xff;
  writeFileSync(cacheFile, damaged);
  const copy = readFileSync(copyFile);
  const at = copy.indexOf(cache);
  if (at >= 0) writeFileSync(copyFile, Buffer.concat([copy.subarray(0, at), damaged, copy.subarray(at + cache.length)]));
  const url = (file: string) => JSON.stringify(pathToFileURL(join(dir, 'dist', file)).href);
  const child = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `globalThis.${TRACE} = []; const linked = await import(${url('linked.js')}); const main = await import(${url('main.js')}); console.log(JSON.stringify({ use: linked.linkedCodeCacheUse, plus: main.plus(2, 3) }));`],
    { encoding: 'utf8' },
  );
  assert.is(child.status, 0, `exit ${child.status} ${child.signal ?? ''}: ${child.stderr.slice(0, 400)}`);
  assert.equal(JSON.parse(child.stdout), { use: 'damaged', plus: 5 });
});

// A cache of other code beside a copy that matches this code (a build stopped between its two
// writes, two builds at once) must not be what the build compiles from: the cache it saves would
// hold the other code's functions as this code's, for good (attack r6link #1).
test('linking removes the previous code cache, and the build compiles the code it caches without any cache', async () => {
  const dir = tempDir('runbook-link-fresh-');
  const { load } = await linkedWithCache(dir);
  const pair = ['linked-modules.js', 'linked-modules.js.v8'].map((f) => [f, readFileSync(join(dir, 'cache', f))] as const);
  writeTree(join(dir, 'dist'));
  linkModules({ dist: join(dir, 'dist'), output: 'linked.js', roots: ['main.js'] });
  assert.not.ok(existsSync(join(dir, 'cache', 'linked-modules.js.v8')), 'the previous cache is gone');
  assert.not.ok(existsSync(join(dir, 'cache', 'linked-modules.js')), 'and its copy');
  for (const [f, bytes] of pair) writeFileSync(join(dir, 'cache', f), bytes);
  assert.is((await load('again')).linkedCodeCacheUse, 'used', 'the same code with its own cache (the setting below is what differs)');
  const flags = globalThis as Record<symbol, unknown>;
  flags[Symbol.for(COMPILE_WITHOUT_CACHE)] = true;
  try {
    assert.is((await load('build')).linkedCodeCacheUse, 'none');
  } finally {
    delete flags[Symbol.for(COMPILE_WITHOUT_CACHE)];
  }
});

/** A copy of the built engine in a temporary folder, to damage (the repository's own dist/ is shared by every test). */
function engineCopy(): { dist: string; validate: () => { status: number | null; stderr: string } } {
  const dir = tempDir('runbook-link-engine-');
  for (const part of ['engine', 'steps', 'cache', 'schemas']) cpSync(join(root, 'dist', part), join(dir, 'dist', part), { recursive: true });
  for (const file of ['package.json', 'schemas']) cpSync(join(root, file), join(dir, file), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  const validate = () => spawnSync(process.execPath, [join(dir, 'dist', 'engine', 'cli', 'bin.js'), 'validate', join(root, 'runbooks', 'planned-failover.yml')], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' } });
  return { dist: join(dir, 'dist'), validate };
}

// A build stopped half-way or a damaged install must not end in a Node stack: one line, the file,
// what to do, and DESIGN.md's exit 1 (nothing ran, so nothing changed) (attack r6link #5).
test('a damaged or incomplete linked engine ends with one line naming the file and exit 1 (nothing ran), not a stack trace', () => {
  const truncated = engineCopy();
  assert.is(truncated.validate().status, 0, 'the copy works before it is damaged');
  const code = join(truncated.dist, 'engine', 'linked-modules.js');
  writeFileSync(code, readFileSync(code).subarray(0, 200_000));
  const damaged = truncated.validate();
  assert.is(damaged.status, 1, damaged.stderr);
  assert.match(damaged.stderr, /^runbook: the installed engine is incomplete or damaged \(file:\S+\/dist\/engine\/linked-modules\.js is damaged: .+\): rebuild it \(npm run build\) or reinstall runbook\n$/);
  noStack(damaged.stderr);

  const incomplete = engineCopy();
  rmSync(join(incomplete.dist, 'engine', 'linked.js'));
  const missing = incomplete.validate();
  assert.is(missing.status, 1, missing.stderr);
  assert.match(missing.stderr, /^runbook: the installed engine is incomplete or damaged \(.*dist\/engine\/linked\.js.*\): rebuild it \(npm run build\) or reinstall runbook\n$/);
  noStack(missing.stderr);
});

test.run();
