// The ARM client a step may use, and whose request each one is. A run's steps share one client,
// so what a request may do belongs to the code that sends it, not to the client: each step
// attempt runs in an async context of its own (`asArmCaller`), which every request it makes
// carries, also one sent by a timer or a promise left over after its step ended (attack r7safe
// findings 3 and 4: a read step's late PATCH went out once a change step had asked for the client,
// journaled as that step's; an attempt ended as "nothing was sent" sent its PATCH after the retry's).
// - A step declared `impact: read` (a run's read step, every probe of `plan --probe` and of apply
//   before its question) may send GETs only: a PATCH, POST, PUT or DELETE is refused before it
//   leaves the process, as its T-SQL is (engine/drivers/sql/read-only-pool.ts; attack r7fix
//   finding 7: a "read" plugin failed the link over from `plan --probe`).
// - An attempt the runner has ended sends nothing more.
// The SDK's own operations send through the client's pipeline too, so both are pipeline policies.
// A request made outside any step's context (a probe's, which runs outside the step runner) is held
// to the last mode `armFor` was asked for there. A plugin that builds a client of its own is trusted
// code (README, "Writing a step type").
import { AsyncLocalStorage } from 'node:async_hooks';
import type { SqlManagementClient } from '@azure/arm-sql';
import { GuardRefusal } from '../../core/errors.js';
import { onlyThrottledBefore, type AttemptAnswers } from './errors.js';

/** What ARM tells about a change request the caller sent: `refused` when its own answer shows it did not act. */
export type ArmAnswer = (refused: boolean) => void;

/** Whose requests these are: one step attempt (or a probe). */
export interface ArmCaller {
  step: string;
  readOnly: boolean;
  /** Whether the runner has ended this attempt: nothing more of it is sent. */
  ended?(): boolean;
  /** A request of the caller goes out (it passed the refusals); for a change, told its answer. */
  sending?(method: string, url: string): ArmAnswer | undefined;
}

const callers = new AsyncLocalStorage<ArmCaller>();

/** Runs `run` as `caller`: every ARM request made from it, now or later, is the caller's. */
export function asArmCaller<T>(caller: ArmCaller, run: () => T): T {
  return callers.run(caller, run);
}

const installed = Symbol('runbook-arm-caller');
/** The mode of requests made outside any caller's context, per client (see the head of this file). */
const outside = new WeakMap<object, ArmCaller>();
/** The status of each send of a request (the SDK's retry policy sends it again after a 429 or 5xx). */
const sends = new WeakMap<object, AttemptAnswers>();

/**
 * `client`, refusing what its caller may not send. Asked outside any caller's context (a probe, a
 * step's verify), `caller` (else `step` and `readOnly`) is whose requests made outside one are.
 */
export function armFor(client: SqlManagementClient, step: string, readOnly: boolean, caller?: ArmCaller): SqlManagementClient {
  if (!callers.getStore()) outside.set(client, caller ?? { step, readOnly });
  if ((client as { [installed]?: true })[installed]) return client;
  (client as { [installed]?: true })[installed] = true;
  // Added before any other policy of ours, so a refused request is neither journaled nor sent.
  client.pipeline.addPolicy({
    name: 'runbook-arm-caller',
    sendRequest: async (request, next) => {
      const caller = callers.getStore() ?? outside.get(client);
      if (!caller) return next(request);
      const path = request.url.split('?')[0];
      if (caller.ended?.()) throw new GuardRefusal('attemptEnded', { step: caller.step, side: 'arm', why: request.method }, `Step ${caller.step}: this attempt has ended, so nothing more of it is sent; ${request.method} ${path} was not sent.`);
      if (caller.readOnly && request.method !== 'GET') {
        throw new GuardRefusal(
          'notARead',
          { step: caller.step, side: 'arm', why: request.method },
          `Step ${caller.step} is declared impact: read, but it sent ${request.method} ${path} to ARM; it was not sent. A step that changes anything must declare impact: change.`,
        );
      }
      const answer = caller.sending?.(request.method, request.url);
      if (!answer) return next(request);
      const seen: AttemptAnswers = [];
      sends.set(request, seen);
      // Only the write's own 4xx, with nothing but throttling before it, shows ARM did not act on it (errors.ts onlyThrottledBefore).
      const refused = (status: number | undefined) => status !== undefined && status >= 400 && status < 500 && status !== 429 && onlyThrottledBefore(seen);
      try {
        const response = await next(request);
        answer(refused(response.status));
        return response;
      } catch (error) {
        answer(refused((error as { statusCode?: number; response?: { status?: number } })?.statusCode ?? (error as { response?: { status?: number } })?.response?.status));
        throw error;
      }
    },
  });
  // Inside the SDK's retries: each send's status.
  client.pipeline.addPolicy(
    {
      name: 'runbook-arm-sends',
      sendRequest: async (request, next) => {
        const seen = sends.get(request);
        try {
          const response = await next(request);
          seen?.push(response.status);
          return response;
        } catch (error) {
          seen?.push(undefined);
          throw error;
        }
      },
    },
    { afterPhase: 'Retry' },
  );
  return client;
}
