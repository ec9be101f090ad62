// waitResynchronized: after a side of the link was demoted (split-brain resolved, a drill's old
// primary), waits until its copy of the database moves data again: its own row of the link
// (engine/drivers/sql/lsn-queries.ts) with is_suspended = 0 and synchronization_state_desc
// SYNCHRONIZING or SYNCHRONIZED.
//
// After a forced failover "the former primary databases ... transition into the SUSPENDED state"
// and "Data synchronization with the primary database will not occur until the secondary database
// is resumed"; "You must manually resume each suspended database individually", and resuming
// makes it roll back "any log records that were never committed on the new primary database"
// (MicrosoftDocs/sql-docs, perform-a-forced-manual-failover-of-an-availability-group-sql-server.md,
// for an availability group). The link's own procedure shows no resume step after SET (ROLE =
// SECONDARY) (managed-instance-link-failover-how-to.md, "Inconsistent state after forced
// failover"), so whether a link's database resumes by itself is not documented. This step never
// resumes anything: resuming discards what only the demoted side had, a decision for a person. If
// the side stays suspended it fails and says what to do: on SQL Server ALTER DATABASE ... SET HADR
// RESUME; on a managed instance SET HADR is not supported (transact-sql-tsql-differences-sql-
// server.md), so the ways left are a support case or removing and re-creating the link.
import { LSN_QUERY, LsnRowsError, readSideLsn, type SideLsn } from '../engine/drivers/sql/lsn-queries.js';
import { isConnectionLoss } from '../engine/drivers/sql/connect-failure.js';
import { defineStep, durationMs, durationText, formatDuration, isUnknown, pollUntil, shown, type ReplicaSide } from '../engine/step-api/index.js';

export interface WaitResynchronizedArgs {
  side: string;
  timeout?: string;
  pollInterval?: string;
}

const MOVING = new Set(['SYNCHRONIZING', 'SYNCHRONIZED']);

export function resynchronized(s: SideLsn): boolean {
  return !s.suspended && MOVING.has(s.syncState.toUpperCase());
}

