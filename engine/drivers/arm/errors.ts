// What can go wrong talking to ARM, as typed errors the steps can tell apart: Azure said no
// (with its error code), the resource is not there, the credentials were refused, a long-running
// operation ended in failure. Pure module: no @azure import, so steps can use it at plan time.
import { OutcomeUnknown } from '../../core/errors.js';
import { sentence } from '../../core/sentence.js';
import type { ArmSpec } from '../../core/types.js';

export type { ArmSpec };

/**
 * What to check when the run's ARM credential is refused, by the inventory's arm.credential: the
 * token variable only for `tokenEnv`; for Microsoft Entra ID the variables EnvironmentCredential
 * reads (@azure/identity) and the authority host. Without the inventory: each setting by name.
 */
export function credentialAdvice(arm: Pick<ArmSpec, 'credential' | 'tokenEnv'> | undefined): string {
  const entra = 'AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) variables and arm.authorityHost in the inventory';
  if (!arm) return "arm.credential in the inventory and the credential it names (arm.tokenEnv's token, or the AZURE_* variables)";
  switch (arm.credential ?? 'default') {
    case 'tokenEnv':
      return `the token in ${arm.tokenEnv ?? '(no variable named)'} (arm.tokenEnv in the inventory)`;
    case 'environment':
      return `the ${entra} (arm.credential: environment)`;
    default:
      return `the sign-in DefaultAzureCredential finds (the ${entra}, a workload or managed identity, az login; arm.credential: default)`;
  }
}

/** ARM answered with an error: HTTP status plus Azure's `{error:{code,message}}` code. */
export class ArmRequestError extends Error {
  constructor(
    readonly status: number | undefined,
    readonly code: string,
    message: string,
    /** Azure's own message for the code, as sent (may be empty). */
    readonly azureMessage = '',
  ) {
    super(message);
    this.name = 'ArmRequestError';
  }
}

/** 404: the link, or its managed instance / resource group, does not exist. */
export class ArmNotFoundError extends ArmRequestError {
  constructor(code: string, message: string, azureMessage = '') {
    super(404, code, message, azureMessage);
    this.name = 'ArmNotFoundError';
  }
}

/** 401/403, or a credential that could not produce a token. Never carries the token. */
export class ArmAuthError extends ArmRequestError {
  constructor(status: number | undefined, code: string, message: string, azureMessage = '') {
    super(status, code, message, azureMessage);
    this.name = 'ArmAuthError';
  }
}

/** A long-running operation was accepted and later reported failed (or canceled). */
export class ArmOperationFailed extends ArmRequestError {
  constructor(status: number | undefined, code: string, message: string, azureMessage = '') {
    super(status, code, message, azureMessage);
    this.name = 'ArmOperationFailed';
  }
}

/** The ARM endpoint could not be reached (DNS, refused connection, TLS). */
export class ArmUnreachable extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ArmUnreachable';
  }
}

/** Codes of a 404 that mean "the parent is wrong", not "the link is gone". */
const PARENT_MISSING = new Set(['ParentResourceNotFound', 'ResourceGroupNotFound', 'SubscriptionNotFound']);

/** True when a 404 says the link itself does not exist (its managed instance does). */
export function isLinkGone(error: unknown): boolean {
  return error instanceof ArmNotFoundError && !PARENT_MISSING.has(error.code);
}

/**
 * Codes with which ARM refuses a request because another operation is still running on the link,
 * its database or its managed instance ("wait for it to complete and retry"). From the error
 * lists of DistributedAvailabilityGroups_Failover and _SetRole in azure-rest-api-specs,
 * Microsoft.Sql/stable/2025-01-01/DistributedAvailabilityGroups.json: all 409 except
 * ManagedInstanceOperationInProgress, which the same lists give as 400.
 */
