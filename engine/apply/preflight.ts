// Before an apply does anything else (the drift check of a probed plan, the journal, the lock, a
// prompt): one connection to each replica, opened for the run and kept by it. A replica that
// answered and refused us (a login refused with 18456, a password variable not set, a certificate
// we do not trust, a host name that does not resolve), or that accepted the TCP connection and
// never answered the login, is a set-up error: exit 2, naming the replica and the cause, with
// nothing locked, journaled or sent. Only a replica whose TCP connect was refused or timed out
// (engine/drivers/sql/pool.ts classifyConnectFailureProbed) is unreachable, and whether a run may go
// on without it is for the runbook's own guards (assertRole's allowUnreachable) to say.
//
// When the plan has steps that call ARM, ARM's credentials are set-up too: one GET of the link,
// so a wrong or expired token, a token variable not set or a managed instance the inventory names
// wrongly stops the run here (exit 2) rather than after a FAILOVER. A link that does not exist is
// for the runbook to judge, and ARM not answering (a 5xx, no route) for the step that needs it.
import type { Inventory, ReplicaSide, RunResources } from '../core/types.js';
import type { PlannedStep } from '../plan/types.js';
import { ExitError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { endpointOf } from '../drivers/sql/endpoint.js';
import { classifyConnectFailure } from '../drivers/sql/connect-failure.js';

const SIDES: readonly ReplicaSide[] = ['sqlServer', 'managedInstance'];

/**
 * The built-in step types that call ARM (steps/arm*.ts). A plugin step that calls ARM is not known
 * here: its credentials are found out when it runs.
 */
export const ARM_STEP_TYPES: ReadonlySet<string> = new Set(['armDeleteLink', 'armFailoverLink', 'armGetInstance', 'armGetLink', 'armSetReplicationMode', 'armSetRole']);

export interface PreflightResult {
  /** Replicas that could not be reached at all, and why. */
  unreachable: Array<{ side: ReplicaSide; reason: string }>;
}

const NOTHING_RUN = 'Nothing was run: no lock, no journal.';

export async function connectPreflight(
  resources: RunResources,
  inventory: Inventory,
  /** The plan's steps: ARM is checked when one that may run calls it. */
  plan?: { steps: Array<Pick<PlannedStep, 'type' | 'decision'>> },
): Promise<PreflightResult> {
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
      (f) => `set-up error on ${f.side}, not an unreachable replica: ${f.message.replace(/\.$/, '')}. ${NOTHING_RUN}`,
    );
    throw new ExitError(ExitCode.invalidInput, lines.join('\nrunbook: '));
  }
  if (plan?.steps.some((s) => s.decision !== 'skip' && ARM_STEP_TYPES.has(s.type))) await armPreflight(resources, inventory);
  return { unreachable: failed.map((f) => ({ side: f.side, reason: f.reason })) };
}

/** One GET of the link; credentials refused, or a managed instance that is not there, is exit 2. */
async function armPreflight(resources: RunResources, inventory: Inventory): Promise<void> {
  const [{ getLinkDetails }, { describeLink, linkIdsOf }, { ArmAuthError, ArmNotFoundError, ArmUnreachable, credentialAdvice, isLinkGone }] = await Promise.all([
    import('../drivers/arm/client.js'),
    import('../drivers/arm/link-ids.js'),
    import('../drivers/arm/errors.js'),
  ]);
  const ids = linkIdsOf(inventory);
  const link = describeLink(ids);
  let client;
  try {
    client = await resources.arm();
  } catch (error) {
    // The client could not even be made: a token variable not set, a CA file that cannot be read, a bad endpoint.
    throw armSetUpError(`${String((error as Error)?.message ?? error).replace(/\.$/, '')}`);
  }
  try {
    await getLinkDetails(client, ids);
  } catch (error) {
    if (error instanceof ArmAuthError && error.status === undefined) {
      // No token at all: Microsoft Entra ID (or the local sign-in) refused or could not be asked.
      // Its message names the AADSTS code and says why; it never holds the secret.
      const why = entraReason(error.azureMessage);
      throw armSetUpError(
        `could not get a Microsoft Entra token for ARM (${error.code}${why ? `: ${why}` : ''}); check arm.credential and arm.authorityHost in the inventory and the AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET variables, or sign in again`,
      );
    }
    if (error instanceof ArmAuthError) {
      throw armSetUpError(`ARM refused the credentials reading link ${link} (${error.code}); check ${credentialAdvice(inventory.arm)}, or sign in again`);
    }
    if (error instanceof ArmNotFoundError && !isLinkGone(error)) {
      throw armSetUpError(`ARM cannot find the managed instance of link ${link} (${error.code}); check managedInstance name, resourceGroup and subscriptionId in the inventory`);
    }
    if (error instanceof ArmUnreachable && /CERT|SELF_SIGNED|SSL|TLS|ERR_TLS|UNABLE_TO_VERIFY|ALTNAME/i.test(`${error.code} ${error.message}`)) {
      throw armSetUpError(`the ARM endpoint's TLS certificate was not accepted reading link ${link} (${error.code}); check arm.caFile and arm.endpoint in the inventory`);
    }
    // Anything else (a missing link, ARM busy or not answering, an odd answer) is not a set-up
    // error: the steps that need ARM say what they find.
  }
}

/**
 * The part of an @azure/identity / msal error that says why, in one line: the AADSTS code and its
 * first sentence when there is one (`AADSTS7000215: Invalid client secret provided`), else the
 * first line, shortened.
 */
export function entraReason(message: string): string {
  const aadsts = /AADSTS(\d+): ([^.\n]*)/.exec(message);
  if (aadsts) return `AADSTS${aadsts[1]}: ${aadsts[2]!.trim()}`;
  const line = (message.split('\n')[0] ?? '').trim().replace(/\.$/, '');
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

function armSetUpError(cause: string): ExitError {
  return new ExitError(ExitCode.invalidInput, `set-up error on ARM: ${cause}. ${NOTHING_RUN}`);
}
