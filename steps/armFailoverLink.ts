// armFailoverLink: the ARM failover action on the link (what Start-AzSqlInstanceLinkFailover
// calls), for operators who fail over from the Azure side. @azure/arm-sql 10.0.0 has no such
// operation, so engine/drivers/arm/link-action.ts posts it on the client's pipeline and follows it to the end,
// never letting the retry policy re-send it blindly.
import { describeLink, linkIdsOf, LINK_API_VERSION } from '../engine/drivers/arm/link-ids.js';
import { postLinkAction } from '../engine/drivers/on-demand.js';
import type { FailoverBody } from '../engine/drivers/arm/link-action.js';
import { armFailure, armMessages, elapsedText, PHASE_TEXT, instanceRoleVerdict, roleChangeOutputs, armRunStart, pollIntervalProperty, settledLinkForVerify } from './support/arm-link.js';
import { defineStep, durationText, isUnknown, shown, type StepPlanResult } from '../engine/step-api/index.js';

export interface ArmFailoverLinkArgs {
  failoverType: FailoverBody['failoverType'];
  pollInterval?: string;
  expectInstanceRole?: 'Primary' | 'Secondary';
}

export default defineStep({
  type: 'armFailoverLink',
  description:
    `Fails the link over through ARM (POST .../failover, api-version ${LINK_API_VERSION}), as Start-AzSqlInstanceLinkFailover does. Planned is a change; ForcedAllowDataLoss is dataLoss.`,
  with: {
    type: 'object',
    additionalProperties: false,
    required: ['failoverType'],
    properties: {
      failoverType: {
        enum: ['Planned', 'ForcedAllowDataLoss'],
        description:
          'Planned: Azure refuses unless the secondary is synchronizing, no data is lost. ForcedAllowDataLoss: fail over now; transactions not yet on the secondary are lost.',
      },
      pollInterval: pollIntervalProperty('the operation', '5s'),
      expectInstanceRole: {
        enum: ['Primary', 'Secondary'],
        description:
          'The managed instance role once the failover is done. Lets the engine verify, on resume or after a lost answer, whether the failover already happened instead of sending it again.',
      },
    },
  },
  defaults: { pollInterval: '5s' },
  messages: {
    ...armMessages,
    progress: 'Failover ({{type}}) of link {{link}}: {{phase}} {{status}} after {{elapsed}}.',
    done: 'Failover ({{type}}) of link {{link}} done: managed instance {{instanceRole}}, SQL Server {{partnerRole}}.',
    confirmed: 'ARM answered the failover of link {{link}} ambiguously, but the link already shows the new roles.',
    rolesUnchanged:
      'Azure reported the failover of link {{link}} done, but the managed instance is still {{instanceRole}}; check the link.',
  },
  // Planned waits for the secondary to be in sync; forced does not, so it can lose transactions.
  impact: (args: ArmFailoverLinkArgs) => (args.failoverType === 'Planned' ? 'change' : 'dataLoss'),
  target: 'none',
  outputs: {
    instanceLinkRole: { description: 'The managed instance role after the failover (Primary or Secondary).' },
    partnerLinkRole: { description: 'The SQL Server role after the failover, as the managed instance sees it.' },
    previousInstanceLinkRole: { description: 'The managed instance role before the failover.' },
    primary: { description: 'Which side ARM reports as primary afterwards: managedInstance, sqlServer, both or none.' },
  },

  plan(ctx, args: ArmFailoverLinkArgs): StepPlanResult {
    const link = describeLink(linkIdsOf(ctx.inventory));
    const type = shown(args.failoverType);
    const guards =
      args.failoverType === 'Planned'
        ? ['Azure refuses a planned failover unless the secondary is synchronizing.']
        : [
            isUnknown(args.failoverType)
              ? 'DATA LOSS unless the failover type turns out to be Planned.'
              : 'DATA LOSS: a forced failover does not wait for the secondary; transactions it has not received are lost.',
          ];
    guards.push('Never re-sent after an unclear answer without first reading the link state.');
    return {
      summary: `FAILOVER (${type}) link ${link} via ARM, polling every ${durationText(args.pollInterval, ctx.defaults.pollInterval)}`,
      guards,
    };
  },

  async run(ctx, args: ArmFailoverLinkArgs) {
    const { ids, link, pollIntervalMs, client } = await armRunStart(ctx, args.pollInterval, ctx.defaults.pollInterval);
    let result;
    try {
      result = await postLinkAction(client, ids, 'failover', { failoverType: args.failoverType }, {
        pollIntervalMs,
        signal: ctx.signal,
        onProgress: (p) =>
          ctx.log.progress(
            ctx.text('progress', { type: args.failoverType, link, phase: PHASE_TEXT[p.phase], status: p.status, elapsed: elapsedText(p.elapsedMs) }),
          ),
      });
    } catch (error) {
      throw armFailure(error, 'fail over', link, ctx.inventory.arm);
    } finally {
      ctx.invalidateRoles?.();
    }
    const { before, after } = result;
    if (result.confirmedByState) ctx.log.warn(ctx.text('confirmed', { link }));
    if (after.instanceLinkRole === before.instanceLinkRole) {
      ctx.log.warn(ctx.text('rolesUnchanged', { link, instanceRole: after.instanceLinkRole ?? 'unknown' }));
    }
    ctx.log.progress(
      ctx.text('done', {
        type: args.failoverType,
        link,
        instanceRole: after.instanceLinkRole ?? 'unknown',
        partnerRole: after.partnerLinkRole ?? 'unknown',
      }),
    );
    return roleChangeOutputs(before, after);
  },

  /** Done when the managed instance has the role `expectInstanceRole` names (once no operation is in progress); unknown without it. */
  async verify(ctx, args: ArmFailoverLinkArgs) {
    if (!args.expectInstanceRole) return 'unknown';
    return instanceRoleVerdict(await settledLinkForVerify(ctx), args.expectInstanceRole);
  },
});
