// waitLsnStable: the planned failover's safety gate. Both replicas' LSNs for the link database
// must be equal and stay unchanged for a whole window before anything fails over. Each side is
// read from the link's own row only (engine/drivers/sql/lsn-queries.ts: the DAG by name,
// is_local = 1, exactly one row), and a window counts only while the secondary is resumed and,
// in synchronous commit, SYNCHRONIZED.
//
// With `demoted` (a forced-failover drill, after the old primary was set to SECONDARY and before
// the other side is forced) neither side is primary, so the roles cannot be asked: the demoted side
// plays the primary (its end of log is everything it wrote, and with no primary nothing more can be
// written) and the other side must have hardened all of it. That is the distributed-AG procedure's
// "Test the failover readiness" step: "The availability group is ready to fail over when the
// last_hardened_lsn is the same for both availability groups per database" (MicrosoftDocs/sql-docs,
// configure-distributed-availability-groups.md). There is no synchronization state to require in
// that mode: with no primary "the distributed availability group is not available" (same article),
// and what its rows say then is not documented; the equal LSNs are the whole guarantee.
import {
  comparedLsn,
  LsnRowsError,
  lsnQuery,
  notReadyReason,
  pairQueues,
  readSideLsn,
  synchronousCommit,
  type SideLsn,
} from '../engine/drivers/sql/lsn-queries.js';
import { isConnectionLoss } from '../engine/drivers/sql/connect-failure.js';
import { apartData, behindAmount, demotedFailure, lower, timeoutFailure, type LsnWaitPair, type LsnWaitRoles } from './support/lsn-wait-failure.js';
import {
  defineStep,
  durationMs,
  isUnknown,
  shown,
  durationText,
  formatLsn,
  formatSeconds,
  LsnStability,
  lsnDiff,
  sleep,
  StepFailure,
  GuardRefusal,
  type LsnSample,
  type ProgressData,
  type ReplicaSide,
  type StepMessages,
  type StepRunContext,
} from '../engine/step-api/index.js';

export interface WaitLsnStableArgs {
  demoted?: string;
  stableFor?: string;
  pollInterval?: string;
  timeout?: string;
}

const duration = (description: string) => ({ type: 'string', format: 'duration', description });

const MEASURED = { measured: true };

type Roles = LsnWaitRoles;

type Pair = LsnWaitPair;

