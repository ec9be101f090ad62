// lsnGap: before a forced failover, how much the secondary is missing. It reads the link's
// database state on both replicas (LSNs as text, compared as BigInt) and says, in one sentence,
// what a forced failover to the secondary would lose: the LSN gap, the log not yet sent, and the
// window of commits on the primary the secondary never saw. A primary that cannot be reached is
// not an error here (that is the disaster a forced failover is for); the report says so.
import { classifyConnectFailure, isConnectionLoss } from '../engine/drivers/sql/connect-failure.js';
import { LSN_QUERY, LsnRowsError, readSideLsn, type SideLsn } from '../engine/drivers/sql/lsn-queries.js';
import {
  defineStep,
  formatLsn,
  isUnknown,
  lsnDiff,
  shown,
  StepFailure,
  type Lsn,
  type ReplicaSide,
  type StepRunContext,
} from '../engine/step-api/index.js';
import { asDate } from './support/sql-values.js';

export interface LsnGapArgs {
  primary: string;
}

const SIDES: readonly ReplicaSide[] = ['sqlServer', 'managedInstance'];

export interface SideState {
  endOfLog: Lsn | null;
  hardened: Lsn | null;
  lastCommit: Date | null;
  /** On a primary: what it knows of its partner (log not sent yet, KB). */
  partnerUnsentKb: bigint | null;
}

/** The link's own row on one replica (the DAG by name, is_local = 1, exactly one row), as the gap needs it. */
export function sideState(s: SideLsn): SideState {
  return {
    endOfLog: s.endOfLog,
    hardened: s.lastHardened,
    lastCommit: s.lastCommit,
    partnerUnsentKb: s.partnerQueues?.logSendQueueKb ?? null,
  };
}

function timeText(d: Date | null): string {
  return d ? d.toISOString().replace('T', ' ').replace('Z', ' UTC') : 'an unknown time';
}

