// armSetReplicationMode: the managed instance side's copy of the link's availability mode, set
// through ARM (PATCH .../distributedAvailabilityGroups/<link> {"properties":{"replicationMode":...}},
// api-version 2025-01-01), as Update-AzSqlInstanceLink -ReplicationMode does. A distributed AG
// keeps the mode on each side: ALTER AVAILABILITY GROUP ... MODIFY on SQL Server changes SQL
// Server's copy only ("This command must be repeated on both the primary availability group and
// secondary availability group instances", MicrosoftDocs/sql-docs,
// alter-availability-group-transact-sql.md), and the link's older scripts set the MI's with
// Update-AzSqlInstanceLink -ReplicationMode Sync (managed-instance-link-configure-how-to-
// scripts.md, "Switch the replication mode"). It reads the link first and sends nothing when the
// mode is already the one asked for; afterwards it reads the link again and fails unless ARM
// reports that mode.
import { describeLink, linkIdsOf, LINK_API_VERSION } from '../engine/drivers/arm/link-ids.js';
import { notSent } from '../engine/drivers/arm/errors.js';
import { getLinkDetails, postLinkAction } from '../engine/drivers/on-demand.js';
import type { ReplicationModeBody } from '../engine/drivers/arm/link-action.js';
import { armFailure, armMessages, armRunStart, elapsedText, PHASE_TEXT, pollIntervalProperty, settledLinkForVerify } from './support/arm-link.js';
import { defineStep, durationText, shown, type StepPlanResult } from '../engine/step-api/index.js';

export interface ArmSetReplicationModeArgs {
  replicationMode: ReplicationModeBody['properties']['replicationMode'];
  pollInterval?: string;
}

const same = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

export default defineStep({
  type: 'armSetReplicationMode',
  description:
    `Sets the managed instance's copy of the link's availability mode through ARM (PATCH replicationMode, api-version ${LINK_API_VERSION}), as Update-AzSqlInstanceLink -ReplicationMode does; SQL Server's copy is changed with T-SQL on SQL Server. Sends nothing when ARM already reports the mode.`,
  with: {
    type: 'object',
    additionalProperties: false,
    required: ['replicationMode'],
    properties: {
      replicationMode: {
        enum: ['Async', 'Sync'],
        description: 'Sync (synchronous commit, what a planned failover needs on both sides) or Async (asynchronous commit, the link default).',
      },
      pollInterval: pollIntervalProperty('the update', '5s'),
    },
  },
  defaults: { pollInterval: '5s' },
  messages: {
    ...armMessages,
    already: 'Link {{link}}: the managed instance already has replication mode {{mode}}; nothing sent.',
    progress: 'Setting the replication mode of link {{link}} on the managed instance to {{mode}}: {{phase}} {{status}} after {{elapsed}}.',
    done: 'Link {{link}}: the managed instance now has replication mode {{mode}} (was {{previous}}).',
    notApplied: 'ARM accepted the change of link {{link}} to replication mode {{mode}}, but the link reports {{actual}} afterwards.',
  },
  impact: 'change',
  target: 'none',
  outputs: {
    replicationMode: { description: "The managed instance's replication mode afterwards, as ARM reports it (Async or Sync)." },
    previousReplicationMode: { description: 'The replication mode before the step.' },
    changed: { description: 'True when the step sent the change; false when the mode already was the one asked for.' },
  },

  plan(ctx, args: ArmSetReplicationModeArgs): StepPlanResult {
    const link = describeLink(linkIdsOf(ctx.inventory));
    return {
      summary:
        `PATCH replicationMode of link ${link} to ${shown(args.replicationMode)} via ARM (the managed instance's side of the link), ` +
        `polling every ${durationText(args.pollInterval, ctx.defaults.pollInterval)}`,
      guards: ['Reads the link first and sends nothing when the mode is already set; fails unless ARM reports the mode afterwards.'],
    };
  },

  async run(ctx, args: ArmSetReplicationModeArgs) {
    const { ids, link, pollIntervalMs, client } = await armRunStart(ctx, args.pollInterval, ctx.defaults.pollInterval);
    const mode = args.replicationMode;
    let before;
    try {
      before = await getLinkDetails(client, ids, { signal: ctx.signal });
    } catch (error) {
      // Before anything was sent: nothing changed, whatever the read met.
      throw armFailure(notSent(error), 'change the replication mode of', link, ctx.inventory.arm);
    }
    if (same(before.replicationMode, mode)) {
      ctx.log.info(ctx.text('already', { link, mode }));
      return { replicationMode: before.replicationMode ?? mode, previousReplicationMode: before.replicationMode ?? null, changed: false };
    }
    let result;
    try {
      result = await postLinkAction(client, ids, 'update', { properties: { replicationMode: mode } }, {
        pollIntervalMs,
        signal: ctx.signal,
        onProgress: (p) =>
          ctx.log.progress(ctx.text('progress', { link, mode, phase: PHASE_TEXT[p.phase], status: p.status, elapsed: elapsedText(p.elapsedMs) })),
      });
    } catch (error) {
      throw armFailure(error, 'change the replication mode of', link, ctx.inventory.arm);
    }
    const actual = result.after.replicationMode;
    if (!same(actual, mode)) throw ctx.fail('notApplied', { link, mode, actual: actual ?? 'no mode' });
    ctx.log.progress(ctx.text('done', { link, mode: actual!, previous: before.replicationMode ?? 'unknown' }));
    return { replicationMode: actual!, previousReplicationMode: before.replicationMode ?? null, changed: true };
  },

  /** Done when ARM reports the mode asked for (once no operation is in progress on the link). */
  async verify(ctx, args: ArmSetReplicationModeArgs) {
    const link = await settledLinkForVerify(ctx);
    if (link.replicationMode === undefined) return 'unknown';
    return same(link.replicationMode, args.replicationMode) ? 'done' : 'not-done';
  },
});
