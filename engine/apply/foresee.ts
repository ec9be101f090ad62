// What apply can tell before it asks its question: the plan's read steps probed (the same read-only
// probes as `plan --probe`, engine/plan/probe.ts), so the closing line of the plan it shows says
// "will refuse at step 3 (...)" when the live link already decides it (attack12 F5: a forced
// failover with SQL Server down and its version not given asked for the data-loss confirmation,
// then refused at step 3). Only a help to the operator: the run checks everything again at each
// step, so a probe that fails or takes too long is "could not tell", never a prediction.
//
// Bounded, and leaves nothing behind in the run (attack-r4apply A2): the probes get connections of
// their own, opened here with the connect and request timeouts cut to the deadline, and closed at
// it. The run's single-connection pools and its cached role reading are never touched, so a probe
// that hangs holds only its own session (the run's next query does not queue behind it) and a
// probe still going after the deadline finds its connections closed (it cannot reach the run).
import type { Inventory, ConnectionSpec, RunResources } from '../core/types.js';
import type { PredictedPath } from '../plan/probe.js';
import { errorMessage } from '../core/errors.js';
import type { ApplyOptions } from './types.js';
import type { Foresight } from './confirmation.js';

export type { Foresight };

/** How long the probes may take before the question is asked without them. */
export const FORESEE_DEADLINE_MS = 5000;

type ForeseeOptions = Pick<ApplyOptions, 'runbook' | 'inventory' | 'inputs' | 'steps' | 'env' | 'signal'>;

/** The probes' own connections: the connect and request timeouts no longer than the deadline. */
export function boundedInventory(inventory: Inventory, deadlineMs: number): Inventory {
  const cut = (c: ConnectionSpec): ConnectionSpec => ({
    ...c,
    connectTimeoutMs: Math.min(c.connectTimeoutMs ?? deadlineMs, deadlineMs),
    // 0 is "no timer" for the run; never for a probe.
    requestTimeoutMs: c.requestTimeoutMs ? Math.min(c.requestTimeoutMs, deadlineMs) : deadlineMs,
  });
  const { link } = inventory;
  return {
    ...inventory,
    link: {
      ...link,
      sqlServer: { ...link.sqlServer, connection: cut(link.sqlServer.connection) },
      managedInstance: { ...link.managedInstance, connection: cut(link.managedInstance.connection) },
    },
  };
}

async function openOwn(opts: ForeseeOptions, deadlineMs: number): Promise<RunResources> {
  const { createRunResources } = await import('../drivers/run-resources.js');
  return createRunResources(boundedInventory(opts.inventory, deadlineMs), { env: opts.env });
}

export async function foresee(
  opts: ForeseeOptions,
  deadlineMs = FORESEE_DEADLINE_MS,
  /** The probes' connections (tests pass their own); closed here, at the end or the deadline. */
  open: () => Promise<RunResources> = () => openOwn(opts, deadlineMs),
): Promise<Foresight> {
  const stop = new AbortController();
  const signal = AbortSignal.any([opts.signal, stop.signal]);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Foresight>((resolve) => {
    timer = setTimeout(() => resolve(timedOut(deadlineMs)), deadlineMs);
  });
  let resources: RunResources | undefined;
  const probed = (async (): Promise<Foresight> => {
    const { predictPath } = await import('../plan/probe.js');
    const own = await open();
    resources = own;
    // The deadline passed while they opened: the finally below has run and will not close them, and
    // a probe that then never ends would keep them open for the whole run.
    if (stop.signal.aborted) {
      void own.close().catch(() => undefined);
      return timedOut(deadlineMs);
    }
    return judged(await predictPath(opts, own, signal));
  })().catch((error: unknown): Foresight => ({ kind: 'could not tell', line: `The read-only probes could not tell where the run would stop (${errorMessage(error).split('\n')[0]}); the run checks each step as it gets there.` }));
  try {
    return await Promise.race([probed, late]);
  } finally {
    clearTimeout(timer);
    // Requests with the signal are cancelled now; the rest end at their cut request timeout. Not
    // awaited: closing waits for them, and nothing of the run is on these connections.
    stop.abort();
    void probed.then(() => resources?.close()).catch(() => undefined);
    if (resources) void resources.close().catch(() => undefined);
  }
}

function timedOut(deadlineMs: number): Foresight {
  const s = Math.round(deadlineMs / 100) / 10;
  return { kind: 'timed out', deadlineMs, line: `The link did not answer the read-only probes within ${s} s: the plan shows no prediction; the run checks each step as it gets there.` };
}

/**
 * Only a definite answer is a prediction: a guard's refusal from what a probe read, or a template
 * that cannot render. A probe that failed (a connection dropped, a query timed out) says nothing
 * about what the run will meet (attack-r4apply A4: "will fail at step 3 (socket hang up)" for a
 * run that then passed step 3).
 */
export function judged(path: PredictedPath): Foresight {
  const at = path.stoppedAt;
  if (!at || at.outcome === 'refused') return { kind: 'predicted', path };
  const step = path.steps.find((s) => s.id === at.id);
  if (!step?.probed) return { kind: 'predicted', path };
  return {
    kind: 'could not tell',
    step: { index: at.index, id: at.id },
    line: `Step ${at.index} (${at.id}) could not be probed (${at.message.split('\n')[0]!.replace(/\.$/, '')}): the plan shows no prediction from it; the run checks it when it gets there.`,
  };
}
