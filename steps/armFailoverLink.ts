// armFailoverLink: the ARM failover action on the link (what Start-AzSqlInstanceLinkFailover
// calls), for operators who fail over from the Azure side. @azure/arm-sql 10.0.0 has no such
// operation, so engine/drivers/arm/lro.ts posts it on the client's pipeline and follows it to the end,
// never letting the retry policy re-send it blindly.
import { describeLink, linkIdsOf, LINK_API_VERSION } from '../engine/drivers/arm/client.js';
import { postLinkAction, type FailoverBody, type LinkActionProgress } from '../engine/drivers/arm/lro.js';
import { armFailure, armMessages, elapsedText, instanceRoleVerdict, roleChangeOutputs, armRunStart, pollIntervalProperty, settledLinkForVerify } from './support/arm-link.js';
import { durationText, isUnknown, shown } from '../engine/step-api/args.js';
import { defineMessages, stepMessages } from '../engine/step-api/messages.js';
import type { Impact } from '../engine/core/types.js';
import type { StepDefinition, StepPlanResult } from '../engine/step-api/types.js';

export interface ArmFailoverLinkArgs {
  failoverType: FailoverBody['failoverType'];
  pollInterval?: string;
  expectInstanceRole?: 'Primary' | 'Secondary';
}

export const DEFAULT_POLL_INTERVAL = '5s';

export const messages = defineMessages({
  ...armMessages,
  progress: 'Failover ({{type}}) of link {{link}}: {{phase}} {{status}} after {{elapsed}}.',
  done: 'Failover ({{type}}) of link {{link}} done: managed instance {{instanceRole}}, SQL Server {{partnerRole}}.',
  confirmed: 'ARM answered the failover of link {{link}} ambiguously, but the link already shows the new roles.',
  rolesUnchanged:
    'Azure reported the failover of link {{link}} done, but the managed instance is still {{instanceRole}}; check the link.',
});

const report = stepMessages(messages);

/** Planned waits for the secondary to be in sync; forced does not, so it can lose transactions. */
export function failoverImpact(args: Partial<ArmFailoverLinkArgs>): Impact {
  return args.failoverType === 'Planned' ? 'change' : 'dataLoss';
}

export function progressText(type: string, link: string, p: LinkActionProgress): string {
  const phase = {
    accepted: 'accepted',
    running: 'running',
    checking: 'checking the link after',
    resending: 'sending again after',
    waiting: 'waiting for an operation in progress:',
  }[p.phase];
  return report.text('progress', { type, link, phase, status: p.status, elapsed: elapsedText(p.elapsedMs) });
}

const definition: StepDefinition<ArmFailoverLinkArgs> = {
  type: 'armFailoverLink',
  description:
    `Fails the link over through ARM (POST .../failover, api-version ${LINK_API_VERSION}), as Start-AzSqlInstanceLinkFailover does. Planned is a change; ForcedAllowDataLoss is dataLoss.`,
  withSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['failoverType'],
    properties: {
      failoverType: {
        enum: ['Planned', 'ForcedAllowDataLoss'],
        description:
          'Planned: Azure refuses unless the secondary is synchronizing, no data is lost. ForcedAllowDataLoss: fail over now; transactions not yet on the secondary are lost.',
      },
      pollInterval: pollIntervalProperty('the operation', DEFAULT_POLL_INTERVAL),
      expectInstanceRole: {
        enum: ['Primary', 'Secondary'],
        description:
          'The managed instance role once the failover is done. Lets the engine verify, on resume or after a lost answer, whether the failover already happened instead of sending it again.',
      },
    },
  },
  impact: failoverImpact,
  target: 'none',
  outputs: {
    instanceLinkRole: { description: 'The managed instance role after the failover (Primary or Secondary).' },
    partnerLinkRole: { description: 'The SQL Server role after the failover, as the managed instance sees it.' },
    previousInstanceLinkRole: { description: 'The managed instance role before the failover.' },
    primary: { description: 'Which side ARM reports as primary afterwards: managedInstance, sqlServer, both or none.' },
  },

  plan(ctx, args): StepPlanResult {
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
      summary: `FAILOVER (${type}) link ${link} via ARM, polling every ${durationText(args.pollInterval, DEFAULT_POLL_INTERVAL)}`,
      guards,
    };
  },

  async run(ctx, args) {
    const { ids, link, pollIntervalMs, client } = await armRunStart(ctx, args.pollInterval, DEFAULT_POLL_INTERVAL);
    let result;
    try {
      result = await postLinkAction(client, ids, 'failover', { failoverType: args.failoverType }, {
        pollIntervalMs,
        signal: ctx.signal,
        onProgress: (p) => ctx.log.progress(progressText(args.failoverType, link, p)),
      });
    } catch (error) {
      throw armFailure(error, 'fail over', link);
    } finally {
      ctx.invalidateRoles?.();
    }
    const { before, after } = result;
    if (result.confirmedByState) ctx.log.warn(report.text('confirmed', { link }));
    if (after.instanceLinkRole === before.instanceLinkRole) {
      ctx.log.warn(report.text('rolesUnchanged', { link, instanceRole: after.instanceLinkRole ?? 'unknown' }));
    }
    ctx.log.progress(
      report.text('done', {
        type: args.failoverType,
        link,
        instanceRole: after.instanceLinkRole ?? 'unknown',
        partnerRole: after.partnerLinkRole ?? 'unknown',
      }),
    );
    return roleChangeOutputs(before, after);
  },
};

/** Done when the managed instance has the role `expectInstanceRole` names (once no operation is in progress); unknown without it. */
definition.verify = async (ctx, args) => {
  if (!args.expectInstanceRole) return 'unknown';
  return instanceRoleVerdict(await settledLinkForVerify(ctx), args.expectInstanceRole);
};

export default definition;
