// sqlServerVersion: SQL Server's ProductVersion and what it allows the link to do. The link fails
// over with Transact-SQL (ALTER AVAILABILITY GROUP ... FAILOVER or FORCE_FAILOVER_ALLOW_DATA_LOSS)
// only "starting with SQL Server 2022 CU13 (KB5036432)" (MicrosoftDocs/sql-docs,
// azure-sql/managed-instance/managed-instance-link-failover-how-to.md), which is 16.0.4125.3
// (MicrosoftDocs/SupportArticles-docs, sqlserver-2022/cumulativeupdate13.md); before it, "Failing
// over a database in SQL Server 2019 and earlier versions breaks and removes the link" (same
// article), and the documented way to make the MI primary is removing the link. "Starting with"
// is read as including later versions (SQL Server 2025, 17.x).
//
// In a disaster SQL Server may be the replica that cannot be reached, and then its version
// cannot be read: the step says so (known: false) unless the runbook gives the version to assume
// (`ifUnreachable`, an operator's statement). A SQL Server that answers but refuses us (login,
// TLS) is up, not unreachable: that fails the step.
import { classifyConnectFailure } from '../engine/drivers/sql/connect-failure.js';
import { runSql } from '../engine/drivers/on-demand.js';
import { defineStep, isUnknown, shown } from '../engine/step-api/index.js';

export interface SqlServerVersionArgs {
  ifUnreachable?: string;
}

/** SQL Server 2022 CU13: the first build whose link fails over with T-SQL. */
export const LINK_TSQL_FAILOVER_FROM = '16.0.4125';

export const VERSION_QUERY = `SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS version;`;

const VERSION = /^\d+(\.\d+){1,3}$/;

/** Dotted versions compared part by part; missing parts are 0. */
export function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

export default defineStep({
  type: 'sqlServerVersion',
  description:
    "Reads SQL Server's ProductVersion and whether the link can fail over with T-SQL there (SQL Server 2022 CU13, 16.0.4125, or later); tolerates an unreachable SQL Server (the version is then unknown, or the one the runbook says to assume). Changes nothing.",
  with: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ifUnreachable: {
        type: 'string',
        pattern: '^$|^\\d+(\\.\\d+){1,3}$|\\{\\{.*\\}\\}',
        description:
          "The ProductVersion to assume when SQL Server cannot be reached (e.g. 16.0.4135.4), as the operator knows it; empty or absent: the version is unknown then. Never used when SQL Server answers.",
      },
    },
  },
  messages: {
    read: 'SQL Server {{version}}: {{verdict}}.',
    assumed: 'SQL Server cannot be reached ({{error}}); assuming version {{version}} as given: {{verdict}}.',
    unknown: 'SQL Server cannot be reached ({{error}}), so its version is unknown.',
    badVersion: 'Expected a version such as 16.0.4125.3 to assume, got {{value}}.',
    odd: 'SQL Server answered with a version that is not one: {{value}}.',
    supports: 'The link can fail over with T-SQL (2022 CU13, 16.0.4125, or later).',
    older: 'Older than SQL Server 2022 CU13 (16.0.4125): the link cannot fail over with T-SQL; removing it is the documented way to make the managed instance primary.',
  },
  impact: 'read',
  target: 'none',
  // A version does not change between two steps, but the reachability of SQL Server does: read again on resume.
  resultHolds: 'moment',
  outputs: {
    version: { description: "SQL Server's ProductVersion, or the one assumed, or null when unknown." },
    source: { description: 'Where the version came from: server, assumed (ifUnreachable) or null when unknown.' },
    known: { description: 'Whether the version is known (read or assumed).' },
    reachable: { description: 'Whether SQL Server answered.' },
    linkFailover: { description: 'True when the version is known and the link can fail over with T-SQL (16.0.4125 or later); false otherwise.' },
    major: { description: 'The major version (16 for 2022, 15 for 2019), or null when unknown.' },
  },

  plan(_ctx, args: SqlServerVersionArgs) {
    const assume = args.ifUnreachable === undefined || args.ifUnreachable === '' ? undefined : isUnknown(args.ifUnreachable) ? '(known after apply)' : shown(args.ifUnreachable);
    return {
      summary: `Read SQL Server's version (T-SQL link failover needs ${LINK_TSQL_FAILOVER_FROM} or later)`,
      sql: [{ target: 'sqlServer', text: VERSION_QUERY }],
      guards: [assume ? `If SQL Server cannot be reached, assumes version ${assume}` : 'If SQL Server cannot be reached, the version is unknown'],
    };
  },

  async run(ctx, args: SqlServerVersionArgs) {
    // A sentence of its own, inside another here: lower-case first letter, no full stop.
    const verdict = (version: string) => {
      const text = ctx.text(versionAtLeast(version, LINK_TSQL_FAILOVER_FROM) ? 'supports' : 'older').replace(/\.$/, '');
      return text.charAt(0).toLowerCase() + text.slice(1);
    };
    const result = (version: string | null, source: 'server' | 'assumed' | null, reachable: boolean) => ({
      version,
      source,
      known: version !== null,
      reachable,
      linkFailover: version !== null && versionAtLeast(version, LINK_TSQL_FAILOVER_FROM),
      major: version === null ? null : Number(version.split('.')[0]),
    });
    let unreachable: string;
    try {
      const pool = await ctx.sql('sqlServer');
      const rows = (await runSql(pool, VERSION_QUERY, {}, ctx.signal)).recordset ?? [];
      const version = String(rows[0]?.version ?? '').trim();
      if (!VERSION.test(version)) throw ctx.fail('odd', { value: version || 'nothing' });
      ctx.log.info(ctx.text('read', { version, verdict: verdict(version) }));
      return result(version, 'server', true);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      const failure = classifyConnectFailure(error);
      if (!failure.unreachable || typeof (error as { number?: unknown }).number === 'number') throw error;
      unreachable = failure.reason;
    }
    const assumed = args.ifUnreachable?.trim() ?? '';
    if (assumed === '') {
      ctx.log.warn(ctx.text('unknown', { error: unreachable }));
      return result(null, null, false);
    }
    if (!VERSION.test(assumed)) throw ctx.refuse('badVersion', { value: shown(args.ifUnreachable) });
    ctx.log.warn(ctx.text('assumed', { error: unreachable, version: assumed, verdict: verdict(assumed) }));
    return result(assumed, 'assumed', false);
  },

  probe(ctx, args: SqlServerVersionArgs) {
    return this.run(ctx, args);
  },
});
