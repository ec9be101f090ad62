// `npm run docs`: rewrites README.md's step reference from the step definitions.
// `--check` writes nothing and exits 1 when the committed section is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadAllBuiltins } from '../step-api/registry.js';
import { stepModules } from '../../steps/index.js';
import { committedStepReference, renderStepReference, replaceStepReference } from '../ui/step-reference.js';

const readmePath = fileURLToPath(new URL('../../../README.md', import.meta.url));

const section = renderStepReference(await loadAllBuiltins(stepModules));
const readme = readFileSync(readmePath, 'utf8');
if (process.argv.includes('--check')) {
  const same = committedStepReference(readme) === section;
  process.stdout.write(same ? 'README.md step reference is up to date.\n' : 'README.md step reference is out of date: run `npm run docs`.\n');
  process.exitCode = same ? 0 : 1;
} else {
  const next = replaceStepReference(readme, section);
  if (next !== readme) writeFileSync(readmePath, next);
  process.stdout.write(next === readme ? 'README.md step reference was already up to date.\n' : 'README.md step reference rewritten.\n');
}
