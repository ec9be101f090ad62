// An example plugin step type (README, "Writing a step type"): waitLinkSynchronized waits until
// the link runs in synchronous commit on both members and the primary sees the secondary's copy
// of the database SYNCHRONIZED. That is the state a planned failover needs after the switch to
// synchronous commit: the procedure checks the mode in sys.availability_replicas and the state in
// sys.dm_hadr_database_replica_states (MicrosoftDocs/sql-docs, azure-sql/managed-instance/
// managed-instance-link-failover-how-to.md, "Switch replication mode" and "Check LSN values"); a
// FAILOVER sent while the secondary is still SYNCHRONIZING is refused by the server. This step
// reads only, polls with a timeout, and says what it saw when it gives up.
//
// A plugin imports the step API and nothing else of the engine. Here, inside the repository, by
// its path; a plugin kept elsewhere imports 'runbook/step-api' (package.json "exports"). It talks
// to the replicas through the connections the run gives it (ctx.sql(), an mssql ConnectionPool).
import { defineStep, durationMs, durationText, formatDuration, pollUntil, type ReplicaSide, type StepRunContext } from '../../engine/step-api/index.js';

export interface WaitLinkSynchronizedArgs {
  timeout?: string;
  pollInterval?: string;
}

/** Members of the link that are not in synchronous commit, as one replica sees them. */
const ASYNC_MEMBERS = `SELECT ar.replica_server_name AS member, ar.availability_mode_desc AS mode
FROM sys.availability_groups ag
  JOIN sys.availability_replicas ar ON ar.group_id = ag.group_id
WHERE ag.is_distributed = 1 AND ag.name = @link
  AND ar.availability_mode_desc <> 'SYNCHRONOUS_COMMIT';`;

/** The secondary's copy of the link database, as the primary sees it (the remote row). */
const SECONDARY_STATE = `SELECT drs.synchronization_state_desc AS state
FROM sys.dm_hadr_database_replica_states drs
  JOIN sys.databases db ON db.database_id = drs.database_id
  JOIN sys.availability_groups ag ON ag.group_id = drs.group_id
WHERE ag.is_distributed = 1 AND ag.name = @link AND db.name = @db AND drs.is_local = 0;`;

interface Sample {
  primary: ReplicaSide;
  asyncMembers: string[];
  /** null when the primary shows no row for the secondary (not connected, or not the link's primary). */
  state: string | null;
}

