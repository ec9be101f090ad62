// What apply can tell before it asks its question: the plan's read steps probed over the run's own
// connections (the same read-only probes as `plan --probe`, engine/plan/probe.ts), so the closing
// line of the plan it shows says "will refuse at step 3 (...)" when the live link already decides
// it (attack12 F5: a forced failover with SQL Server down and its version not given asked for the
// data-loss confirmation, then refused at step 3). Only a help to the operator: the run checks
// everything again at each step, so a probe that fails or takes too long is left out, never a
// reason to stop; it is bounded because a replica that does not answer must not hold the question.
import type { RunResources } from '../core/types.js';
import type { PredictedPath } from '../plan/probe.js';
import type { ApplyOptions } from './types.js';

/** How long the probes may take before the question is asked without them. */
export const FORESEE_DEADLINE_MS = 5000;

export async function foresee(opts: ApplyOptions, resources: RunResources, deadlineMs = FORESEE_DEADLINE_MS): Promise<PredictedPath | undefined> {
  const stop = new AbortController();
  const signal = AbortSignal.any([opts.signal, stop.signal]);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => (stop.abort(), resolve(undefined)), deadlineMs)));
  try {
    const { predictPath } = await import('../plan/probe.js');
    const predicted = predictPath(opts, resources, signal).catch(() => undefined);
    return await Promise.race([predicted, late]);
  } finally {
    clearTimeout(timer);
    // A probe may have read roles; the run's first step asks again rather than trust them.
    resources.invalidateRoles();
  }
}
