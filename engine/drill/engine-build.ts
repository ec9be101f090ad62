// The engine a drill rehearses with: the build of the linked engine on disk (engine/build/link/
// writes its id into dist/engine/linked.js and every facade). A rebuild or an upgrade while a drill
// runs leaves warm workers holding the old build, which then refuse the new facades they meet
// ("runbook was rebuilt or upgraded"), and new workers running the new one: no run of that drill
// rehearses one engine, so none may be judged (attack r7fix #8).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** dist/engine/linked.js, beside this module's folder. */
export const LINKED_ENGINE = fileURLToPath(new URL('../linked.js', import.meta.url));

/** The engine's build as `file` names it now; undefined when there is no linked engine there. */
export function engineBuildOf(file = LINKED_ENGINE): string | undefined {
  if (!existsSync(file)) return undefined;
  return /^const __linked\$build = "([0-9a-f]+)";$/m.exec(readFileSync(file, 'utf8'))?.[1];
}

/**
 * What a `runbook` process says when the engine under it changed: a facade of another build
 * (engine/build/link/runtime.ts) or an engine that does not load at all (engine/cli/bin.ts).
 */
export const ENGINE_CHANGED = /runbook was rebuilt or upgraded while this process ran|runbook: the installed engine is incomplete or damaged/;
