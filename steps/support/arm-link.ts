// What the ARM step types share: their failure messages and the mapping from typed ARM errors to
// step failures that carry Azure's error code as data. Pure: no @azure import.
import { ArmAuthError, ArmNotFoundError, ArmOperationFailed, ArmRequestError, ArmUnreachable, credentialAdvice, OPERATION_STILL_IN_PROGRESS, wasChangeRequestAnswer, wasNotSent, type ArmSpec } from '../../engine/drivers/arm/errors.js';
import {
  defineMessages,
  durationMs,
  formatMessage,
  OutcomeUnknown,
  StepFailure,
  StepRefusal,
  type StepHistoryEntry,
  type StepRunContext,
} from '../../engine/step-api/index.js';
import type { LinkDetails } from '../../engine/drivers/arm/client.js';
import { describeLink, linkIdsOf, type LinkIds } from '../../engine/drivers/arm/link-ids.js';
import { getLinkDetails } from '../../engine/drivers/on-demand.js';
import { operationInProgress } from '../../engine/drivers/arm/operation-in-progress.js';
import type { LinkActionProgress } from '../../engine/drivers/arm/link-action.js';

export const armMessages = defineMessages({
  armRefused: 'ARM refused to {{action}} link {{link}}: {{code}} ({{error}}).',
  armOperationFailed: 'Azure reported that the {{action}} of link {{link}} failed: {{code}} ({{error}}).',
  armAuthFailed: 'ARM refused the credentials while trying to {{action}} link {{link}} ({{code}}). Check {{advice}}, or sign in again.',
  armNoToken: 'Could not get a token for ARM to {{action}} link {{link}} ({{code}}). Check {{advice}}, or sign in again.',
  armUnreachable: 'Cannot reach ARM to {{action}} link {{link}}: {{error}}.',
  linkMissing: 'Link {{link}} does not exist ({{code}}).',
  notSent: 'Nothing was sent to {{action}} link {{link}}: {{error}}.',
  instanceMissing:
    'ARM cannot find the managed instance of link {{link}} ({{code}}). Check managedInstance name, resourceGroup and subscriptionId in the inventory.',
});

type ArmMessageId = keyof typeof armMessages;

function fail(id: ArmMessageId, data: Record<string, string>, notApplied = false): StepFailure {
  return new StepFailure(id, data, formatMessage(armMessages[id], data), { notApplied });
}

/**
 * ARM said no to the change request itself (4xx, or no token to send it with): the operation was
 * never accepted. Only an error the driver marked as that request's answer can say so; the same
 * status met later (a 429 on the read after a completed failover) says nothing about the change.
 */
function refusedUpFront(error: ArmRequestError): boolean {
  if (error instanceof ArmOperationFailed || !wasChangeRequestAnswer(error)) return false;
  if (error instanceof ArmAuthError && error.status === undefined) return true;
  return error.status !== undefined && error.status >= 400 && error.status < 500;
}

const noStop = (text: string) => text.trim().replace(/\.+$/, '') || 'no detail';

/**
 * Turns a typed ARM error into a StepFailure whose data carries the ARM code. Outcome-unknown,
 * refusals and interruptions pass through unchanged: the executor reads their exit codes.
 */
export function armFailure(error: unknown, action: string, link: string, arm?: ArmSpec): Error {
  if (error instanceof OutcomeUnknown || error instanceof StepRefusal || error instanceof StepFailure) return error;
  if ((error as { name?: string })?.name === 'AbortError') return error as Error;
  // Raised before the change request left: a failed read (a 503, an unreachable endpoint) changed
  // nothing, and the summary must say so rather than "may have changed".
  if (wasNotSent(error) && !(error instanceof ArmAuthError) && !(error instanceof ArmNotFoundError)) {
    if (error instanceof ArmRequestError) {
      const why =
        error.code === OPERATION_STILL_IN_PROGRESS
          ? noStop(error.message)
          : `reading it first failed with HTTP ${error.status ?? '?'} ${error.code}${error.azureMessage ? ` (${noStop(error.azureMessage)})` : ''}`;
      return fail('notSent', { action, link, code: error.code, error: why }, true);
    }
    if (error instanceof ArmUnreachable) return fail('notSent', { action, link, code: error.code, error: `reading it first failed: ${noStop(error.message)}` }, true);
    return fail('notSent', { action, link, error: noStop(error instanceof Error ? error.message : String(error)) }, true);
  }
  const before = wasNotSent(error);
  if (error instanceof ArmAuthError) {
    // No status: no token at all (Microsoft Entra ID or the sign-in refused); else ARM refused the token.
    const id = error.status === undefined ? 'armNoToken' : 'armAuthFailed';
    return fail(id, { action, link, code: error.code, advice: credentialAdvice(arm) }, before || refusedUpFront(error));
  }
  if (error instanceof ArmNotFoundError) {
    const id = /Parent|ResourceGroup|Subscription/.test(error.code) ? 'instanceMissing' : 'linkMissing';
    return fail(id, { action, link, code: error.code }, before || refusedUpFront(error));
  }
  if (error instanceof ArmOperationFailed) {
    return fail('armOperationFailed', { action, link, code: error.code, error: noStop(error.azureMessage || error.message) });
  }
  if (error instanceof ArmRequestError) {
    return fail('armRefused', { action, link, code: error.code, error: noStop(error.azureMessage || error.message) }, refusedUpFront(error));
  }
  if (error instanceof ArmUnreachable) return fail('armUnreachable', { action, link, code: error.code, error: noStop(error.message) });
  return error instanceof Error ? error : new Error(String(error));
}

/** True when a `waitLsnStable` step ran (apply) or will run (plan) before this one in the run. */
export function lsnStableEarlier(history: StepHistoryEntry[] | undefined): boolean {
  return (history ?? []).some((h) => h.type === 'waitLsnStable' && (h.state === 'succeeded' || h.state === 'will-run'));
}

