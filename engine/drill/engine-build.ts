// The engine a drill rehearses with: the built files its runs load (dist/engine, dist/steps and
// the code caches), and the build id the linker writes into dist/engine/linked.js and every facade
// (engine/build/link/). A rebuild or an upgrade while a drill runs leaves warm workers holding the
// old build, which then refuse the new facades they meet ("runbook was rebuilt or upgraded"), and
// new workers, or modules loaded late (not every module is linked), running the new one: no run of
// that drill rehearses one engine, so none may be judged (attack r7fix #8). A build rewrites its
// files before it links them, so the build id alone would miss a run that overlapped the first part
// of a rebuild: every file's size and modification time count too (about 2 ms for ~460 files).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/, two folders above this module (dist/engine/drill/). */
export const BUILT_ENGINE = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The folders of dist/ whose files a run loads, and the lab's, whose code the drill loads in part
 * lazily and whose model makes the record every run is judged on (attack r7drill #2).
 */
const LOADED = ['engine', 'steps', 'cache', 'lab'];

export interface EngineState {
  /** The linked engine's build id; undefined when dist/ holds no linked engine. */
  build: string | undefined;
  /** Each loaded file by its path under dist/: `size mtime`. */
  files: Map<string, string>;
}

/** The engine under `dist` as it is now. */
export function engineState(dist = BUILT_ENGINE): EngineState {
  const linked = join(dist, 'engine', 'linked.js');
  const build = existsSync(linked) ? /^const __linked\$build = "([0-9a-f]+)";$/m.exec(readFileSync(linked, 'utf8'))?.[1] : undefined;
  const files = new Map<string, string>();
  for (const folder of LOADED) {
    if (!existsSync(join(dist, folder))) continue;
    for (const entry of readdirSync(join(dist, folder), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const file = join(entry.parentPath, entry.name);
      const s = statSync(file, { throwIfNoEntry: false });
      files.set(relative(dist, file), s ? `${s.size} ${s.mtimeMs}` : 'gone');
    }
  }
  return { build, files };
}

/** How the engine changed from `before` to `now`, in a few words; undefined when it did not. */
export function engineChange(before: EngineState, now: EngineState): string | undefined {
  if (before.build !== now.build) return `build ${before.build ?? 'none'} -> ${now.build ?? 'none'}`;
  for (const [file, was] of before.files) {
    const is = now.files.get(file);
    if (is !== was) return `${file} ${is === undefined ? 'removed' : 'rewritten'}`;
  }
  for (const file of now.files.keys()) if (!before.files.has(file)) return `${file} added`;
  return undefined;
}

/**
 * What a `runbook` process says when the engine under it changed: a facade of another build
 * (engine/build/link/runtime.ts) or an engine that does not load at all (engine/cli/bin.ts).
 */
export const ENGINE_CHANGED = /runbook was rebuilt or upgraded while this process ran|runbook: the installed engine is incomplete or damaged/;
