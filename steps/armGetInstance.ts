// armGetInstance: the managed instance itself through ARM (GET managedInstances/{mi}, api-version
// 2025-01-01), for its update policy. The policy decides whether a failover to the managed
// instance can be failed back: "While you can establish a link from SQL Server 2022 to a SQL
// managed instance configured with the Always-up-to-date update policy, after failover to SQL
// Managed Instance, you will no longer be able to replicate data or fail back to SQL Server 2022"
// (MicrosoftDocs/sql-docs managed-instance-link-disaster-recovery.md), and only the SQL Server 2022
// (2025) policy can fail back to SQL Server 2022 (2025) (update-policy.md). ARM shows the policy as
// `databaseFormat` (azure-rest-api-specs ManagedInstances.json 2025-01-01: AlwaysUpToDate,
// SQLServer2022, SQLServer2025). Given SQL Server's version, the step also says whether they match.
import { describeLink, linkIdsOf, LINK_API_VERSION } from '../engine/drivers/arm/link-ids.js';
import { getInstanceDetails } from '../engine/drivers/on-demand.js';
import { armFailure, armMessages, updatePolicyOf } from './support/arm-link.js';
import { defineStep, isUnknown, shown, type StepPlanResult } from '../engine/step-api/index.js';

export interface ArmGetInstanceArgs {
  sqlServerVersion?: string;
}

/** The major version of a ProductVersion such as 16.0.4125.3, or undefined. */
function majorOf(version: string): number | undefined {
  const m = /^\s*(\d+)\./.exec(version);
  return m ? Number(m[1]) : undefined;
}

export default defineStep({
  type: 'armGetInstance',
  description:
    `Reads the managed instance through ARM (GET managedInstances/{mi}, api-version ${LINK_API_VERSION}): its update policy (databaseFormat), which decides whether a failover to it can be failed back to SQL Server, and, given SQL Server's version, whether the two match. Changes nothing.`,
  with: {
    type: 'object',
    additionalProperties: false,
    properties: {
      sqlServerVersion: {
        type: 'string',
        description:
          "SQL Server's ProductVersion (e.g. {{steps.sql-version.outputs.first.version}}): matchesSqlServer then says whether the update policy allows failing back to it (SQL Server 2022 policy for 16.x, SQL Server 2025 policy for 17.x).",
      },
    },
  },
  messages: {
    ...armMessages,
    policy: 'Managed instance {{instance}}: update policy {{policy}} (databaseFormat {{format}}){{judgement}}.',
  },
  impact: 'read',
  target: 'none',
  // The instance as ARM saw it then; a resume reads it again (a policy can change, once: update-policy.md).
  resultHolds: 'moment',
  outputs: {
    databaseFormat: { description: 'The databaseFormat ARM shows, spelled as the spec does (AlwaysUpToDate, SQLServer2022, SQLServer2025), or as sent if unknown; null when absent.' },
    updatePolicy: { description: 'The update policy in words: SQL Server 2022, SQL Server 2025, Always-up-to-date, or unknown (...).' },
    failBackMajor: { description: 'The SQL Server major version this policy can fail back to through the link (16 or 17), or null (Always-up-to-date, unknown).' },
    matchesSqlServer: { description: 'With sqlServerVersion: true when the policy can fail back to that SQL Server, else false; null without sqlServerVersion.' },
  },

  plan(ctx, args: ArmGetInstanceArgs): StepPlanResult {
    const mi = ctx.inventory.link.managedInstance;
    const against = args.sqlServerVersion === undefined ? '' : `; compared with SQL Server ${isUnknown(args.sqlServerVersion) ? '(known after apply)' : shown(args.sqlServerVersion)}`;
    return { summary: `GET managed instance ${mi.name} (${mi.resourceGroup}/${mi.subscriptionId}) via ARM (api-version ${LINK_API_VERSION}): its update policy${against}` };
  },

  async run(ctx, args: ArmGetInstanceArgs) {
    const ids = linkIdsOf(ctx.inventory);
    let details;
    try {
      details = await getInstanceDetails(await ctx.arm(), ids, { signal: ctx.signal });
    } catch (error) {
      throw armFailure(error, 'read the managed instance of', describeLink(ids), ctx.inventory.arm);
    }
    const policy = updatePolicyOf(details.databaseFormat);
    let matchesSqlServer: boolean | null = null;
    let judgement = '';
    if (args.sqlServerVersion !== undefined) {
      const major = majorOf(args.sqlServerVersion);
      matchesSqlServer = major !== undefined && policy.failBackMajor === major;
      judgement = matchesSqlServer
        ? `; it can fail back to SQL Server ${args.sqlServerVersion}`
        : `; it cannot fail back to SQL Server ${args.sqlServerVersion}`;
    }
    ctx.log.info(ctx.text('policy', { instance: details.name, policy: policy.policy, format: policy.databaseFormat ?? 'absent', judgement }));
    return {
      databaseFormat: policy.databaseFormat,
      updatePolicy: policy.policy,
      failBackMajor: policy.failBackMajor,
      matchesSqlServer,
    };
  },

  // plan --probe: the same read as a run.
  probe(ctx, args: ArmGetInstanceArgs) {
    return this.run(ctx, args);
  },
});