const OPERATION_IN_PROGRESS = new Set([
  'DistributedAvailabilityGroupSetRoleChangeRoleAlreadyInProgress',
  'ConflictingServerOperation',
  'ManagedInstanceIsBusy',
  'ManagedInstanceOperationInProgress',
  'ConflictingDatabaseOperation',
  'ConflictingSystemOperationInProgress',
  'ManagementServiceDatabaseBusy',
]);

/** Our own code for "an operation on the link did not end within the wait", never Azure's. */
export const OPERATION_STILL_IN_PROGRESS = 'OperationStillInProgress';

/** ARM refused the request itself because an operation is in progress (not: an operation failed). */
export function isOperationInProgress(error: unknown): error is ArmRequestError {
  return (
    error instanceof ArmRequestError &&
    !(error instanceof ArmOperationFailed) &&
    (error.status === 409 || error.status === 400) &&
    OPERATION_IN_PROGRESS.has(error.code)
  );
}

/**
 * Marks an error raised before the change request was sent (e.g. the read of the link that comes
 * first): whatever it says, nothing was changed by it. See armFailure in steps/support/arm-link.ts.
 */
export function notSent<E>(error: E): E {
  if (error && typeof error === 'object') (error as { notSent?: boolean }).notSent = true;
  return error;
}

export function wasNotSent(error: unknown): boolean {
  return !!error && typeof error === 'object' && (error as { notSent?: unknown }).notSent === true;
}

/** What each time a request went out got, in order: an HTTP status, or `undefined` (no answer: a network error). */
export type AttemptAnswers = Array<number | undefined>;

/**
 * Whether the last of `seen` is the request's only attempt that may have acted: every attempt
 * before it was throttled (429: ARM did not act on it, request-limits-and-throttling.md in
 * MicrosoftDocs/azure-docs). After a 5xx or a lost answer the pipeline's re-send answers only
 * itself: what the earlier one did is not known.
 */
export function onlyThrottledBefore(seen: AttemptAnswers): boolean {
  return seen.slice(0, -1).every((status) => status === 429);
}

/**
 * Marks ARM's answer to the change request itself (the PATCH, POST or DELETE that would start the
 * operation) when no earlier request of the step may have acted: only such an answer can show that
 * Azure refused the change up front. An error met after ARM accepted the request (202: a status
 * poll, the read of the link afterwards; "Track asynchronous Azure operations", MicrosoftDocs/
 * azure-docs async-operations.md), or after an earlier send got no clear answer, says nothing about
 * the change, whatever its status (attack r7fix finding 14: a 429 on the read after a completed
 * forced failover was "refused, nothing changed", and the retry posted the failover again).
 */
export function answersChangeRequest<E>(error: E): E {
  if (error && typeof error === 'object') (error as { answersChangeRequest?: boolean }).answersChangeRequest = true;
  return error;
}

export function wasChangeRequestAnswer(error: unknown): boolean {
  return !!error && typeof error === 'object' && (error as { answersChangeRequest?: unknown }).answersChangeRequest === true;
}

/** Azure's `{error:{code,message}}` from a response body, if the body is one. */
export function parseArmErrorBody(bodyText: string | null | undefined): { code: string; message: string } | undefined {
  if (!bodyText) return undefined;
  try {
    const body = JSON.parse(bodyText) as { error?: { code?: unknown; message?: unknown } };
    const e = body?.error;
    if (e && typeof e.code === 'string') {
      return { code: e.code, message: typeof e.message === 'string' ? e.message : '' };
    }
  } catch {
    // Not JSON: the caller falls back to the HTTP status.
  }
  return undefined;
}

/** Builds the typed error for an HTTP error response from ARM. */
export function errorFromResponse(status: number, bodyText: string | null | undefined, what: string): ArmRequestError {
  const parsed = parseArmErrorBody(bodyText);
  const code = parsed?.code ?? `Http${status}`;
  const azure = parsed?.message ?? '';
  const detail = azure ? ` ${sentence(azure)}` : '';
  if (status === 401 || status === 403) {
    return new ArmAuthError(
      status,
      code,
      `ARM refused the credentials for ${what} (HTTP ${status} ${code}).${detail} ` +
        `Check ${credentialAdvice(undefined)}, or sign in again.`,
      azure,
    );
  }
  if (status === 404) return new ArmNotFoundError(code, `ARM found nothing for ${what} (${code}).${detail}`, azure);
  return new ArmRequestError(status, code, `ARM refused ${what} with HTTP ${status} ${code}.${detail}`, azure);
}

