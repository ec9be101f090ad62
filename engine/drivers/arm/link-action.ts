// POST /failover and POST /setRole on a link, and PATCH of its replicationMode (api-version
// 2025-01-01), followed to the end (./lro.ts): the actions @azure/arm-sql 10.0.0 lacks or sends
// with its old api-version.
//
// Re-sends: the POST is marked so the pipeline never re-sends it by itself (engine/drivers/arm/resend.ts), except
// after a 429. After a 5xx or a network error the outcome is ambiguous, so this reads the link
// first: if it already shows the requested result, that is success; only if the link is plainly
// unchanged is the POST sent again, at most `maxResends` times.
//
// An operation already in progress on the link is waited for (./link-operation.ts), then the link
// is looked at again, and the POST goes out again only if the link does not show the result.
// Past `operationWaitMs`, a wait before anything was sent fails (nothing changed); a wait after a
// request was sent is an unknown outcome (exit 5).
//
// Only the answer to the request itself can say Azure refused the change (marked: errors.ts
// answersChangeRequest), and only while no earlier send of this call got an unclear answer. Once
// ARM accepted it, a failed status poll or read of the link afterwards is an unknown outcome,
// whatever its status (attack r7fix finding 14).
import { setTimeout as sleep } from 'node:timers/promises';
import type { SqlManagementClient } from '@azure/arm-sql';
import type { PipelineResponse } from '@azure/core-rest-pipeline';
import { OutcomeUnknown } from '../../core/errors.js';
import { sentence } from '../../core/sentence.js';
import { afterAccepted, answersChangeRequest, ArmNotFoundError, ArmRequestError, ArmUnreachable, errorFromResponse, isOperationInProgress, notSent, onlyThrottledBefore, OPERATION_STILL_IN_PROGRESS, parseArmErrorBody, type AttemptAnswers } from './errors.js';
import { ResendBlocked, ensureNoResendPolicy } from './resend.js';
import { getLinkDetails, sendRaw, type LinkDetails } from './client.js';
import { describeLink, linkUrl, type LinkIds } from './link-ids.js';
import { followOperation, httpLabel, nextDelay, type PollTiming } from './lro.js';
import { waitForLinkOperation } from './link-operation.js';
import { operationInProgress, OperationStillRunning, resendSchedule } from './operation-in-progress.js';

/** `update` is PATCH of the link resource itself (its replicationMode), the others POST to .../<action>. */
export type LinkAction = 'failover' | 'setRole' | 'update';
export interface FailoverBody {
  failoverType: 'Planned' | 'ForcedAllowDataLoss';
}
export interface SetRoleBody {
  instanceRole: 'Primary' | 'Secondary';
  roleChangeType: 'Planned' | 'Forced';
}
/**
 * The MI side's copy of the link's mode, as Update-AzSqlInstanceLink -ReplicationMode sets it
 * (azure-rest-api-specs, DistributedAvailabilityGroups.json 2025-01-01, example
 * DistributedAvailabilityGroupsUpdate.json: `{"properties":{"replicationMode":"Sync"}}`).
 */
export interface ReplicationModeBody {
  properties: { replicationMode: 'Async' | 'Sync' };
}
export type LinkActionBody = FailoverBody | SetRoleBody | ReplicationModeBody;

export interface LinkActionProgress {
  /** `waiting`: for an operation already in progress on the link to end. */
  phase: 'accepted' | 'running' | 'checking' | 'resending' | 'waiting';
  /** Azure's operation status (`InProgress`) or the HTTP status of the last answer. */
  status: string;
  polls: number;
  elapsedMs: number;
}

export interface LinkActionOptions extends PollTiming {
  /** Explicit re-sends after an ambiguous 5xx/network error when the link is unchanged (default 2). */
  maxResends?: number;
  /** Longest wait for an operation already in progress on the link (default 10 minutes). */
  operationWaitMs?: number;
  onProgress?: (progress: LinkActionProgress) => void;
}

export interface LinkActionResult {
  before: LinkDetails;
  after: LinkDetails;
  polls: number;
  resends: number;
  /** An ambiguous answer was settled by reading the link, which already showed the result. */
  confirmedByState: boolean;
}

/** Whether the link already shows what the action asked for. */
export function actionReached(action: LinkAction, body: LinkActionBody, before: LinkDetails, now: LinkDetails): boolean {
  if (action === 'update') {
    const wanted = (body as ReplicationModeBody).properties.replicationMode;
    return now.replicationMode !== undefined && now.replicationMode.toLowerCase() === wanted.toLowerCase();
  }
  if (action === 'setRole') {
    const target = (body as SetRoleBody).instanceRole;
    return before.instanceLinkRole !== target && now.instanceLinkRole === target;
  }
  return now.instanceLinkRole !== undefined && now.instanceLinkRole !== before.instanceLinkRole;
}