export default defineStep({
  type: 'waitResynchronized',
  description:
    "Waits until a demoted side's copy of the link database moves data again (not suspended, SYNCHRONIZING or SYNCHRONIZED); if it stays suspended, fails and says how to resume it. Never resumes anything itself. Changes nothing.",
  with: {
    type: 'object',
    additionalProperties: false,
    required: ['side'],
    properties: {
      side: {
        type: 'string',
        pattern: '^(sqlServer|managedInstance|\\{\\{.*\\}\\})$',
        description: 'The side that was demoted: sqlServer or managedInstance, or a template such as {{otherSide inputs.keep}}.',
      },
      timeout: { type: 'string', format: 'duration', description: 'How long to wait for it before failing. Default 2m.' },
      pollInterval: { type: 'string', format: 'duration', description: 'How often it is asked. Default 1s.' },
    },
  },
  defaults: { timeout: '2m', pollInterval: '1s' },
  messages: {
    badSide: 'Expected side to be sqlServer or managedInstance, got {{value}}.',
    state: 'Database {{database}} on {{side}}: {{state}}.',
    resumed: 'Database {{database}} on {{side}} moves data again ({{state}}) after {{elapsed}}.',
    rows: 'Refused to judge {{side}}: {{error}}.',
    sqlServerSuspended:
      'Database {{database}} on SQL Server is still suspended ({{reason}}) after {{timeout}}: it does not resynchronize from the primary until it is resumed, and the runbook never resumes it, because resuming rolls back every change the new primary never had. Once you have saved what you need from it (the backup taken before the demotion holds its own changes), run on SQL Server: ALTER DATABASE {{ident}} SET HADR RESUME; then check that it reports SYNCHRONIZING.',
    managedInstanceSuspended:
      'Database {{database}} on the managed instance is still suspended ({{reason}}) after {{timeout}}: it does not resynchronize from the primary until it is resumed, and a managed instance does not support ALTER DATABASE ... SET HADR (transact-sql-tsql-differences-sql-server.md). Open a support case, or remove the link and create it again from the primary.',
    notMoving:
      'Database {{database}} on {{side}} is not suspended but {{state}} after {{timeout}}: no data reaches it; check that the link is connected and healthy.',
  },
  impact: 'read',
  target: 'none',
  // Whether the demoted side moves data is true only at that moment: a resume reads it again.
  resultHolds: 'moment',
  outputs: {
    side: { description: 'The side that was checked.' },
    state: { description: 'Its synchronization_state_desc when it moved data again.' },
    waitedMs: { description: 'How long the wait took, in milliseconds.' },
  },

  plan(ctx, args: WaitResynchronizedArgs) {
    const side = isUnknown(args.side) ? '(known after apply)' : shown(args.side);
    const timeout = durationText(args.timeout, ctx.defaults.timeout);
    const poll = durationText(args.pollInterval, ctx.defaults.pollInterval);
    const { name, database } = ctx.inventory.link;
    const sides: ReplicaSide[] = side === 'sqlServer' || side === 'managedInstance' ? [side] : ['sqlServer', 'managedInstance'];
    return {
      summary: `Wait until [${database}] on ${side} is resumed and synchronizing from the primary of link [${name}]`,
      sql: sides.map((target) => ({ target, text: LSN_QUERY, params: { dag: name, db: database } })),
      guards: [`Fails if it is still suspended or not synchronizing after ${timeout} (poll ${poll}); never resumes it`],
    };
  },

  async run(ctx, args: WaitResynchronizedArgs) {
    if (args.side !== 'sqlServer' && args.side !== 'managedInstance') throw ctx.refuse('badSide', { value: shown(args.side) });
    const side: ReplicaSide = args.side;
    const timeoutMs = durationMs(args.timeout, ctx.defaults.timeout, 'timeout');
    const pollMs = durationMs(args.pollInterval, ctx.defaults.pollInterval, 'pollInterval');
    const database = ctx.inventory.link.database;
    const started = Date.now();
    let last: SideLsn | undefined;
    const look = async () => {
      try {
        last = await readSideLsn(await ctx.sql(side), side, ctx.inventory, ctx.signal);
        const state = last.suspended ? `suspended (${last.suspendReason ?? 'no reason given'}), ${last.syncState}` : last.syncState;
        if (resynchronized(last)) {
          ctx.log.progress(ctx.text('resumed', { database, side, state, elapsed: formatDuration(Date.now() - started) }));
          return { side, state: last.syncState, waitedMs: Date.now() - started };
        }
        ctx.log.progress(ctx.text('state', { database, side, state }));
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        if (error instanceof LsnRowsError) throw ctx.refuse('rows', { side, error: error.message });
        // A role change drops sessions in the link database: a lost connection is read again.
        if (!isConnectionLoss(error)) throw error;
      }
      return undefined;
    };
    const timedOut = () => {
      const timeout = formatDuration(timeoutMs);
      if (last?.suspended) {
        const reason = last.suspendReason ?? 'no reason given';
        if (side === 'sqlServer') {
          return ctx.fail('sqlServerSuspended', { database, reason, timeout, ident: `[${database.replace(/]/g, ']]')}]` });
        }
        return ctx.fail('managedInstanceSuspended', { database, reason, timeout });
      }
      return ctx.fail('notMoving', { database, side, state: last?.syncState ?? 'unreadable', timeout });
    };
    return pollUntil({ timeoutMs, pollMs, signal: ctx.signal }, look, timedOut);
  },

  // plan --probe: one look, no waiting.
  async probe(ctx, args: WaitResynchronizedArgs) {
    if (args.side !== 'sqlServer' && args.side !== 'managedInstance') return undefined;
    const s = await readSideLsn(await ctx.sql(args.side), args.side, ctx.inventory, ctx.signal);
    const state = s.suspended ? `suspended (${s.suspendReason ?? 'no reason given'}), ${s.syncState}` : s.syncState;
    ctx.log.info(ctx.text('state', { database: ctx.inventory.link.database, side: args.side, state }));
    return undefined;
  },
});
