// armDeleteLink: removes the link on the managed instance side through ARM (what
// Remove-AzSqlInstanceLink does), following the long-running delete with progress lines.
// Deleting a link whose LSNs were not proven equal can lose the transactions the secondary had not
// hardened, so the step is `dataLoss` unless a waitLsnStable step succeeded earlier in the run.
// A link that is already gone is success, reported as such, so the step can be re-run.
import { armEndpointOf, describeLink, getLinkDetails, linkIdsOf } from '../engine/arm.js';
import { fromSdkError, isLinkGone } from '../engine/arm-errors.js';
import { armFailure, armMessages, elapsedText, historyOf, lsnStableEarlier, armRunStart, pollIntervalProperty } from '../engine/arm-step.js';
import { OutcomeUnknown } from '../engine/errors.js';
import { durationText } from '../engine/step-args.js';
import { defineMessages, reporter } from '../engine/step-messages.js';
import type { Impact, ImpactContext, StepDefinition, StepPlanResult } from '../engine/types.js';

export interface ArmDeleteLinkArgs {
  pollInterval?: string;
}

export const DEFAULT_POLL_INTERVAL = '10s';

export const messages = defineMessages({
  ...armMessages,
  alreadyGone: 'Link {{link}} is already gone; nothing to delete.',
  accepted: 'Azure accepted the delete of link {{link}}.',
  deleting: 'Deleting link {{link}}: {{status}} after {{elapsed}}.',
  deleted: 'Link {{link}} deleted after {{elapsed}}.',
  interrupted:
    'Interrupted while Azure was deleting link {{link}}; the delete may still complete. Check the link (armGetLink) before doing anything else.',
  stillThere: 'Azure reported the delete of link {{link}} done, but the link still exists; check it before going on.',
});

const report = reporter(messages);

/** dataLoss unless an LSN-stable wait will run (plan) or succeeded (apply) earlier in the run. */
export function deleteImpact(_args: ArmDeleteLinkArgs, ctx: ImpactContext): Impact {
  return lsnStableEarlier(historyOf(ctx)) ? 'change' : 'dataLoss';
}

const definition: StepDefinition<ArmDeleteLinkArgs> = {
  type: 'armDeleteLink',
  description:
    'Deletes the link on the managed instance side through ARM and follows the long-running delete. Counts as dataLoss unless a waitLsnStable step succeeded earlier in the run; a link that is already gone is success.',
  withSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      pollInterval: pollIntervalProperty('the delete', DEFAULT_POLL_INTERVAL),
    },
  },
  impact: deleteImpact,
  target: 'none',
  outputs: {
    deleted: { description: 'True when this step deleted the link.' },
    alreadyGone: { description: 'True when the link did not exist, so there was nothing to delete.' },
  },

  plan(ctx, args): StepPlanResult {
    const link = describeLink(linkIdsOf(ctx.inventory));
    const guards =
      ctx.history === undefined
        ? ['Counts as DATA LOSS unless a waitLsnStable step succeeds earlier in this run.']
        : lsnStableEarlier(ctx.history)
          ? ['Waits for LSN stability earlier in this run.']
          : ['DATA LOSS: no LSN-stable wait precedes this step.'];
    guards.push('A link that is already gone counts as success.');
    return {
      summary: `DELETE link ${link} via ARM, polling every ${durationText(args.pollInterval, DEFAULT_POLL_INTERVAL)}`,
      guards,
    };
  },

  async run(ctx, args) {
    const { ids, link, pollIntervalMs: intervalMs, client } = await armRunStart(ctx, args.pollInterval, DEFAULT_POLL_INTERVAL);
    const gone = () => {
      ctx.log.progress(report.text('alreadyGone', { link }));
      return { deleted: false, alreadyGone: true };
    };

    try {
      await getLinkDetails(client, ids, { signal: ctx.signal });
    } catch (error) {
      if (isLinkGone(error)) return gone();
      throw armFailure(error, 'delete', link);
    }

    const started = Date.now();
    let firstStatus: number | undefined;
    let lastBody: string | undefined;
    let sent = false;
    try {
      const poller = await client.distributedAvailabilityGroups.beginDelete(ids.resourceGroup, ids.managedInstance, ids.name, {
        updateIntervalInMs: intervalMs,
        abortSignal: ctx.signal,
        onResponse: (raw) => {
          sent = true;
          firstStatus ??= raw.status;
          lastBody = raw.bodyAsText ?? undefined;
        },
      });
      if (firstStatus === 202) ctx.log.progress(report.text('accepted', { link }));
      const show = (status: string) =>
        ctx.log.progress(report.text('deleting', { link, status, elapsed: elapsedText(Date.now() - started) }));
      // beginDelete has already polled once; show that state, then every later poll.
      if (firstStatus === 202) show(poller.getOperationState().status);
      poller.onProgress((state) => show(state.status));
      await poller.pollUntilDone({ abortSignal: ctx.signal });
    } catch (error) {
      if (ctx.signal.aborted) {
        if (!sent) throw error;
        throw new OutcomeUnknown(report.text('interrupted', { link }));
      }
      const typed = fromSdkError(error, `the delete of link ${link}`, armEndpointOf(client), lastBody);
      if (isLinkGone(typed)) return gone();
      throw armFailure(typed, 'delete', link);
    }
    // ARM's 204 on DELETE means "not found": it vanished between the check and the delete.
    if (firstStatus === 204) return gone();

    try {
      await getLinkDetails(client, ids, { signal: ctx.signal });
    } catch (error) {
      if (isLinkGone(error)) {
        ctx.log.progress(report.text('deleted', { link, elapsed: elapsedText(Date.now() - started) }));
        return { deleted: true, alreadyGone: false };
      }
      throw armFailure(error, 'delete', link);
    }
    throw new OutcomeUnknown(report.text('stillThere', { link }));
  },
};

/** Done when the link is gone; errors (ARM unreachable) propagate as unknown. */
definition.verify = async (ctx) => {
  const client = await ctx.arm();
  try {
    await getLinkDetails(client, linkIdsOf(ctx.inventory), { signal: ctx.signal });
  } catch (error) {
    if (isLinkGone(error)) return 'done';
    throw error;
  }
  return 'not-done';
};

export default definition;