export default defineStep({
  type: 'waitLsnStable',
  description:
    "Waits until the link database's LSNs on the primary and the secondary are equal and stay unchanged for a whole window, with the secondary resumed and, in synchronous commit, SYNCHRONIZED (the planned failover's no-data-loss check).",
  with: {
    type: 'object',
    additionalProperties: false,
    properties: {
      demoted: {
        type: 'string',
        pattern: '^(sqlServer|managedInstance|\\{\\{.*\\}\\})$',
        description:
          'Drills only: the old primary, already set to SECONDARY, so that neither side is primary. Its end of log is then compared with what the other side hardened (no role lookup, no synchronization state required), before that side is forced.',
      },
      stableFor: duration('How long the LSNs must stay equal and unchanged. Default 30s.'),
      pollInterval: duration('How often both replicas are asked. Default 1s.'),
      timeout: duration('How long to wait in all before failing. Default 10m.'),
    },
  },
  defaults: { stableFor: '30s', pollInterval: '1s', timeout: '10m' },
  messages: {
    noSample: 'No LSN sample could be taken from both replicas within {{timeout}}: {{error}}.',
    apart:
      'LSNs did not match within {{timeout}}: {{behind}} is behind {{ahead}}{{amount}}; {{movement}}. Last read: primary end of log {{primaryLsn}}, secondary hardened {{secondaryLsn}}.',
    notStable:
      'LSNs matched at {{lsn}} but did not stay unchanged for {{stableFor}} within {{timeout}}; {{movement}}.',
    notReady:
      'LSNs matched at {{lsn}}, but within {{timeout}} the window never counted: the secondary {{secondary}} was {{state}} when last read ({{mode}}); {{advice}}.',
    suspendedAdvice:
      'Its data movement is suspended; resume it only once you know what it discards (ALTER DATABASE ... SET HADR RESUME on SQL Server).',
    syncAdvice: 'Check that both sides of the link are in synchronous commit and that the link is healthy.',
    asyncAdvice: 'Check that the link is connected and healthy.',
    rows: 'Refused to compare LSNs: {{error}}.',
    badDemoted: 'Expected demoted to be sqlServer or managedInstance, got {{value}}.',
    demotedApart:
      'The side {{secondary}} did not harden all the log of {{primary}} (set to SECONDARY) within {{timeout}}: {{secondary}} hardened {{secondaryLsn}}, {{primary}} end of log {{primaryLsn}}; {{movement}}. Nothing was forced, so nothing is lost, but link {{link}} has no primary now. To go back, run on {{primary}}, which holds all the log: ALTER AVAILABILITY GROUP {{dag}} FORCE_FAILOVER_ALLOW_DATA_LOSS; (the fail-back configure-distributed-availability-groups.md gives for this case). Then find out why the log does not reach {{secondary}} (link connected? data movement suspended?) and run the drill again.',
    demotedStalled: 'The log stopped moving.',
    demotedFailed: 'The last samples failed ({{error}}).',
    moving: 'Primary still moving, so the workload is not stopped.',
    stalled: 'The primary is not moving, so replication to the secondary is stalled or slow.',
    interrupted: 'The window was interrupted by {{failures}} failed samples ({{error}}).',
    sample: 'Primary {{primary}} end of log {{primaryLsn}}, secondary {{secondary}} hardened {{secondaryLsn}}: {{state}}.',
    waitingEqual: 'LSNs equal for {{equalFor}} of {{stableFor}}; {{elapsed}} elapsed, {{left}} left before the timeout.',
    waitingApart: 'Secondary {{secondary}} {{where}} primary {{primary}}{{amount}}{{trend}}; {{elapsed}} elapsed, {{left}} left before the timeout.',
    stable: 'LSNs equal at {{lsn}} on {{primary}} and {{secondary}}, unchanged for {{stableFor}} (waited {{waited}}, {{samples}} samples).',
    unready: 'Equal, but the secondary is {{state}}, so the window does not count.',
    sampleFailed: 'Sample failed ({{error}}); trying again.',
    probed: 'Primary {{primary}} end of log {{primaryLsn}}, secondary {{secondary}} hardened {{secondaryLsn}}: {{state}}. The wait still needs them unchanged for {{stableFor}}.',
  },
  impact: 'read',
  target: 'none',
  // Equal, unchanged LSNs are true only while the workload stays stopped: a resume waits again.
  resultHolds: 'moment',
  outputs: {
    lsn: { description: 'The LSN both replicas agreed on, as decimal text (numeric(25,0)).' },
    samples: { description: 'How many paired samples were taken.' },
    waitedMs: { description: 'How long the wait took, in milliseconds.' },
    reconnects: { description: 'How many samples failed on a lost connection and were retried.' },
    synchronousCommit: { description: "Whether both replicas' copies of the link were in synchronous commit (then the secondary was SYNCHRONIZED)." },
  },

  plan(ctx, args: WaitLsnStableArgs) {
    const stableFor = durationText(args.stableFor, ctx.defaults.stableFor);
    const poll = durationText(args.pollInterval, ctx.defaults.pollInterval);
    const timeout = durationText(args.timeout, ctx.defaults.timeout);
    const { name, database } = ctx.inventory.link;
    if (args.demoted !== undefined) {
      const demoted = isUnknown(args.demoted) ? '(known after apply)' : shown(args.demoted);
      return {
        summary: `With neither side primary, wait until the other side has hardened all the log of the demoted ${demoted} for [${database}]`,
        sql: (['sqlServer', 'managedInstance'] as const).map((side) => ({ target: side, text: lsnQuery(side, ctx.inventory), params: { dag: name, db: database } })),
        guards: [
          `The demoted side's end of log equal to the other side's last_hardened_lsn for ${stableFor} (poll ${poll}); after ${timeout} it fails and nothing is forced`,
        ],
      };
    }
    return {
      summary: `Wait until the LSNs of [${database}] match on both replicas and stay unchanged`,
      sql: (['sqlServer', 'managedInstance'] as const).map((side) => ({ target: side, text: lsnQuery(side, ctx.inventory), params: { dag: name, db: database } })),
      guards: [
        `LSNs equal and unchanged for ${stableFor} (poll ${poll}, timeout ${timeout}), the secondary resumed and, in synchronous commit, SYNCHRONIZED`,
      ],
    };
  },

  async run(ctx, args: WaitLsnStableArgs) {
    const stableForMs = durationMs(args.stableFor, ctx.defaults.stableFor, 'stableFor');
    const pollMs = durationMs(args.pollInterval, ctx.defaults.pollInterval, 'pollInterval');
    const timeoutMs = durationMs(args.timeout, ctx.defaults.timeout, 'timeout');
    // Said as the progress line says times (`6 s`, `10 min`), not in runbook notation (`6s`).
    const texts = { stableFor: formatSeconds(stableForMs), timeout: formatSeconds(timeoutMs) };
    const started = Date.now();
    const deadline = started + timeoutMs;
    const window = new LsnStability(stableForMs);
    const fixed = demotedRoles(ctx, args.demoted);
    let roles: Roles | undefined;
    let lastRoles: Roles | undefined;
    let lastPair: Pair | undefined;
    let samples = 0;
    let failures = 0;
    let lastError: string | undefined;
    let previousGap: bigint | undefined;
    let previousKb: bigint | undefined;

    for (;;) {
      ctx.signal.throwIfAborted();
      // A sample that starts before the deadline may finish; one that hangs is cut a poll later.
      const attempt = AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.max(1, deadline - Date.now()) + pollMs)]);
      try {
        roles ??= fixed ?? (await resolveRoles(ctx));
        lastRoles = roles;
        const pair = await readPair(ctx, roles, attempt);
        lastPair = pair;
        samples++;
        const sample = toSample(pair, fixed !== undefined);
        const state = window.add(sample);
        const reason = notReadyReason(pair.primary, pair.secondary);
        const data = progressData(roles, pair, sample, window.equalForMs(), stableForMs);
        const gap = sample.primary !== null && sample.secondary !== null ? lsnDiff(sample.primary, sample.secondary) : undefined;
        // Measured times with their tenth (`1.0 s elapsed`), configured ones as given (`of 30 s`).
        const times = { elapsed: formatSeconds(Date.now() - started, MEASURED), left: formatSeconds(deadline - Date.now(), MEASURED) };
        // The log KB not sent and the seconds behind where the replicas report them; shrinking by
        // the KB when reported, else by the LSN difference (compared, never shown).
        const queues = pairQueues(pair.primary, pair.secondary);
        const kb = queues.logSendQueueKb ?? undefined;
        ctx.log.progress(
          state === 'unready'
            ? ctx.text('unready', { state: reason ?? 'not ready' })
            : gap === 0n
              ? ctx.text('waitingEqual', { equalFor: formatSeconds(window.equalForMs(), MEASURED), stableFor: formatSeconds(stableForMs), ...times })
              : ctx.text('waitingApart', {
                  primary: roles.primary,
                  secondary: roles.secondary,
                  amount: behindAmount(queues.logSendQueueKb, queues.secondaryLagSeconds),
                  ...apartData(kb ?? gap, kb !== undefined ? previousKb : previousGap),
                  ...times,
                }),
          data,
        );
        previousGap = gap;
        previousKb = kb;
        if (state === 'stable') {
          const waitedMs = Date.now() - started;
          // What the wait found stays under the step once it ends (the progress line does not).
          ctx.log.info(ctx.text('stable', { lsn: formatLsn(sample.primary), primary: roles.primary, secondary: roles.secondary, stableFor: formatSeconds(window.equalForMs(), MEASURED), waited: formatSeconds(waitedMs, MEASURED), samples }));
          return {
            lsn: formatLsn(sample.primary),
            samples,
            waitedMs,
            reconnects: failures,
            synchronousCommit: synchronousCommit(pair.primary, pair.secondary),
          };
        }
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
        if (error instanceof LsnRowsError) throw ctx.refuse('rows', { error: error.message });
        if (!attempt.aborted && !retriable(error)) throw error;
        failures++;
        window.reset();
        lastError = (error as Error).message.replace(/\.\s*$/, '');
        roles = undefined;
        ctx.invalidateRoles?.();
        ctx.log.progress(ctx.text('sampleFailed', { error: lastError }));
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        if (fixed && !(window.last && window.last.primary !== null && window.last.primary === window.last.secondary)) {
          throw demotedFailure(ctx, window, fixed, { timeout: texts.timeout, failures, lastError });
        }
        throw timeoutFailure(ctx, window, { ...texts, stableForMs, pollMs, failures, lastError, roles: lastRoles, pair: lastPair });
      }
      await sleep(Math.min(pollMs, left), ctx.signal);
    }
  },

  // plan --probe: one paired sample, no waiting. The outputs exist only after a whole window, so
  // none is returned; the note says where the LSNs stand now.
  async probe(ctx, args: WaitLsnStableArgs) {
    const fixed = demotedRoles(ctx, args.demoted);
    const roles = fixed ?? (await resolveRoles(ctx));
    const pair = await readPair(ctx, roles, ctx.signal);
    const sample = toSample(pair, fixed !== undefined);
    const stableFor = durationText(args.stableFor, ctx.defaults.stableFor);
    const reason = notReadyReason(pair.primary, pair.secondary);
    const equal = reason ? lower(ctx.text('unready', { state: reason })) : 'equal now';
    ctx.log.info(ctx.text('probed', { ...sampleData(roles.primary, roles.secondary, sample, equal), stableFor }));
    return undefined;
  },
});