function windowText(from: Date | null, until: Date | null): string {
  if (!from || !until) return 'an unknown span';
  const ms = Math.max(0, until.getTime() - from.getTime());
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

async function readSide(ctx: StepRunContext, side: ReplicaSide): Promise<SideState> {
  return sideState(await readSideLsn(await ctx.sql(side), side, ctx.inventory, ctx.signal));
}

export default defineStep({
  type: 'lsnGap',
  description:
    'Reports how far the secondary is behind the primary (LSN gap, log not sent, window of commits), i.e. what a forced failover to it would lose; tolerates an unreachable primary. Changes nothing.',
  with: {
    type: 'object',
    additionalProperties: false,
    required: ['primary'],
    properties: {
      primary: {
        type: 'string',
        pattern: '^(sqlServer|managedInstance|\\{\\{.*\\}\\})$',
        description: 'The current (or last known) primary: sqlServer or managedInstance, usually {{steps.<roles>.outputs.primary}}.',
      },
    },
  },
  messages: {
    badPrimary: 'Expected primary to be sqlServer or managedInstance, got {{value}}.',
    secondaryUnreachable: 'Cannot read the secondary {{secondary}}: {{error}}.',
    noRow: 'The replica {{side}} has no state for database {{database}} in link {{link}}; check that the database is part of the link there.',
    rows: 'Refused to measure the gap: {{error}}.',
    inSync:
      'The secondary {{secondary}} has everything the primary {{primary}} wrote (LSN {{lsn}}): a forced failover to it now loses no committed transaction.',
    behind:
      'The secondary {{secondary}} is behind the primary {{primary}}: LSN {{secondaryLsn}} against {{primaryLsn}} (gap {{gap}}), {{unsent}} of log not sent yet. A forced failover to {{secondary}} now loses every transaction {{primary}} committed after {{from}} (up to {{until}}, {{window}} of commits).',
    unreachable:
      'The primary {{primary}} cannot be reached ({{error}}), so the gap cannot be measured. The secondary {{secondary}} has hardened the log up to LSN {{secondaryLsn}} (last commit {{from}}); a forced failover to it loses whatever {{primary}} committed after that.',
  },
  impact: 'read',
  target: 'none',
  // The gap grows with every commit the secondary has not hardened: a resume measures it again.
  resultHolds: 'moment',
  outputs: {
    primary: { description: 'The primary side the gap is measured from.' },
    secondary: { description: 'The secondary side, the one a forced failover would promote.' },
    primaryReachable: { description: 'Whether the primary answered.' },
    primaryLsn: { description: "The primary's end of log as decimal text, or null when it could not be read." },
    secondaryLsn: { description: "The secondary's last hardened LSN as decimal text." },
    gap: { description: 'primaryLsn - secondaryLsn as decimal text (0 when in sync), or null when unknown.' },
    unsentLogKb: { description: 'Log the primary has not sent to the secondary yet, in KB (text), or null when unknown.' },
    lostAfter: { description: "The secondary's last commit time (ISO): the primary's commits after it are what would be lost." },
    inSync: { description: 'True when the secondary has everything the primary wrote; null when the primary is unreachable.' },
    report: { description: 'The whole finding as one sentence (also logged as a warning).' },
  },

  plan(ctx, args: LsnGapArgs) {
    const primary = isUnknown(args.primary) ? '(known after apply)' : shown(args.primary);
    return {
      summary: `Measure how far the secondary is behind the primary ${primary} on link [${ctx.inventory.link.name}] (what a forced failover would lose)`,
      // What run() sends: the query, with the link's DAG and database as its parameters.
      sql: SIDES.map((side) => ({ target: side, text: LSN_QUERY, params: { dag: ctx.inventory.link.name, db: ctx.inventory.link.database } })),
      guards: ['Reports before anything changes; an unreachable primary is reported, not an error'],
    };
  },

  async run(ctx, args: LsnGapArgs) {
    if (args.primary !== 'sqlServer' && args.primary !== 'managedInstance') {
      throw ctx.refuse('badPrimary', { value: shown(args.primary) });
    }
    const primary: ReplicaSide = args.primary;
    const secondary: ReplicaSide = primary === 'sqlServer' ? 'managedInstance' : 'sqlServer';
    const { link } = ctx.inventory;

    const rowsProblem = (error: LsnRowsError) =>
      error.rows === 0
        ? ctx.fail('noRow', { side: error.side, database: link.database, link: link.name })
        : ctx.refuse('rows', { error: error.message });
    let s: SideState;
    try {
      s = await readSide(ctx, secondary);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      if (error instanceof LsnRowsError) throw rowsProblem(error);
      const e = error as { number?: unknown; message?: string };
      if (typeof e.number === 'number') throw error;
      throw ctx.fail('secondaryUnreachable', { secondary, error: String(e.message ?? error).replace(/\.\s*$/, '') });
    }
    const secondaryLsn = s.hardened ?? s.endOfLog;

    let p: SideState | undefined;
    let unreachable: string | undefined;
    // A connection lost mid-read is asked once more: only a new connection that cannot be made
    // (refused, timed out, no route) makes the primary unreachable. A primary that answers and
    // refuses us (login, TLS) is up, and a forced failover then would leave two primaries.
    for (let attempt = 1; attempt <= 2 && !p && unreachable === undefined; attempt++) {
      try {
        p = await readSide(ctx, primary);
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        if (error instanceof LsnRowsError) throw rowsProblem(error);
        const e = error as { number?: unknown; name?: string };
        // A SQL error from a replica that answered is a real problem; failing to reach it is the disaster itself.
        if (typeof e.number === 'number' || error instanceof StepFailure) throw error;
        const failure = classifyConnectFailure(error);
        if (failure.unreachable) unreachable = failure.reason;
        else if (!isConnectionLoss(error) || attempt === 2) throw error;
      }
    }

    const base = {
      primary,
      secondary,
      secondaryLsn: formatLsn(secondaryLsn),
      lostAfter: s.lastCommit ? s.lastCommit.toISOString() : null,
    };
    if (!p) {
      const text = ctx.text('unreachable', {
        primary, secondary, error: unreachable ?? 'no answer', secondaryLsn: formatLsn(secondaryLsn), from: timeText(s.lastCommit),
      });
      ctx.log.warn(text);
      return { ...base, primaryReachable: false, primaryLsn: null, gap: null, unsentLogKb: null, inSync: null, report: text };
    }

    const primaryLsn = p.endOfLog;
    const gap = primaryLsn !== null && secondaryLsn !== null ? lsnDiff(primaryLsn, secondaryLsn) : null;
    const inSync = gap !== null && gap <= 0n;
    const unsent = p.partnerUnsentKb;
    const text = inSync
      ? ctx.text('inSync', { primary, secondary, lsn: formatLsn(secondaryLsn) })
      : ctx.text('behind', {
          primary,
          secondary,
          primaryLsn: formatLsn(primaryLsn),
          secondaryLsn: formatLsn(secondaryLsn),
          gap: gap === null ? 'unknown' : gap.toString(),
          unsent: unsent === null ? 'an unknown amount' : `${unsent} KB`,
          from: timeText(s.lastCommit),
          until: timeText(p.lastCommit),
          window: windowText(s.lastCommit, p.lastCommit),
        });
    if (inSync) ctx.log.info(text);
    else ctx.log.warn(text);
    return {
      ...base,
      primaryReachable: true,
      primaryLsn: formatLsn(primaryLsn),
      gap: gap === null ? null : gap.toString(),
      unsentLogKb: unsent === null ? null : unsent.toString(),
      inSync,
      report: text,
    };
  },

  // plan --probe: the same reads as a run; the outputs (and any refusal) are what a run would see now.
  probe(ctx, args: LsnGapArgs) {
    return this.run(ctx, args);
  },
});
