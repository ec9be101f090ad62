// Keeps the pipeline's retry policy from re-sending a non-idempotent request.
//
// The default retry policy re-sends any request that got a 5xx or a network error (facts §2.4).
// For a POST /failover that is dangerous: the first attempt may have started the failover before
// the front door answered 500. This policy sits after the retry phase, so it sees every attempt;
// for a marked request it lets the first attempt through, lets a re-send through only after a
// 429 (throttled: Azure did not act on it), and otherwise stops the retry loop with ResendBlocked,
// carrying what the first attempt got. The caller then looks at the link's state before deciding
// whether to send again (engine/drivers/arm/link-action.ts).
//
// The same policy records, for a request that asks for it (a DELETE, which the retry policy may
// re-send), what each of its attempts got: a refusal answers the change only if no attempt before
// it may have acted (errors.ts onlyThrottledBefore).
import type { PipelinePolicy, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';
import type { AttemptAnswers } from './errors.js';

interface Attempts {
  /** False: only watched (its answers recorded in `seen`); the retry policy may re-send it. */
  noResend: boolean;
  count: number;
  lastStatus?: number;
  lastResponse?: PipelineResponse;
  lastError?: unknown;
  seen?: AttemptAnswers;
}

const marked = new WeakMap<PipelineRequest, Attempts>();

export function markNoResend(request: PipelineRequest, seen?: AttemptAnswers): void {
  marked.set(request, { noResend: true, count: 0, ...(seen ? { seen } : {}) });
}

/** Records into `seen` what each attempt of `request` gets, the retry policy's re-sends included. */
export function watchAttempts(request: PipelineRequest, seen: AttemptAnswers): void {
  marked.set(request, { noResend: false, count: 0, seen });
}

/** Thrown instead of a re-send; not a RestError, so the retry policy passes it straight up. */
export class ResendBlocked extends Error {
  constructor(
    readonly response: PipelineResponse | undefined,
    readonly networkError: unknown,
  ) {
    super(
      response
        ? `The request got HTTP ${response.status} and was not re-sent automatically.`
        : 'The request failed on the network and was not re-sent automatically.',
    );
    this.name = 'ResendBlocked';
  }
}

export const NO_RESEND_POLICY_NAME = 'runbookNoResend';

export function noResendPolicy(): PipelinePolicy {
  return {
    name: NO_RESEND_POLICY_NAME,
    async sendRequest(request, next) {
      const attempts = marked.get(request);
      if (!attempts) return next(request);
      if (attempts.noResend && attempts.count > 0 && attempts.lastStatus !== 429) {
        throw new ResendBlocked(attempts.lastResponse, attempts.lastError);
      }
      attempts.count += 1;
      try {
        const response = await next(request);
        attempts.lastStatus = response.status;
        attempts.lastResponse = response;
        attempts.seen?.push(response.status);
        return response;
      } catch (error) {
        attempts.lastStatus = undefined;
        attempts.lastResponse = undefined;
        attempts.lastError = error;
        attempts.seen?.push(undefined);
        throw error;
      }
    },
  };
}

/** Adds the policy to a pipeline that lacks it (a client built elsewhere, e.g. by a test). */
export function ensureNoResendPolicy(pipeline: {
  getOrderedPolicies(): PipelinePolicy[];
  addPolicy(policy: PipelinePolicy, options?: { afterPhase?: 'Retry' }): void;
}): void {
  if (!pipeline.getOrderedPolicies().some((p) => p.name === NO_RESEND_POLICY_NAME)) {
    pipeline.addPolicy(noResendPolicy(), { afterPhase: 'Retry' });
  }
}
