// "Did you mean" for a runbook path that does not exist: the nearest names in the folder it names,
// and among the runbooks this package ships (runbooks/), e.g. `runbooks/planed-failover.yml` ->
// `runbooks/planned-failover.yml`, `failover.yml` -> `runbooks/planned-failover.yml`.
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closest, levenshtein } from '../core/diagnostics.js';

/** The shipped runbooks' folder (dist/engine/commands/ -> the package root's runbooks/). */
export const shippedRunbooks = fileURLToPath(new URL('../../../runbooks/', import.meta.url));

const RUNBOOK_FILE = /\.ya?ml$/i;

function filesIn(dir: string, pattern: RegExp): string[] {
  try {
    return readdirSync(dir).filter((f) => pattern.test(f) && statSync(join(dir, f)).isFile()).sort();
  } catch {
    return [];
  }
}

/** A path as the operator would type it from `cwd`. */
function shown(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}

/** Up to two existing files close to `given` (by name, as a typo or as part of a name), nearest first. */
export function nearestRunbooks(given: string, cwd: string): string[] {
  const pattern = /\.json$/i.test(given) ? /\.json$/i : RUNBOOK_FILE;
  const name = basename(given);
  const stem = name.replace(/\.(ya?ml|json)$/i, '').toLowerCase();
  const found: Array<{ path: string; score: number }> = [];
  const consider = (dir: string) => {
    const files = filesIn(dir, pattern);
    const typo = closest(name, files);
    for (const f of files) {
      const fileStem = f.replace(/\.(ya?ml|json)$/i, '').toLowerCase();
      const partOf = stem.length >= 4 && (fileStem.includes(stem) || stem.includes(fileStem));
      if (f !== typo && !partOf) continue;
      found.push({ path: shown(join(dir, f), cwd), score: levenshtein(name.toLowerCase(), f.toLowerCase()) });
    }
  };
  consider(resolve(cwd, dirname(given)));
  if (pattern === RUNBOOK_FILE) consider(shippedRunbooks);
  const unique = [...new Map(found.sort((a, b) => a.score - b.score).map((f) => [f.path, f])).values()];
  return unique.slice(0, 2).map((f) => f.path);
}