async function resolveRoles(ctx: StepRunContext): Promise<Roles> {
  const primary = await ctx.resolveTarget('primary');
  const secondary = await ctx.resolveTarget('secondary');
  return { primary, secondary };
}

async function readPair(ctx: StepRunContext, roles: Roles, signal: AbortSignal): Promise<Pair> {
  const [primary, secondary] = await Promise.all([
    readSideLsn(await ctx.sql(roles.primary), roles.primary, ctx.inventory, signal),
    readSideLsn(await ctx.sql(roles.secondary), roles.secondary, ctx.inventory, signal),
  ]);
  return { primary, secondary };
}

/** With `demoted`, the roles are given: the demoted side plays the primary, the other the secondary. */
function demotedRoles(ctx: StepMessages<'badDemoted'>, demoted: string | undefined): Roles | undefined {
  if (demoted === undefined) return undefined;
  if (demoted !== 'sqlServer' && demoted !== 'managedInstance') throw ctx.refuse('badDemoted', { value: shown(demoted) });
  return { primary: demoted, secondary: demoted === 'sqlServer' ? 'managedInstance' : 'sqlServer' };
}

/** `demoted`: no synchronization state is asked of a side with no primary (see the file's head). */
function toSample(pair: Pair, demoted = false): LsnSample {
  return {
    at: Date.now(),
    primary: comparedLsn(pair.primary, 'primary'),
    secondary: comparedLsn(pair.secondary, 'secondary'),
    ready: demoted || notReadyReason(pair.primary, pair.secondary) === undefined,
  };
}


