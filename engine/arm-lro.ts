// POST /failover and POST /setRole on a link, followed to the end: the actions @azure/arm-sql
// 10.0.0 lacks. The initial answer is 200 (done), 202 with Azure-AsyncOperation (poll it, read
// `status`) and/or Location (202 while running, 200/204 when done), honouring Retry-After.
//
// Re-sends: the POST is marked so the pipeline never re-sends it by itself (arm-resend.ts), except
// after a 429. After a 5xx or a network error the outcome is ambiguous, so this reads the link
// first: if it already shows the requested result, that is success; if a replica reports an
// operation in progress, the outcome is unknown (OutcomeUnknown, exit 5); only if the link is
// plainly unchanged is the POST sent again, at most `maxResends` times.
import { setTimeout as sleep } from 'node:timers/promises';
import type { SqlManagementClient } from '@azure/arm-sql';
import type { PipelineResponse } from '@azure/core-rest-pipeline';
import { OutcomeUnknown } from './errors.js';
import { ArmOperationFailed, ArmRequestError, ArmUnreachable, errorFromResponse, parseArmErrorBody, sentence } from './arm-errors.js';
import { ResendBlocked, ensureNoResendPolicy } from './arm-resend.js';
import { describeLink, getLinkDetails, linkUrl, sendRaw, type LinkDetails, type LinkIds } from './arm.js';

export type LinkAction = 'failover' | 'setRole';
export interface FailoverBody {
  failoverType: 'Planned' | 'ForcedAllowDataLoss';
}
export interface SetRoleBody {
  instanceRole: 'Primary' | 'Secondary';
  roleChangeType: 'Planned' | 'Forced';
}

export interface LinkActionProgress {
  phase: 'accepted' | 'running' | 'checking' | 'resending';
  /** Azure's operation status (`InProgress`) or the HTTP status of the last answer. */
  status: string;
  polls: number;
  elapsedMs: number;
}

export interface LinkActionOptions {
  /** Least time between polls, in ms (default 2000). A larger Retry-After wins. */
  pollIntervalMs?: number;
  /** Upper bound on any wait, Retry-After included (tests and drills). */
  maxPollDelayMs?: number;
  /** Explicit re-sends after an ambiguous 5xx/network error when the link is unchanged (default 2). */
  maxResends?: number;
  onProgress?: (progress: LinkActionProgress) => void;
  signal?: AbortSignal;
}

export interface LinkActionResult {
  before: LinkDetails;
  after: LinkDetails;
  polls: number;
  resends: number;
  /** An ambiguous answer was settled by reading the link, which already showed the result. */
  confirmedByState: boolean;
}

/** Retry-After as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined | null, now = Date.now()): number | undefined {
  if (value === undefined || value === null || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

export function nextDelay(retryAfterMs: number | undefined, options: LinkActionOptions): number {
  const wanted = Math.max(options.pollIntervalMs ?? 2000, retryAfterMs ?? 0);
  return options.maxPollDelayMs === undefined ? wanted : Math.min(wanted, options.maxPollDelayMs);
}

/** Whether the link already shows what the action asked for. */
export function actionReached(action: LinkAction, body: FailoverBody | SetRoleBody, before: LinkDetails, now: LinkDetails): boolean {
  if (action === 'setRole') {
    const target = (body as SetRoleBody).instanceRole;
    return before.instanceLinkRole !== target && now.instanceLinkRole === target;
  }
  return now.instanceLinkRole !== undefined && now.instanceLinkRole !== before.instanceLinkRole;
}

function operationInProgress(link: LinkDetails): string | undefined {
  return link.databases.find((d) => d.replicaState && /InProgress/i.test(d.replicaState))?.replicaState;
}

