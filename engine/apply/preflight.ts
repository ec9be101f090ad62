// Before an apply does anything else (the drift check of a probed plan, the journal, the lock, a
// prompt): one connection to each replica, opened for the run and kept by it. A replica that
// answered and refused us (a login refused with 18456, a password variable not set, a certificate
// we do not trust, a host name that does not resolve) is a set-up error: exit 2, naming the
// replica and the cause, with nothing locked, journaled or sent. Only a replica that never
// answered (engine/drivers/sql/pool.ts classifyConnectFailure) is unreachable, and whether a run may go on
// without it is for the runbook's own guards (assertRole's allowUnreachable) to say.
import type { Inventory, ReplicaSide, RunResources } from '../core/types.js';
import { ExitError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { classifyConnectFailure, endpointOf } from '../drivers/sql/pool.js';

const SIDES: readonly ReplicaSide[] = ['sqlServer', 'managedInstance'];

export interface PreflightResult {
  /** Replicas that could not be reached at all, and why. */
  unreachable: Array<{ side: ReplicaSide; reason: string }>;
}

export async function connectPreflight(resources: RunResources, inventory: Inventory): Promise<PreflightResult> {
  const failures = await Promise.all(
    SIDES.map(async (side) => {
      try {
        await resources.sql(side);
        return undefined;
      } catch (error) {
        const spec = side === 'sqlServer' ? inventory.link.sqlServer.connection : inventory.link.managedInstance.connection;
        return { side, message: (error as Error)?.message ?? String(error), ...classifyConnectFailure(error, endpointOf(spec)) };
      }
    }),
  );
  const failed = failures.filter((f): f is NonNullable<typeof f> => f !== undefined);
  const setUp = failed.filter((f) => !f.unreachable);
  if (setUp.length) {
    // One line per replica (the CLI prefixes the first with `runbook: `; the others get it here).
    const lines = setUp.map(
      (f) => `set-up error on ${f.side}, not an unreachable replica: ${f.message.replace(/\.$/, '')}. Nothing was run: no lock, no journal.`,
    );
    throw new ExitError(ExitCode.invalidInput, lines.join('\nrunbook: '));
  }
  return { unreachable: failed.map((f) => ({ side: f.side, reason: f.reason })) };
}