/** A lost connection or a replica briefly without a primary is waited out; SQL errors and split-brain are not. */
function retriable(error: unknown): boolean {
  if (isConnectionLoss(error)) return true;
  if (error instanceof GuardRefusal) return error.messageId === 'noPrimary';
  return error instanceof StepFailure && error.messageId === 'unreachable';
}


/** A sample for the `sample` and `probed` messages; `equal` is what to say when the LSNs match. */
function sampleData(primary: ReplicaSide, secondary: ReplicaSide, sample: LsnSample, equal: string) {
  const gap = sample.primary !== null && sample.secondary !== null ? lsnDiff(sample.primary, sample.secondary) : undefined;
  const state = gap === 0n ? equal : `gap ${gap === undefined ? 'unknown' : gap.toString()}`;
  return { primary, secondary, primaryLsn: formatLsn(sample.primary), secondaryLsn: formatLsn(sample.secondary), state };
}

const text = (v: bigint | null) => (v === null ? null : v.toString());

/**
 * What a display draws of one sample (the JSON event's `data`): the LSNs and their gap, how long
 * the window has held, the secondary's state, and the queues the DMV reports (log_send_queue_size
 * and redo_queue_size in KB, secondary_lag_seconds), null where the replicas report none.
 */
function progressData(roles: Roles, pair: Pair, sample: LsnSample, equalForMs: number, stableForMs: number): ProgressData {
  const queues = pairQueues(pair.primary, pair.secondary);
  const gap = sample.primary !== null && sample.secondary !== null ? lsnDiff(sample.primary, sample.secondary) : null;
  return {
    primary: roles.primary,
    secondary: roles.secondary,
    primaryLsn: text(sample.primary),
    secondaryLsn: text(sample.secondary),
    gap: text(gap),
    equalForMs,
    stableForMs,
    synchronizationState: pair.secondary.syncState,
    suspended: pair.secondary.suspended,
    synchronousCommit: synchronousCommit(pair.primary, pair.secondary),
    logSendQueueKb: text(queues.logSendQueueKb),
    redoQueueKb: text(queues.redoQueueKb),
    secondaryLagSeconds: text(queues.secondaryLagSeconds),
  };
}
