// armDeleteLink: removes the link on the managed instance side through ARM (what
// Remove-AzSqlInstanceLink does): DELETE at api-version 2025-01-01, as every ARM call of the
// engine (azure-rest-api-specs, Microsoft.Sql/stable/2025-01-01/DistributedAvailabilityGroups.json:
// 200, 202 with Location, or 204 "not found"), following the long-running delete with progress lines.
// Deleting a link whose LSNs were not proven equal can lose the transactions the secondary had not
// hardened, so the step is `dataLoss` unless a waitLsnStable step succeeded earlier in the run.
// A link that is already gone is success, reported as such, so the step can be re-run. An
// operation already in progress on the link (after a --resume, the delete the killed run sent) is
// waited for: ARM's 409 while it runs is not a failure, and a DELETE refused with it acted on
// nothing (engine/drivers/arm/link-action.ts has the same rule for failover and setRole).
import { describeLink, linkIdsOf, linkUrl } from '../engine/drivers/arm/link-ids.js';
import { followOperation, getLinkDetails, sendRaw, waitForLinkOperation } from '../engine/drivers/on-demand.js';
import { afterAccepted, answersChangeRequest, ArmRequestError, errorFromResponse, isLinkGone, isOperationInProgress, notSent, onlyThrottledBefore, OPERATION_STILL_IN_PROGRESS, type AttemptAnswers } from '../engine/drivers/arm/errors.js';
import { operationInProgress, OperationStillRunning, resendSchedule } from '../engine/drivers/arm/operation-in-progress.js';
import { armFailure, armMessages, elapsedText, lsnStableEarlier, armRunStart, pollIntervalProperty, settledLinkForVerify } from './support/arm-link.js';
import { defineStep, durationText, OutcomeUnknown, type StepPlanResult } from '../engine/step-api/index.js';

export interface ArmDeleteLinkArgs {
  pollInterval?: string;
}

