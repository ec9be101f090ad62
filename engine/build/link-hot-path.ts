// Build step (the last, after tsc, build-schemas and code-caches): links the modules `runbook
// validate` and `runbook plan` load into one file, dist/engine/linked.js, each one's own file
// becoming a facade of it (engine/build/link/bundle.ts says why and how). Run as
// `node dist/engine/build/link-hot-path.js`.
//
// What is linked: the CLI and everything it imports statically, the runbook lookup (shipped.ts),
// the two commands, and every built-in step type (a runbook may name any). What validate and plan
// never load stays in its own file, loaded when a command asks for it, as before: apply, the lab,
// the drivers' request and connection code, the help texts, the renderers of --format json|sql.
// Linking more would cost every command the compiling of code it does not run; linking less, a
// module load each.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cacheRecord } from '../core/code-cache.js';
import { dirname, join, resolve } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LinkError, linkModules } from './link/bundle.js';
import { readModuleSyntax } from './link/module-text.js';
import { COMPILE_WITHOUT_CACHE, LINKED_CODE } from './link/runtime.js';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LINKED_FILE = 'engine/linked.js';

/** The step modules of steps/index.ts's lazy map. */
function builtinStepModules(): string[] {
  const index = 'steps/index.js';
  const { dynamicSpecifiers } = readModuleSyntax(readFileSync(join(dist, index), 'utf8'), index);
  return [index, ...dynamicSpecifiers.map((s) => resolve('/steps', s).slice(1))];
}

export const HOT_ROOTS = ['engine/cli/main.js', 'engine/commands/shipped.js', 'engine/commands/validate.js', 'engine/commands/plan.js'];

/**
 * What the build runs once, in this process, before saving the linked code's cache: V8 compiles a
 * function on its first call, and the cache holds what was compiled by then. Plain output, no
 * terminal: the commands as `bench/startup` and a DBA run them, without a screen to draw; and an
 * environment of their own, so that a RUNBOOK_* or secret variable of whoever builds changes nothing.
 */
const WARM_UP = [
  ['validate', 'runbooks/planned-failover.yml'],
  ['plan', 'runbooks/planned-failover.yml', '--lab'],
];

type Main = (argv: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; stdin: NodeJS.ReadStream; env: NodeJS.ProcessEnv; cwd: string }) => Promise<number>;

async function writeCodeCache(): Promise<void> {
  const repository = join(dist, '..');
  (globalThis as Record<symbol, unknown>)[Symbol.for(COMPILE_WITHOUT_CACHE)] = true;
  const { main } = (await import(pathToFileURL(join(dist, 'engine', 'cli', 'main.js')).href)) as { main: Main };
  for (const argv of WARM_UP) {
    let output = '';
    const sink = new Writable({ write: (chunk, _encoding, done) => ((output += String(chunk)), done()) });
    const code = await main(argv, { stdout: sink, stderr: sink, stdin: Readable.from([]) as unknown as NodeJS.ReadStream, env: { NO_COLOR: '1', PATH: process.env.PATH ?? '' }, cwd: repository });
    if (code !== 0) throw new LinkError([`runbook ${argv.join(' ')} (the code cache's warm-up) exited ${code}:`, output.trim()]);
  }
  const linked = (await import(pathToFileURL(join(dist, LINKED_FILE)).href)) as { linkedCodeCache: () => Buffer; linkedCode: () => Buffer; linkedCodeCacheUse: string };
  if (linked.linkedCodeCacheUse !== 'none') throw new LinkError([`the warm-up ran the linked code from a code cache (${linked.linkedCodeCacheUse}): its cache must be compiled from the code alone`]);
  const cacheDir = join(dist, dirname(LINKED_FILE), LINKED_CODE.cacheDir);
  mkdirSync(cacheDir, { recursive: true });
  // The cache first, then the copy: the very bytes it was compiled from (not the file read again:
  // a second build may have rewritten it since) and the cache's CRC-32 and length. A build stopped
  // between the two leaves a cache that matches nothing (unused), never one that matches other code.
  const cache = linked.linkedCodeCache();
  writeFileSync(join(cacheDir, `${LINKED_CODE.name}.v8`), cache);
  writeFileSync(join(cacheDir, LINKED_CODE.name), cacheRecord(linked.linkedCode(), cache));
}

async function main(): Promise<void> {
  const started = Date.now();
  try {
    const result = linkModules({ dist, output: LINKED_FILE, roots: [...HOT_ROOTS, ...builtinStepModules()] });
    await writeCodeCache();
    const packages = result.packages.length ? `; packages imported: ${result.packages.join(', ')}` : '';
    console.log(`link: ${result.modules.length} modules linked into dist/${LINKED_FILE}, code cache written, in ${Date.now() - started} ms${packages}`);
  } catch (e) {
    if (!(e instanceof LinkError)) throw e;
    console.error(`link: ${e.message}`);
    process.exitCode = 1;
  }
}

await main();