export async function postLinkAction(
  client: SqlManagementClient,
  ids: LinkIds,
  action: LinkAction,
  body: FailoverBody | SetRoleBody,
  options: LinkActionOptions = {},
): Promise<LinkActionResult> {
  ensureNoResendPolicy(client.pipeline);
  const { signal } = options;
  const started = Date.now();
  const link = describeLink(ids);
  const what = `the ${action} request for link ${link}`;
  const report = (phase: LinkActionProgress['phase'], status: string, polls: number) =>
    options.onProgress?.({ phase, status, polls, elapsedMs: Date.now() - started });

  const before = await getLinkDetails(client, ids, { signal });
  let resends = 0;
  for (;;) {
    signal?.throwIfAborted();
    let response: PipelineResponse | undefined;
    let ambiguous: string | undefined;
    try {
      response = await sendRaw(client, { method: 'POST', url: linkUrl(client, ids, `/${action}`), body, signal, noResend: true });
    } catch (error) {
      if ((error as { name?: string }).name === 'AbortError') {
        throw new OutcomeUnknown(`Interrupted while sending ${what}; Azure may have started it. Check the link before doing anything else.`);
      }
      if (!(error instanceof ResendBlocked) && !(error instanceof ArmUnreachable)) throw error;
      const r = error instanceof ResendBlocked ? error.response : undefined;
      ambiguous = r ? httpLabel(r) : 'a network error';
    }
    if (response && response.status >= 500) ambiguous = httpLabel(response);

    if (ambiguous !== undefined) {
      report('checking', ambiguous, 0);
      let now: LinkDetails;
      try {
        now = await getLinkDetails(client, ids, { signal });
      } catch (error) {
        throw new OutcomeUnknown(
          `ARM answered ${what} with ${ambiguous}, and the link could not be read afterwards: ${sentence((error as Error).message)} ` +
            'Check the link before doing anything else.',
        );
      }
      if (actionReached(action, body, before, now)) return { before, after: now, polls: 0, resends, confirmedByState: true };
      const busy = operationInProgress(now);
      if (busy) {
        throw new OutcomeUnknown(
          `ARM answered ${what} with ${ambiguous}, and the link now reports ${busy}. The ${action} may still complete; check the link before doing anything else.`,
        );
      }
      if (resends >= (options.maxResends ?? 2)) {
        const code = response ? (parseArmErrorBody(response.bodyAsText)?.code ?? `Http${response.status}`) : 'NetworkError';
        throw new ArmRequestError(
          response?.status,
          code,
          `ARM answered ${what} with ${ambiguous} ${resends + 1} times; the link is unchanged (instance role ${now.instanceLinkRole ?? 'unknown'}).`,
        );
      }
      resends += 1;
      report('resending', ambiguous, 0);
      await sleep(nextDelay(undefined, options), undefined, { signal });
      continue;
    }

    const res = response as PipelineResponse;
    if (res.status === 202) {
      report('accepted', '202', 0);
      const polls = await followOperation(client, res, what, options, (status, n) => report('running', status, n));
      return { before, after: await getLinkDetails(client, ids, { signal }), polls, resends, confirmedByState: false };
    }
    if (res.status >= 200 && res.status < 300) {
      return { before, after: await getLinkDetails(client, ids, { signal }), polls: 0, resends, confirmedByState: false };
    }
    throw errorFromResponse(res.status, res.bodyAsText, what);
  }
}

function httpLabel(response: PipelineResponse): string {
  const code = parseArmErrorBody(response.bodyAsText)?.code;
  return `HTTP ${response.status}${code ? ` ${code}` : ''}`;
}

/** Polls until the operation ends; returns the number of polls. Throws on failure or interruption. */
async function followOperation(
  client: SqlManagementClient,
  accepted: PipelineResponse,
  what: string,
  options: LinkActionOptions,
  onPoll: (status: string, polls: number) => void,
): Promise<number> {
  const asyncUrl = accepted.headers.get('azure-asyncoperation') ?? accepted.headers.get('operation-location');
  const location = accepted.headers.get('location');
  const url = asyncUrl ?? location;
  if (!url) return 0;
  const unknown = (why: string) =>
    new OutcomeUnknown(`${why} while Azure was running ${what}; it may still complete. Check the link before doing anything else.`);
  let retryAfter = parseRetryAfter(accepted.headers.get('retry-after'));
  for (let polls = 1; ; polls++) {
    try {
      await sleep(nextDelay(retryAfter, options), undefined, { signal: options.signal });
    } catch {
      throw unknown('Interrupted');
    }
    let res: PipelineResponse;
    try {
      res = await sendRaw(client, { method: 'GET', url, signal: options.signal });
    } catch (error) {
      if ((error as { name?: string }).name === 'AbortError') throw unknown('Interrupted');
      throw unknown(`Lost contact with ARM (${sentence((error as Error).message)})`);
    }
    retryAfter = parseRetryAfter(res.headers.get('retry-after'));
    if (res.status >= 500) throw unknown(`ARM answered a status poll with ${httpLabel(res)}`);
    if (res.status >= 400) {
      const failed = errorFromResponse(res.status, res.bodyAsText, what);
      throw new ArmOperationFailed(res.status, failed.code, `Azure reported that ${what} failed: ${failed.code}.${tail(res.bodyAsText)}`, failed.azureMessage);
    }
    if (asyncUrl) {
      const status = readStatus(res.bodyAsText);
      const s = status.toLowerCase();
      if (s === 'succeeded') return polls;
      if (s === 'failed' || s === 'canceled' || s === 'cancelled') {
        const err = parseArmErrorBody(res.bodyAsText);
        const code = err?.code ?? (s === 'failed' ? 'OperationFailed' : 'OperationCanceled');
        throw new ArmOperationFailed(
          res.status,
          code,
          `Azure reported that ${what} ${s === 'failed' ? 'failed' : 'was canceled'}: ${code}.${tail(res.bodyAsText)}`,
          err?.message ?? '',
        );
      }
      onPoll(status, polls);
    } else {
      if (res.status !== 202) return polls;
      onPoll('202', polls);
    }
  }
}

function readStatus(bodyText: string | null | undefined): string {
  try {
    const status = (JSON.parse(bodyText ?? '{}') as { status?: unknown }).status;
    return typeof status === 'string' ? status : 'InProgress';
  } catch {
    return 'InProgress';
  }
}

function tail(bodyText: string | null | undefined): string {
  const message = parseArmErrorBody(bodyText)?.message;
  return message ? ` ${sentence(message)}` : '';
}
