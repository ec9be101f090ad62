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
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LinkError, linkModules } from './link/bundle.js';
import { readModuleSyntax } from './link/module-text.js';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LINKED_FILE = 'engine/linked.js';

/** The step modules of steps/index.ts's lazy map. */
function builtinStepModules(): string[] {
  const index = 'steps/index.js';
  const { dynamicSpecifiers } = readModuleSyntax(readFileSync(join(dist, index), 'utf8'), index);
  return [index, ...dynamicSpecifiers.map((s) => resolve('/steps', s).slice(1))];
}

export const HOT_ROOTS = ['engine/cli/main.js', 'engine/commands/shipped.js', 'engine/commands/validate.js', 'engine/commands/plan.js'];

function main(): void {
  const started = Date.now();
  try {
    const result = linkModules({ dist, output: LINKED_FILE, roots: [...HOT_ROOTS, ...builtinStepModules()] });
    const packages = result.packages.length ? `; packages imported: ${result.packages.join(', ')}` : '';
    console.log(`link: ${result.modules.length} modules linked into dist/${LINKED_FILE} in ${Date.now() - started} ms${packages}`);
  } catch (e) {
    if (!(e instanceof LinkError)) throw e;
    console.error(`link: ${e.message}`);
    process.exitCode = 1;
  }
}

main();
