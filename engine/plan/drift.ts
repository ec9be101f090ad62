// A saved plan made with `--probe` is bound to what the link looked like then: roles, availability
// modes, versions and the link on the ARM side (not LSNs, which move). Before `apply plan.json`
// runs anything it looks again, with reads only, and refuses (exit 3) if any of that changed,
// naming each change, because the plan's predicted path no longer describes this link.
import type { Inventory, RunResources } from '../core/types.js';
import type { Plan } from './types.js';
import { ExitError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { NOT_OBSERVED, type Fingerprint, type ObservedState } from './observe.js';

/** One line per change, e.g. `sqlServer role was PRIMARY at plan time, now SECONDARY`. */
export function fingerprintDrift(atPlan: Fingerprint, now: Fingerprint): string[] {
  const changes: string[] = [];
  for (const [key, then] of Object.entries(atPlan)) {
    // What the plan could not see, it did not depend on.
    if (then === NOT_OBSERVED) continue;
    const current = now[key] ?? NOT_OBSERVED;
    if (current === NOT_OBSERVED) changes.push(`${key} was ${then} at plan time and cannot be read now`);
    else if (current !== then) changes.push(`${key} was ${then} at plan time, now ${current}`);
  }
  return changes;
}

export function planFingerprint(plan: Plan): Fingerprint | undefined {
  const observed = (plan as Plan & { observed?: Partial<ObservedState> }).observed;
  const fp = observed?.fingerprint;
  return fp && typeof fp === 'object' ? fp : undefined;
}

export interface DriftCheckOptions {
  plan: Plan;
  inventory: Inventory;
  env: NodeJS.ProcessEnv;
  /** The run's connections when the caller has them; otherwise opened here for the check and closed. */
  resources?: RunResources;
  signal?: AbortSignal;
}

/** Nothing for a plan made without --probe; otherwise re-observes and throws ExitError(3) on drift. */
export async function refuseIfDrifted(opts: DriftCheckOptions): Promise<void> {
  const atPlan = planFingerprint(opts.plan);
  if (!atPlan) return;
  const { observeLink } = await import('./observe.js');
  const own = opts.resources === undefined;
  const resources = opts.resources ?? (await import('../drivers/run-resources.js')).createRunResources(opts.inventory, { env: opts.env });
  let now: ObservedState;
  try {
    now = await observeLink(resources, opts.inventory, opts.signal);
  } finally {
    // Roles read for the check must not stand in for the run's own role checks.
    resources.invalidateRoles();
    if (own) await resources.close().catch(() => undefined);
  }
  const changes = fingerprintDrift(atPlan, now.fingerprint);
  if (changes.length === 0) return;
  throw new ExitError(
    ExitCode.refused,
    `refusing to apply: link ${opts.inventory.link.name} changed since the plan was made: ${changes.join('; ')}. ` +
      'Nothing was run. Make a new plan (runbook plan --probe --out ...) and review it.',
  );
}