/** Which side the managed instance believes is primary: from its own and its partner's role. */
export function primarySide(link: Pick<LinkDetails, 'instanceLinkRole' | 'partnerLinkRole'>): string {
  const mi = link.instanceLinkRole === 'Primary';
  const sql = link.partnerLinkRole === 'Primary';
  if (mi && sql) return 'both';
  if (mi) return 'managedInstance';
  if (sql) return 'sqlServer';
  return 'none';
}

/** The outputs a role-changing ARM action (failover, setRole) reports: roles after, the MI's before. */
export function roleChangeOutputs(
  before: Pick<LinkDetails, 'instanceLinkRole'>,
  after: Pick<LinkDetails, 'instanceLinkRole' | 'partnerLinkRole'>,
): Record<string, unknown> {
  return {
    instanceLinkRole: after.instanceLinkRole ?? null,
    partnerLinkRole: after.partnerLinkRole ?? null,
    previousInstanceLinkRole: before.instanceLinkRole ?? null,
    primary: primarySide(after),
  };
}

/** A role-changing action is done when the managed instance has `expected`; unknown if ARM shows no role. */
export function instanceRoleVerdict(link: Pick<LinkDetails, 'instanceLinkRole'>, expected: string): 'done' | 'not-done' | 'unknown' {
  if (!link.instanceLinkRole) return 'unknown';
  return link.instanceLinkRole === expected ? 'done' : 'not-done';
}

/** How a role-changing action's progress reads in its step's `progress` message. */
export const PHASE_TEXT: Record<LinkActionProgress['phase'], string> = {
  accepted: 'accepted',
  running: 'running',
  checking: 'checking the link after',
  resending: 'sending again after',
  waiting: 'waiting for an operation in progress:',
};

/** `3.2s` style elapsed time for progress lines. */
export function elapsedText(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

/** The `pollInterval` property every long-running ARM step takes, worded for what it polls. */
export function pollIntervalProperty(what: string, defaultInterval: string): Record<string, unknown> {
  return {
    type: 'string',
    format: 'duration',
    description: `How often to poll ${what} while it runs (default ${defaultInterval}); a longer Retry-After from Azure wins.`,
  };
}

/** What every ARM step's run() starts from: the link's ids and name, the poll interval, the run's client. */
export async function armRunStart(
  ctx: StepRunContext,
  pollInterval: string | undefined,
  defaultInterval: string,
): Promise<{ ids: LinkIds; link: string; pollIntervalMs: number; client: Awaited<ReturnType<StepRunContext['arm']>> }> {
  const ids = linkIdsOf(ctx.inventory);
  return { ids, link: describeLink(ids), pollIntervalMs: durationMs(pollInterval, defaultInterval, 'pollInterval'), client: await ctx.arm() };
}

/**
 * The link as a step's verify() reads it. While an operation is still in progress on it (after a
 * --resume: the one the killed run started), whether the step took effect is not known yet: this
 * throws, and the engine asks again until the operation ends or its deadline passes.
 */
export async function settledLinkForVerify(ctx: StepRunContext): Promise<LinkDetails> {
  const link = await getLinkDetails(await ctx.arm(), linkIdsOf(ctx.inventory), { signal: ctx.signal });
  const busy = operationInProgress(link);
  if (busy) throw new Error(`link ${describeLink(linkIdsOf(ctx.inventory))} reports ${busy}; waiting for that operation to end`);
  return link;
}

/**
 * The link's failoverMode, spelled as the spec does: `Manual` ("two-way failover with a supported
 * SQL Server") or `None` ("one-way failover to Azure"), DistributedAvailabilityGroups.json
 * 2025-01-01. Compared without case (ARM enums are); a link that does not show it, or shows
 * something else, counts as None: two-way failover is claimed only where ARM says Manual.
 */
export function linkFailoverMode(value: string | undefined): 'Manual' | 'None' {
  return value?.trim().toLowerCase() === 'manual' ? 'Manual' : 'None';
}

/** The update policies (ManagedInstances.json 2025-01-01 `databaseFormat`) and the SQL Server each can fail back to. */
const DATABASE_FORMATS: Record<string, { spelled: string; policy: string; failBackMajor: number | null }> = {
  sqlserver2022: { spelled: 'SQLServer2022', policy: 'SQL Server 2022', failBackMajor: 16 },
  sqlserver2025: { spelled: 'SQLServer2025', policy: 'SQL Server 2025', failBackMajor: 17 },
  alwaysuptodate: { spelled: 'AlwaysUpToDate', policy: 'Always-up-to-date', failBackMajor: null },
};

/**
 * What a managed instance's databaseFormat means for the link: its update policy and the SQL
 * Server major version it can fail back to (update-policy.md: "Only instances with the SQL Server
 * 2022 update policy can establish a link from SQL Managed Instance to SQL Server 2022 or fail
 * back", likewise 2025; Always-up-to-date loses "bidirectional failover"). The spec writes
 * SQLServer2022, the docs SqlServer2025: compared without case. An unknown value can fail back to
 * nothing.
 */
export function updatePolicyOf(databaseFormat: string | undefined): { databaseFormat: string | null; policy: string; failBackMajor: number | null } {
  if (databaseFormat === undefined) return { databaseFormat: null, policy: 'unknown (ARM shows no databaseFormat)', failBackMajor: null };
  const known = DATABASE_FORMATS[databaseFormat.trim().toLowerCase()];
  if (!known) return { databaseFormat, policy: `unknown (${databaseFormat})`, failBackMajor: null };
  return { databaseFormat: known.spelled, policy: known.policy, failBackMajor: known.failBackMajor };
}
