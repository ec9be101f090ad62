// An operation in progress on a link, as the step modules judge it: whether the link shows one, the
// wait for it that ran out, and when to ask ARM again. Pure, apart from the wait itself
// (link-operation.ts), so `validate` and `plan` load no ARM request code with the step modules.
import type { LinkDetails } from './client.js';

/** The state a database of the link reports while an operation runs on it (`LinkFailoverInProgress`). */
export function operationInProgress(link: LinkDetails): string | undefined {
  return link.databases.find((d) => d.replicaState && /InProgress/i.test(d.replicaState))?.replicaState;
}

export const DEFAULT_OPERATION_WAIT_MS = 10 * 60_000;

/** Still in progress when the wait's time was up: `state` is what the link (or ARM) last said. */
export class OperationStillRunning extends Error {
  constructor(
    readonly state: string,
    readonly waitedMs: number,
  ) {
    super(`an operation was still in progress on the link (${state}) after ${Math.round(waitedMs / 1000)}s`);
    this.name = 'OperationStillRunning';
  }
}

/**
 * When to send a request again after ARM refused it because an operation is in progress and the
 * link shows none (it may be one the link does not report, such as a delete): 1, 2, 4... poll
 * intervals apart, at most a minute, so a long operation draws a handful of refusals, not one per
 * poll. In between, only the link is read.
 */
export function resendSchedule(intervalMs: number, clock: () => number = Date.now): { due(): boolean } {
  let gap = Math.max(1, intervalMs);
  let next = clock() + gap;
  return {
    due() {
      if (clock() < next) return false;
      gap = Math.min(gap * 2, 60_000);
      next = clock() + gap;
      return true;
    },
  };
}
