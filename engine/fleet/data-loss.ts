// The wave's data-loss acknowledgement: every link whose plan can lose data must be named in
// --allow-data-loss (or the whole fleet acknowledged with --allow-data-loss-all-of <the fleet
// inventory>), checked for all of them before any link starts. A name that is not a link of the
// wave is a typo, never ignored; `--yes` implies neither.
import { resolve } from 'node:path';
import type { Plan } from '../plan/types.js';
import { ExitError, UsageError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { parseLinkList, sameLinkName } from './expand.js';
import type { PlannedLink } from './link-inventory.js';

export const dataLossSteps = (plan: Plan) => plan.steps.filter((s) => s.impact === 'dataLoss' && s.decision !== 'skip');

export interface DataLossFlags {
  /** `--allow-data-loss a,b`. */
  allowDataLoss?: string;
  /** `--allow-data-loss-all-of <fleet inventory>`. */
  allowDataLossAllOf?: string;
}

/** The links acknowledged, or a refusal (exit 3) naming the ones that are not; a wrong name is exit 2. */
export function acknowledgedLinks(wave: { fleetFile: string; links: readonly PlannedLink[] }, opts: DataLossFlags, cwd: string): Set<string> {
  const named = new Set<string>();
  if (opts.allowDataLossAllOf !== undefined) {
    if (resolve(cwd, opts.allowDataLossAllOf) !== wave.fleetFile) {
      throw new UsageError(`--allow-data-loss-all-of names ${opts.allowDataLossAllOf}, but the wave's inventory is ${wave.fleetFile}: it acknowledges the links of the inventory the wave runs on, spelled out (the paths are compared as written, resolved against the working directory: a symbolic link or a copy is another file)`);
    }
    for (const l of wave.links) named.add(l.name);
  }
  if (opts.allowDataLoss !== undefined) {
    // Names match as --links matches them (the lock's fold: case and accents).
    const { names, problems } = parseLinkList(opts.allowDataLoss, '--allow-data-loss');
    const linkOf = (n: string) => wave.links.find((l) => sameLinkName(l.name, n));
    const unknown = names.filter((n) => !linkOf(n));
    if (problems.length || unknown.length) throw new UsageError([...problems, ...unknown.map((n) => `--allow-data-loss: ${n} is not a link of this wave`)].join('; '));
    for (const n of names) named.add(linkOf(n)!.name);
  }
  const missing = wave.links.filter((l) => dataLossSteps(l.plan).length && !named.has(l.name));
  if (missing.length) {
    const which = missing.map((l) => `${l.name} (${dataLossSteps(l.plan).map((s) => s.id).join(', ')})`).join('; ');
    throw new ExitError(ExitCode.refused, `refusing the wave: ${missing.length} link(s) have steps that can lose data: ${which}. Nothing was run. Name each with --allow-data-loss ${missing.map((l) => l.name).join(',')} or acknowledge the whole fleet with --allow-data-loss-all-of ${wave.fleetFile} (--yes implies neither).`);
  }
  return named;
}