export default defineStep({
  type: 'waitLinkSynchronized',
  description:
    "Waits until both members of the link are in synchronous commit and the primary sees the secondary's database SYNCHRONIZED (what a planned failover needs after the switch to synchronous commit). Changes nothing.",
  with: {
    type: 'object',
    additionalProperties: false,
    properties: {
      timeout: { type: 'string', format: 'duration', description: 'How long to wait in all before failing. Default 2m.' },
      pollInterval: { type: 'string', format: 'duration', description: 'How often the primary is asked. Default 1s.' },
    },
  },
  defaults: { timeout: '2m', pollInterval: '1s' },
  messages: {
    waiting: 'Link {{link}} on the primary {{primary}}: {{modes}}; the secondary is {{state}}.',
    synchronized: 'The secondary of link {{link}} is SYNCHRONIZED with the primary {{primary}} in synchronous commit, after {{elapsed}}.',
    stillAsync:
      'Link {{link}} is still not in synchronous commit after {{timeout}} ({{members}} asynchronous); switch both members to SYNCHRONOUS_COMMIT first.',
    notSynchronized:
      'The secondary of link {{link}} was not SYNCHRONIZED within {{timeout}} (the primary {{primary}} last saw it {{state}}); check that the workload is stopped and the link is healthy before a failover.',
    now: 'Link {{link}} now: {{modes}}; the secondary is {{state}} as the primary {{primary}} sees it.',
  },
  impact: 'read',
  target: 'none',
  // The state of the link at that moment: a resume waits again.
  resultHolds: 'moment',
  outputs: {
    primary: { description: 'The side that was primary when the secondary was seen SYNCHRONIZED.' },
    samples: { description: 'How many times the primary was asked.' },
    waitedMs: { description: 'How long the wait took, in milliseconds.' },
  },

  plan(ctx, args: WaitLinkSynchronizedArgs) {
    const timeout = durationText(args.timeout, ctx.defaults.timeout);
    const poll = durationText(args.pollInterval, ctx.defaults.pollInterval);
    const { name, database } = ctx.inventory.link;
    return {
      summary: `Wait until link [${name}] is in synchronous commit and its secondary SYNCHRONIZED, as the primary sees it`,
      // What run() sends, with its parameters (a plan never splices values into the SQL).
      sql: [{ target: 'primary', text: `${ASYNC_MEMBERS}\n${SECONDARY_STATE}`, params: { link: name, db: database } }],
      guards: [`Fails unless SYNCHRONIZED in synchronous commit within ${timeout} (poll ${poll})`],
    };
  },

  async run(ctx, args: WaitLinkSynchronizedArgs) {
    const timeoutMs = durationMs(args.timeout, ctx.defaults.timeout, 'timeout');
    const pollMs = durationMs(args.pollInterval, ctx.defaults.pollInterval, 'pollInterval');
    const link = ctx.inventory.link.name;
    const started = Date.now();
    let samples = 0;
    let sample: Sample | undefined;
    // pollUntil asks again every pollInterval until look() returns something, or throws what
    // timedOut() builds from the last sample once the timeout has passed.
    const look = async () => {
      sample = await sampleLink(ctx);
      samples++;
      if (sample.asyncMembers.length === 0 && sample.state === 'SYNCHRONIZED') {
        ctx.log.progress(ctx.text('synchronized', { link, primary: sample.primary, elapsed: formatDuration(Date.now() - started) }));
        return { primary: sample.primary, samples, waitedMs: Date.now() - started };
      }
      ctx.log.progress(ctx.text('waiting', { link, primary: sample.primary, ...describe(sample) }));
      return undefined;
    };
    const timedOut = () => {
      const last = sample!; // a timeout comes only after a look
      const timeout = formatDuration(timeoutMs);
      if (last.asyncMembers.length > 0) return ctx.fail('stillAsync', { link, timeout, members: last.asyncMembers.join(', ') });
      return ctx.fail('notSynchronized', { link, timeout, primary: last.primary, state: describe(last).state });
    };
    return pollUntil({ timeoutMs, pollMs, signal: ctx.signal }, look, timedOut);
  },

  // plan --probe: one look, no waiting; the outputs exist only once the wait is over.
  async probe(ctx) {
    const sample = await sampleLink(ctx);
    ctx.log.info(ctx.text('now', { link: ctx.inventory.link.name, primary: sample.primary, ...describe(sample) }));
    return undefined;
  },
});

/** One look at the link from its primary, over the run's connection to it. */
async function sampleLink(ctx: StepRunContext): Promise<Sample> {
  const primary = await ctx.resolveTarget('primary');
  const pool = await ctx.sql(primary);
  const { name, database } = ctx.inventory.link;
  const modes = await pool.request().input('link', name).query<{ member: string; mode: string }>(ASYNC_MEMBERS);
  const states = await pool.request().input('link', name).input('db', database).query<{ state: string }>(SECONDARY_STATE);
  return { primary, asyncMembers: modes.recordset.map((r) => `${r.member} ${r.mode}`), state: states.recordset[0]?.state ?? null };
}

function describe(sample: Sample): { modes: string; state: string } {
  return {
    modes: sample.asyncMembers.length === 0 ? 'synchronous commit' : `not synchronous (${sample.asyncMembers.join(', ')})`,
    state: sample.state ?? 'not seen',
  };
}