export async function postLinkAction(
  client: SqlManagementClient,
  ids: LinkIds,
  action: LinkAction,
  body: LinkActionBody,
  options: LinkActionOptions = {},
): Promise<LinkActionResult> {
  ensureNoResendPolicy(client.pipeline);
  const { signal } = options;
  const started = Date.now();
  const link = describeLink(ids);
  const what = `the ${action} request for link ${link}`;
  const report = (phase: LinkActionProgress['phase'], status: string, polls: number) =>
    options.onProgress?.({ phase, status, polls, elapsedMs: Date.now() - started });
  const waitFor = (state: string, since = Date.now()) =>
    waitForLinkOperation(client, ids, { ...options, since, onWait: (s, n) => report('waiting', s, n) }, state);
  const reached = (now: LinkDetails | undefined, resends: number): LinkActionResult | undefined =>
    now && actionReached(action, body, before, now) ? { before, after: now, polls: 0, resends, confirmedByState: true } : undefined;

  let before: LinkDetails;
  try {
    before = await getLinkDetails(client, ids, { signal });
  } catch (error) {
    throw notSent(error);
  }
  // An operation already running on the link (an earlier attempt's, before a --resume, or
  // another client's): wait for it and look again before sending anything.
  const busyAtStart = operationInProgress(before);
  if (busyAtStart) {
    report('waiting', busyAtStart, 0);
    let now: LinkDetails | undefined;
    try {
      now = await waitFor(busyAtStart);
    } catch (error) {
      if ((error as { name?: string }).name === 'AbortError') throw error;
      if (error instanceof OperationStillRunning) throw notSent(new ArmRequestError(undefined, OPERATION_STILL_IN_PROGRESS, error.message));
      throw notSent(error);
    }
    if (!now) throw notSent(new ArmNotFoundError('ResourceNotFound', `Link ${link} was removed while an operation on it was in progress.`));
    const done = reached(now, 0);
    if (done) return done;
  }

  let resends = 0;
  /** An earlier send of this call got a 5xx or no answer: it may have acted. */
  let unclearBefore = false;
  let conflictSince: number | undefined;
  let schedule: ReturnType<typeof resendSchedule> | undefined;
  for (;;) {
    signal?.throwIfAborted();
    let response: PipelineResponse | undefined;
    let ambiguous: string | undefined;
    const attempts: AttemptAnswers = [];
    /** What this send's answer shows about the change: a refusal only if nothing before it may have acted. */
    const answer = <E>(error: E): E => (!unclearBefore && onlyThrottledBefore(attempts) ? answersChangeRequest(error) : error);
    try {
      response = await sendRaw(client, {
        method: action === 'update' ? 'PATCH' : 'POST',
        url: linkUrl(client, ids, action === 'update' ? '' : `/${action}`),
        body,
        signal,
        noResend: true,
        attempts,
      });
    } catch (error) {
      if ((error as { name?: string }).name === 'AbortError') {
        throw new OutcomeUnknown(`Interrupted while sending ${what}; Azure may have started it. Check the link before doing anything else.`);
      }
      // No token to send it with (ArmAuthError): the request never left.
      if (!(error instanceof ResendBlocked) && !(error instanceof ArmUnreachable)) throw answer(error);
      const r = error instanceof ResendBlocked ? error.response : undefined;
      ambiguous = r ? httpLabel(r) : 'a network error';
    }
    if (response && response.status >= 500) ambiguous = httpLabel(response);

    if (ambiguous !== undefined) {
      unclearBefore = true;
      report('checking', ambiguous, 0);
      const unknown = (why: string) =>
        new OutcomeUnknown(`ARM answered ${what} with ${ambiguous}, and ${why} Check the link before doing anything else.`);
      let now: LinkDetails | undefined;
      try {
        now = await getLinkDetails(client, ids, { signal });
      } catch (error) {
        throw unknown(`the link could not be read afterwards: ${sentence((error as Error).message)}`);
      }
      const done = reached(now, resends);
      if (done) return done;
      const busy = operationInProgress(now);
      if (busy) {
        // Perhaps our own request, started before the front door failed: let it finish, then look.
        report('waiting', busy, 0);
        try {
          now = await waitFor(busy);
        } catch (error) {
          if (error instanceof OperationStillRunning) {
            throw unknown(`the link still reports ${error.state} after ${Math.round(error.waitedMs / 1000)}s; the ${action} may still complete.`);
          }
          throw unknown(`the link could not be read while it reported ${busy}: ${sentence((error as Error).message)}`);
        }
        const settled = reached(now, resends);
        if (settled) return settled;
        if (!now) throw unknown(`the link is gone.`);
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
    if (res.status >= 200 && res.status < 300) {
      try {
        let polls = 0;
        if (res.status === 202) {
          report('accepted', '202', 0);
          polls = await followOperation(client, res, what, options, (status, n) => report('running', status, n));
        }
        return { before, after: await getLinkDetails(client, ids, { signal }), polls, resends, confirmedByState: false };
      } catch (error) {
        throw afterAccepted(error, what);
      }
    }
    const refused = errorFromResponse(res.status, res.bodyAsText, what);
    if (!isOperationInProgress(refused)) throw answer(refused);

    // Refused because an operation is in progress: not a failure. Wait for it to end, look at
    // the link, and send again only if it does not show the result yet.
    conflictSince ??= Date.now();
    schedule ??= resendSchedule(options.pollIntervalMs ?? 2000);
    report('waiting', refused.code, 0);
    const unknown = (why: string) =>
      new OutcomeUnknown(
        `ARM refused ${what} with HTTP ${res.status} ${refused.code} (an operation is in progress, perhaps this step's own earlier request) and ${why} ` +
          'Check the link before doing anything else.',
      );
    for (;;) {
      let now: LinkDetails | undefined;
      try {
        now = await waitFor(refused.code, conflictSince);
      } catch (error) {
        if ((error as { name?: string }).name === 'AbortError') throw unknown('the run was interrupted while waiting for it.');
        if (error instanceof OperationStillRunning) throw unknown(`it was still in progress (${error.state}) after ${Math.round(error.waitedMs / 1000)}s.`);
        throw unknown(`the link could not be read while waiting: ${sentence((error as Error).message)}`);
      }
      if (!now) throw unknown('the link is gone.');
      const done = reached(now, resends);
      if (done) return done;
      if (schedule.due()) break;
    }
    report('resending', refused.code, 0);
  }
}
