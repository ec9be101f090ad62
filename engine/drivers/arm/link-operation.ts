// An operation already in progress on a link (after a --resume, the one the killed run started)
// is waited for, never answered with a second request: while the link reports it (replicaState
// `...InProgress`, e.g. LinkFailoverInProgress) nothing is sent, and a refusal saying an operation
// is in progress (engine/drivers/arm/errors.ts isOperationInProgress: 409 ...ChangeRoleAlreadyInProgress,
// ConflictingServerOperation, ...) is not a failure: the link is polled until the operation ends.
// Waits are bounded by `operationWaitMs`.
import { setTimeout as sleep } from 'node:timers/promises';
import type { SqlManagementClient } from '@azure/arm-sql';
import { isLinkGone } from './errors.js';
import { getLinkDetails, type LinkDetails } from './client.js';
import type { LinkIds } from './link-ids.js';
import { DEFAULT_OPERATION_WAIT_MS, operationInProgress, OperationStillRunning } from './operation-in-progress.js';
import { nextDelay, type PollTiming } from './lro.js';

export interface OperationWait extends PollTiming {
  /** Longest wait, counted from `since` (default DEFAULT_OPERATION_WAIT_MS). */
  operationWaitMs?: number;
  /** When the wait began (ms since the epoch); default now. */
  since?: number;
  /** Called after each look at the link that still shows the operation. */
  onWait?: (state: string, polls: number) => void;
}

/**
 * Polls the link until no database of it reports an operation in progress; returns the link
 * then, or undefined when it is gone. Each look comes after one poll interval, so a caller that
 * just got a 409 does not ask again at once. Throws OperationStillRunning when the time is up,
 * and what the read throws otherwise (the caller decides what a failed read means).
 */
export async function waitForLinkOperation(
  client: SqlManagementClient,
  ids: LinkIds,
  wait: OperationWait,
  state = 'an operation in progress',
): Promise<LinkDetails | undefined> {
  const since = wait.since ?? Date.now();
  const limit = wait.operationWaitMs ?? DEFAULT_OPERATION_WAIT_MS;
  for (let polls = 1; ; polls++) {
    if (Date.now() - since >= limit) throw new OperationStillRunning(state, Date.now() - since);
    await sleep(nextDelay(undefined, wait), undefined, { signal: wait.signal });
    let link: LinkDetails;
    try {
      link = await getLinkDetails(client, ids, { signal: wait.signal });
    } catch (error) {
      if (isLinkGone(error)) return undefined;
      throw error;
    }
    const busy = operationInProgress(link);
    if (!busy) return link;
    state = busy;
    wait.onWait?.(busy, polls);
  }
}
