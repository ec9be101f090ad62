// armGetLink: the link as the managed instance reports it through ARM, with the newer api-version
// (roles, replication mode, per-database LSNs), the way Get-AzSqlInstanceLink shows it. The
// @azure/arm-sql 10.0.0 client speaks an older api-version whose schema lacks these fields, so the
// read goes through its pipeline with engine/drivers/arm/client.ts. A missing link is an answer, not a failure.
import { describeLink, linkIdsOf, LINK_API_VERSION } from '../engine/drivers/arm/link-ids.js';
import { getLinkDetails } from '../engine/drivers/on-demand.js';
import { isLinkGone } from '../engine/drivers/arm/errors.js';
import { armFailure, armMessages, linkFailoverMode, primarySide } from './support/arm-link.js';
import { defineStep, isUnknown, type StepPlanResult } from '../engine/step-api/index.js';

export interface ArmGetLinkArgs {
  mustExist?: boolean;
}

export default defineStep({
  type: 'armGetLink',
  description:
    `Reads the link through ARM (api-version ${LINK_API_VERSION}): both roles, the replication mode, the failover mode and each database's LSNs, as Get-AzSqlInstanceLink shows them. A missing link gives exists: false.`,
  with: {
    type: 'object',
    additionalProperties: false,
    properties: {
      mustExist: {
        type: 'boolean',
        description: 'Fail the step when the link does not exist (by default a missing link is reported as exists: false).',
      },
    },
  },
  messages: {
    ...armMessages,
    found:
      'Link {{link}}: managed instance {{instanceRole}}, SQL Server {{partnerRole}}, replication {{mode}}, last hardened LSN {{lsn}}.',
    notFound: 'Link {{link}} does not exist on the managed instance.',
  },
  impact: 'read',
  target: 'none',
  // The link as ARM saw it then (roles, mode, LSNs); a resume reads it again.
  resultHolds: 'moment',
  outputs: {
    exists: { description: 'Whether the link exists on the managed instance.' },
    instanceLinkRole: { description: 'The managed instance side role, Primary or Secondary (null when the link does not exist).' },
    partnerLinkRole: { description: 'The SQL Server side role as the managed instance sees it, Primary or Secondary (null when missing).' },
    replicationMode: { description: "Async or Sync: the managed instance's copy of the link's mode (null when missing)." },
    failoverMode: {
      description:
        "Manual (two-way: a failover to the managed instance can be failed back) or None (one way to Azure); a link that does not show the property counts as None (null when the link is missing).",
    },
    instanceAvailabilityGroupName: {
      description: "The managed instance side's availability group: the link's member for the MI, as sys.availability_replicas names it (null when missing).",
    },
    partnerAvailabilityGroupName: { description: "SQL Server's availability group: the link's member for SQL Server (null when missing)." },
    primary: { description: 'Which side ARM reports as primary: managedInstance, sqlServer, both (split-brain) or none.' },
    lastHardenedLsn: { description: "The link database's last hardened LSN as exact decimal text (null when unknown)." },
    databases: {
      description: 'Per database: databaseName, replicaState, synchronizationHealth, connectedState and the LSNs (as text).',
    },
  },

  plan(ctx, args: ArmGetLinkArgs): StepPlanResult {
    const link = describeLink(linkIdsOf(ctx.inventory));
    const must = args.mustExist === true || isUnknown(args.mustExist);
    return {
      summary: `GET link ${link} via ARM (api-version ${LINK_API_VERSION})`,
      guards: must ? ['Needs the link to exist.'] : undefined,
    };
  },

  async run(ctx, args: ArmGetLinkArgs) {
    const ids = linkIdsOf(ctx.inventory);
    const link = describeLink(ids);
    const client = await ctx.arm();
    let details;
    try {
      details = await getLinkDetails(client, ids, { signal: ctx.signal });
    } catch (error) {
      if (isLinkGone(error) && args.mustExist !== true) {
        ctx.log.progress(ctx.text('notFound', { link }));
        return {
          exists: false,
          instanceLinkRole: null,
          partnerLinkRole: null,
          replicationMode: null,
          failoverMode: null,
          instanceAvailabilityGroupName: null,
          partnerAvailabilityGroupName: null,
          primary: 'none',
          lastHardenedLsn: null,
          databases: [],
        };
      }
      throw armFailure(error, 'read', link, ctx.inventory.arm);
    }
    const wanted = ctx.inventory.link.database.toLowerCase();
    const db = details.databases.find((d) => d.databaseName.toLowerCase() === wanted) ?? details.databases[0];
    const lastHardenedLsn = db?.lastHardenedLsn ?? null;
    ctx.log.progress(
      ctx.text('found', {
        link,
        instanceRole: details.instanceLinkRole ?? 'unknown',
        partnerRole: details.partnerLinkRole ?? 'unknown',
        mode: details.replicationMode ?? 'unknown',
        lsn: lastHardenedLsn ?? 'unknown',
      }),
    );
    return {
      exists: true,
      instanceLinkRole: details.instanceLinkRole ?? null,
      partnerLinkRole: details.partnerLinkRole ?? null,
      replicationMode: details.replicationMode ?? null,
      failoverMode: linkFailoverMode(details.failoverMode),
      instanceAvailabilityGroupName: details.instanceAvailabilityGroupName ?? null,
      partnerAvailabilityGroupName: details.partnerAvailabilityGroupName ?? null,
      primary: primarySide(details),
      lastHardenedLsn,
      databases: details.databases,
    };
  },

  // plan --probe: the same reads as a run; the outputs (and any refusal) are what a run would see now.
  probe(ctx, args: ArmGetLinkArgs) {
    return this.run(ctx, args);
  },
});
