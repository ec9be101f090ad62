// armSetRole: the ARM setRole action on the link: makes the managed instance Primary or Secondary.
// It is how the managed instance side is demoted when resolving a split-brain, and how it is
// forced to primary when SQL Server is lost. @azure/arm-sql 10.0.0 lacks it, so it goes through
// engine/drivers/arm/link-action.ts like the failover.
import { describeLink, linkIdsOf, LINK_API_VERSION } from '../engine/drivers/arm/link-ids.js';
import { postLinkAction } from '../engine/drivers/on-demand.js';
import type { SetRoleBody } from '../engine/drivers/arm/link-action.js';
import { armFailure, armMessages, elapsedText, PHASE_TEXT, instanceRoleVerdict, roleChangeOutputs, armRunStart, pollIntervalProperty, settledLinkForVerify } from './support/arm-link.js';
import { defineStep, durationText, isUnknown, shown, type StepPlanResult } from '../engine/step-api/index.js';

export interface ArmSetRoleArgs {
  instanceRole: SetRoleBody['instanceRole'];
  roleChangeType: SetRoleBody['roleChangeType'];
  pollInterval?: string;
}

function whatItDoes(role: unknown, type: unknown): string {
  if (role === 'Primary' && type === 'Forced') {
    return 'DATA LOSS: makes the managed instance primary without waiting for it to catch up; transactions it has not received are lost.';
  }
  if (role === 'Primary') return 'Makes the managed instance primary (Azure may require Forced for this direction).';
  if (role === 'Secondary') {
    return 'Demotes the managed instance to secondary; changes made on it that the other side lacks are discarded when it resynchronizes, so back it up first.';
  }
  return 'Sets the managed instance role once the arguments are known; counted as DATA LOSS until then.';
}

export default defineStep({
  type: 'armSetRole',
  description:
    `Sets the managed instance role in the link through ARM (POST .../setRole, api-version ${LINK_API_VERSION}). Forced to Primary is dataLoss; everything else is a change.`,
  with: {
    type: 'object',
    additionalProperties: false,
    required: ['instanceRole', 'roleChangeType'],
    properties: {
      instanceRole: {
        enum: ['Primary', 'Secondary'],
        description: 'The role the managed instance should have afterwards.',
      },
      roleChangeType: {
        enum: ['Planned', 'Forced'],
        description: 'Planned waits for the replicas to agree; Forced changes the role now (Forced to Primary can lose data).',
      },
      pollInterval: pollIntervalProperty('the operation', '5s'),
    },
  },
  defaults: { pollInterval: '5s' },
  messages: {
    ...armMessages,
    progress: 'Setting the managed instance role in link {{link}} to {{role}} ({{type}}): {{phase}} {{status}} after {{elapsed}}.',
    done: 'Managed instance role in link {{link}} is now {{instanceRole}}; SQL Server is {{partnerRole}}.',
  },
  // Forcing the managed instance to primary does not wait for it to catch up: data loss.
  impact: (args: ArmSetRoleArgs) => {
    if (isUnknown(args.instanceRole) || isUnknown(args.roleChangeType)) return 'dataLoss';
    return args.instanceRole === 'Primary' && args.roleChangeType === 'Forced' ? 'dataLoss' : 'change';
  },
  target: 'none',
  outputs: {
    instanceLinkRole: { description: 'The managed instance role afterwards (Primary or Secondary).' },
    partnerLinkRole: { description: 'The SQL Server role afterwards, as the managed instance sees it.' },
    previousInstanceLinkRole: { description: 'The managed instance role before the step.' },
    primary: { description: 'Which side ARM reports as primary afterwards: managedInstance, sqlServer, both or none.' },
  },

  plan(ctx, args: ArmSetRoleArgs): StepPlanResult {
    const link = describeLink(linkIdsOf(ctx.inventory));
    return {
      summary:
        `SET ROLE of managed instance ${linkIdsOf(ctx.inventory).managedInstance} to ${shown(args.instanceRole)} ` +
        `(${shown(args.roleChangeType)}) in link ${link} via ARM, polling every ${durationText(args.pollInterval, ctx.defaults.pollInterval)}`,
      guards: [whatItDoes(args.instanceRole, args.roleChangeType), 'Never re-sent after an unclear answer without first reading the link state.'],
    };
  },

  async run(ctx, args: ArmSetRoleArgs) {
    const { ids, link, pollIntervalMs, client } = await armRunStart(ctx, args.pollInterval, ctx.defaults.pollInterval);
    let result;
    try {
      result = await postLinkAction(
        client,
        ids,
        'setRole',
        { instanceRole: args.instanceRole, roleChangeType: args.roleChangeType },
        {
          pollIntervalMs,
          signal: ctx.signal,
          onProgress: (p) =>
            ctx.log.progress(
              ctx.text('progress', {
                link,
                role: args.instanceRole,
                type: args.roleChangeType,
                phase: PHASE_TEXT[p.phase],
                status: p.status,
                elapsed: elapsedText(p.elapsedMs),
              }),
            ),
        },
      );
    } catch (error) {
      throw armFailure(error, 'set the role in', link, ctx.inventory.arm);
    } finally {
      ctx.invalidateRoles?.();
    }
    const { before, after } = result;
    ctx.log.progress(
      ctx.text('done', { link, instanceRole: after.instanceLinkRole ?? 'unknown', partnerRole: after.partnerLinkRole ?? 'unknown' }),
    );
    return roleChangeOutputs(before, after);
  },

  /** Done when the managed instance already has the requested role (once no operation is in progress). */
  async verify(ctx, args: ArmSetRoleArgs) {
    return instanceRoleVerdict(await settledLinkForVerify(ctx), args.instanceRole);
  },
});