export default defineStep({
  type: 'armDeleteLink',
  description:
    'Deletes the link on the managed instance side through ARM (DELETE, api-version 2025-01-01) and follows the long-running delete. Counts as dataLoss unless a waitLsnStable step succeeded earlier in the run; a link that is already gone is success.',
  with: {
    type: 'object',
    additionalProperties: false,
    properties: {
      pollInterval: pollIntervalProperty('the delete', '10s'),
    },
  },
  defaults: { pollInterval: '10s' },
  messages: {
    ...armMessages,
    alreadyGone: 'Link {{link}} is already gone; nothing to delete.',
    accepted: 'Azure accepted the delete of link {{link}}.',
    deleting: 'Deleting link {{link}}: {{status}} after {{elapsed}}.',
    deleted: 'Link {{link}} deleted after {{elapsed}}.',
    interrupted:
      'Interrupted while Azure was deleting link {{link}}; the delete may still complete. Check the link (armGetLink) before doing anything else.',
    stillThere: 'Azure reported the delete of link {{link}} done, but the link still exists; check it before going on.',
    waiting: 'Deleting link {{link}}: waiting for an operation in progress: {{state}} after {{elapsed}}.',
    deletedWhileWaiting: 'Link {{link}} was deleted by the operation that was already in progress, after {{elapsed}}.',
    stillBusy:
      "ARM refused the delete of link {{link}} with {{code}} (an operation is in progress on it, perhaps this step's own earlier delete), and {{why}}. Check the link (armGetLink) before doing anything else.",
  },
  // dataLoss unless an LSN-stable wait will run (plan) or succeeded (apply) earlier in the run.
  impact: (_args, { history }) => (lsnStableEarlier(history) ? 'change' : 'dataLoss'),
  target: 'none',
  outputs: {
    deleted: { description: 'True when this step deleted the link.' },
    alreadyGone: { description: 'True when the link did not exist, so there was nothing to delete.' },
  },

  plan(ctx, args: ArmDeleteLinkArgs): StepPlanResult {
    const link = describeLink(linkIdsOf(ctx.inventory));
    const guards =
      ctx.history === undefined
        ? ['Counts as DATA LOSS unless a waitLsnStable step succeeds earlier in this run.']
        : lsnStableEarlier(ctx.history)
          ? ['Waits for LSN stability earlier in this run.']
          : ['DATA LOSS: no LSN-stable wait precedes this step.'];
    guards.push('A link that is already gone counts as success.');
    return {
      summary: `DELETE link ${link} via ARM, polling every ${durationText(args.pollInterval, ctx.defaults.pollInterval)}`,
      guards,
    };
  },

  async run(ctx, args: ArmDeleteLinkArgs) {
    const { ids, link, pollIntervalMs: intervalMs, client } = await armRunStart(ctx, args.pollInterval, ctx.defaults.pollInterval);
    const gone = () => {
      ctx.log.progress(ctx.text('alreadyGone', { link }));
      return { deleted: false, alreadyGone: true };
    };

    const started = Date.now();
    const waiting = (state: string) => ctx.log.progress(ctx.text('waiting', { link, state, elapsed: elapsedText(Date.now() - started) }));
    const wait = { pollIntervalMs: intervalMs, signal: ctx.signal, onWait: waiting };

    // Nothing is sent before the link has been read and is not busy: a failure here changed nothing.
    try {
      const existing = await getLinkDetails(client, ids, { signal: ctx.signal });
      const busy = operationInProgress(existing);
      if (busy) {
        waiting(busy);
        if (!(await waitForLinkOperation(client, ids, wait, busy))) return gone();
      }
    } catch (error) {
      if (isLinkGone(error)) return gone();
      if (error instanceof OperationStillRunning) throw armFailure(notSent(new ArmRequestError(undefined, OPERATION_STILL_IN_PROGRESS, error.message)), 'delete', link, ctx.inventory.arm);
      throw armFailure(notSent(error), 'delete', link, ctx.inventory.arm);
    }

    let firstStatus: number | undefined;
    let sent = false;
    /** An earlier DELETE (or a pipeline re-send of one) got a 5xx or no answer: it may have acted. */
    let unclearBefore = false;
    let conflictSince: number | undefined;
    let schedule: ReturnType<typeof resendSchedule> | undefined;
    const show = (status: string) => ctx.log.progress(ctx.text('deleting', { link, status, elapsed: elapsedText(Date.now() - started) }));
    for (;;) {
      firstStatus = undefined;
      let typed: Error | undefined;
      const attempts: AttemptAnswers = [];
      // Only the DELETE's own answer can show that ARM refused it, and only when nothing sent
      // before it may have acted (engine/drivers/arm/errors.ts answersChangeRequest).
      const answer = <E>(error: E): E => (!unclearBefore && onlyThrottledBefore(attempts) ? answersChangeRequest(error) : error);
      let answered = false;
      try {
        // DELETE at api-version 2025-01-01 on the client's pipeline (its retry policy rides out a
        // 429 or a 5xx: a DELETE may be sent again). @azure/arm-sql 10.0.0's beginDelete would send
        // 2021-11-01-preview.
        const res = await sendRaw(client, { method: 'DELETE', url: linkUrl(client, ids), signal: ctx.signal, attempts });
        sent = true;
        answered = true;
        firstStatus = res.status;
        if (res.status === 202) {
          ctx.log.progress(ctx.text('accepted', { link }));
          // Accepted: an error from here on is no refusal of the DELETE (engine/drivers/arm/errors.ts afterAccepted), but a link gone is what it asked for.
          await followOperation(client, res, `the delete of link ${link}`, { pollIntervalMs: intervalMs, signal: ctx.signal }, (status) =>
            show(status === '202' || /^InProgress$/i.test(status) ? 'running' : status),
          ).catch((error: unknown) => {
            throw isLinkGone(error) || ctx.signal.aborted ? error : afterAccepted(error, `the delete of link ${link}`);
          });
          break;
        }
        if (res.status === 200 || res.status === 204) break;
        typed = answer(errorFromResponse(res.status, res.bodyAsText, `the delete of link ${link}`));
      } catch (error) {
        if (ctx.signal.aborted) {
          if (!sent) throw error;
          throw ctx.outcomeUnknown('interrupted', { link });
        }
        if (error instanceof OutcomeUnknown) {
          throw /^Interrupted/.test(error.message) ? ctx.outcomeUnknown('interrupted', { link }) : error;
        }
        // Raised by the send itself (no token: it never left), or by following the accepted delete.
        typed = answered ? (error as Error) : answer(error as Error);
      }
      if (isLinkGone(typed)) return gone();
      if (!isOperationInProgress(typed)) throw armFailure(typed, 'delete', link, ctx.inventory.arm);
      unclearBefore ||= !onlyThrottledBefore(attempts);
      // Refused because an operation is in progress: wait for it to end, reading the link.
      conflictSince ??= Date.now();
      schedule ??= resendSchedule(intervalMs);
      waiting(typed.code);
      for (;;) {
        let now;
        try {
          now = await waitForLinkOperation(client, ids, { ...wait, since: conflictSince }, typed.code);
        } catch (waitError) {
          if (ctx.signal.aborted) throw ctx.outcomeUnknown('interrupted', { link });
          const why =
            waitError instanceof OperationStillRunning
              ? `it was still in progress (${waitError.state}) after ${elapsedText(waitError.waitedMs)}`
              : `the link could not be read while waiting (${(waitError as Error).message.replace(/\.$/, '')})`;
          throw ctx.outcomeUnknown('stillBusy', { link, code: typed.code, why });
        }
        if (!now) {
          ctx.log.progress(ctx.text('deletedWhileWaiting', { link, elapsed: elapsedText(Date.now() - started) }));
          return { deleted: true, alreadyGone: false };
        }
        // Still there and nothing shows in progress (a delete does not show on the link): send
        // the DELETE again now and then; while an operation runs ARM refuses it again.
        if (schedule.due()) break;
      }
    }
    // ARM's 204 on DELETE means "not found": it vanished between the check and the delete.
    if (firstStatus === 204) return gone();

    try {
      await getLinkDetails(client, ids, { signal: ctx.signal });
    } catch (error) {
      if (isLinkGone(error)) {
        ctx.log.progress(ctx.text('deleted', { link, elapsed: elapsedText(Date.now() - started) }));
        return { deleted: true, alreadyGone: false };
      }
      throw ctx.signal.aborted ? ctx.outcomeUnknown('interrupted', { link }) : afterAccepted(error, `the delete of link ${link}`);
    }
    throw ctx.outcomeUnknown('stillThere', { link });
  },

  /** Done when the link is gone; errors (ARM unreachable, an operation still in progress) propagate as unknown. */
  async verify(ctx) {
    try {
      await settledLinkForVerify(ctx);
    } catch (error) {
      if (isLinkGone(error)) return 'done';
      throw error;
    }
    return 'not-done';
  },
});