/** Network-level failures (no HTTP answer) from the pipeline: say where and what to check. */
export function unreachable(error: unknown, endpoint: string): ArmUnreachable {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'NetworkError';
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS|SSL/i.test(code);
  const hint = tls
    ? 'The server certificate was not trusted: check arm.caFile in the inventory.'
    : 'Check arm.endpoint in the inventory and the network path to it.';
  return new ArmUnreachable(code, `Cannot reach ARM at ${endpoint} (${code}). ${hint}`);
}

/** Lifts errors thrown by the @azure/arm-sql client (RestError, LRO failures) into typed errors. */
export function fromSdkError(error: unknown, what: string, endpoint: string, lastBodyText?: string): Error {
  if (error instanceof ArmRequestError || error instanceof ArmUnreachable) return error;
  const e = error as { name?: unknown; statusCode?: unknown; code?: unknown; message?: unknown; response?: { bodyAsText?: string } };
  if (e?.name === 'AbortError') return error as Error;
  if (typeof e?.name === 'string' && /CredentialUnavailable|Authentication(Required)?Error/.test(e.name)) {
    const full = typeof e.message === 'string' ? e.message : '';
    const text = full.split('\n')[0] ?? '';
    // azureMessage keeps the whole text: msal puts the AADSTS code and reason on later lines.
    return new ArmAuthError(undefined, e.name, `Could not get an Azure token for ${what} (${e.name}). ${sentence(text)}`, full);
  }
  if (typeof e?.statusCode === 'number') {
    return errorFromResponse(e.statusCode, e.response?.bodyAsText ?? JSON.stringify({ error: { code: e.code, message: e.message } }), what);
  }
  const message = typeof e?.message === 'string' ? e.message : String(error);
  // core-lro: "The long-running operation has failed. <code>. <message>" (a plain Error, no code).
  const lro = /^The long-running operation has failed(?:\.\s*([^.\s]+)\.\s*(.*))?$/s.exec(message);
  if (lro) {
    const fromBody = parseArmErrorBody(lastBodyText);
    const code = fromBody?.code ?? lro[1] ?? 'OperationFailed';
    const text = fromBody?.message ?? lro[2] ?? '';
    return new ArmOperationFailed(undefined, code, `Azure reported that ${what} failed: ${code}.${text ? ` ${sentence(text)}` : ''}`, text);
  }
  if (typeof e?.code === 'string' || /ECONN|ENOTFOUND|socket|certificate/i.test(message)) return unreachable(error, endpoint);
  return error instanceof Error ? error : new Error(message);
}

/**
 * An error met after ARM accepted the change (following it, or reading the link afterwards): the
 * change may have been carried out, whatever the error's status (a 429 on the read after a completed
 * failover is no refusal of the failover; attack r7fix finding 14: "Nothing was changed", and a
 * retry POSTed the forced failover again). Only Azure's own word that the operation failed, or an
 * outcome already unknown, stays as it is.
 */
export function afterAccepted(error: unknown, what: string): unknown {
  if (error instanceof ArmOperationFailed || error instanceof OutcomeUnknown) return error;
  if ((error as { name?: string })?.name === 'AbortError') {
    return new OutcomeUnknown(`Interrupted while following ${what}, which Azure had accepted; it may still complete. Check the link before doing anything else.`);
  }
  return new OutcomeUnknown(`Azure accepted ${what}, but following it failed: ${sentence((error as Error)?.message ?? String(error))} It may have been carried out; check the link before doing anything else.`, { cause: error });
}
