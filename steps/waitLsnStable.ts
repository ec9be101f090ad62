// waitLsnStable: the planned failover's safety gate. Both replicas' LSNs for the link database
// must be equal and stay unchanged for a whole window before anything fails over.
import { comparedLsn, lsnQuery, readSideLsn } from '../engine/drivers/sql/lsn-queries.js';
import { isConnectionLoss } from '../engine/drivers/sql/pool.js';
import {
  defineStep,
  durationMs,
  durationText,
  formatDuration,
  formatLsn,
  formatSeconds,
  LsnStability,
  lsnDiff,
  sleep,
  StepFailure,
  GuardRefusal,
  type LsnSample,
  type ReplicaSide,
  type StepMessages,
  type StepRunContext,
} from '../engine/step-api/index.js';

export interface WaitLsnStableArgs {
  stableFor?: string;
  pollInterval?: string;
  timeout?: string;
}

const duration = (description: string) => ({ type: 'string', format: 'duration', description });

interface Roles {
  primary: ReplicaSide;
  secondary: ReplicaSide;
}

export default defineStep({
  type: 'waitLsnStable',
  description:
    "Waits until the link database's LSNs on the primary and the secondary are equal and stay unchanged for a whole window (the planned failover's no-data-loss check).",
  with: {
    type: 'object',
    additionalProperties: false,
    properties: {
      stableFor: duration('How long the LSNs must stay equal and unchanged. Default 30s.'),
      pollInterval: duration('How often both replicas are asked. Default 1s.'),
      timeout: duration('How long to wait in all before failing. Default 10m.'),
    },
  },
  defaults: { stableFor: '30s', pollInterval: '1s', timeout: '10m' },
  messages: {
    noSample: 'No LSN sample could be taken from both replicas within {{timeout}}: {{error}}.',
    apart:
      'LSNs did not match within {{timeout}}: {{behind}} is {{gap}} behind {{ahead}} (primary end of log {{primaryLsn}}, secondary hardened {{secondaryLsn}}); {{movement}}.',
    notStable:
      'LSNs matched at {{lsn}} but did not stay unchanged for {{stableFor}} within {{timeout}}; {{movement}}.',
    moving: 'Primary still moving, so the workload is not stopped.',
    stalled: 'The primary is not moving, so replication to the secondary is stalled or slow.',
    interrupted: 'The window was interrupted by {{failures}} failed samples ({{error}}).',
    sample: 'Primary {{primary}} end of log {{primaryLsn}}, secondary {{secondary}} hardened {{secondaryLsn}}: {{state}}.',
    waitingEqual: 'LSNs equal for {{equalFor}} of {{stableFor}}; {{elapsed}} elapsed, {{left}} left before the timeout.',
    waitingApart: 'Secondary {{secondary}} {{where}} primary {{primary}}{{trend}}; {{elapsed}} elapsed, {{left}} left before the timeout.',
    stable: 'LSNs equal at {{lsn}} on {{primary}} and {{secondary}}, unchanged for {{stableFor}} (waited {{waited}}, {{samples}} samples).',
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
  },

  plan(ctx, args: WaitLsnStableArgs) {
    const stableFor = durationText(args.stableFor, ctx.defaults.stableFor);
    const poll = durationText(args.pollInterval, ctx.defaults.pollInterval);
    const timeout = durationText(args.timeout, ctx.defaults.timeout);
    return {
      summary: `Wait until the LSNs of [${ctx.inventory.link.database}] match on both replicas and stay unchanged`,
      sql: (['sqlServer', 'managedInstance'] as const).map((side) => ({ target: side, text: lsnQuery(side, ctx.inventory), params: { db: ctx.inventory.link.database } })),
      guards: [`LSNs equal and unchanged for ${stableFor} (poll ${poll}, timeout ${timeout})`],
    };
  },

  async run(ctx, args: WaitLsnStableArgs) {
    const stableForMs = durationMs(args.stableFor, ctx.defaults.stableFor, 'stableFor');
    const pollMs = durationMs(args.pollInterval, ctx.defaults.pollInterval, 'pollInterval');
    const timeoutMs = durationMs(args.timeout, ctx.defaults.timeout, 'timeout');
    const texts = { stableFor: formatDuration(stableForMs), timeout: formatDuration(timeoutMs) };
    const started = Date.now();
    const deadline = started + timeoutMs;
    const window = new LsnStability(stableForMs);
    let roles: Roles | undefined;
    let lastRoles: Roles | undefined;
    let samples = 0;
    let failures = 0;
    let lastError: string | undefined;
    let previousGap: bigint | undefined;

    for (;;) {
      ctx.signal.throwIfAborted();
      // A sample that starts before the deadline may finish; one that hangs is cut a poll later.
      const attempt = AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.max(1, deadline - Date.now()) + pollMs)]);
      try {
        roles ??= await resolveRoles(ctx);
        lastRoles = roles;
        const [p, s] = await Promise.all([
          readSideLsn(await ctx.sql(roles.primary), roles.primary, ctx.inventory, attempt),
          readSideLsn(await ctx.sql(roles.secondary), roles.secondary, ctx.inventory, attempt),
        ]);
        samples++;
        const sample = { at: Date.now(), primary: comparedLsn(p, 'primary'), secondary: comparedLsn(s, 'secondary') };
        const state = window.add(sample);
        const gap = sample.primary !== null && sample.secondary !== null ? lsnDiff(sample.primary, sample.secondary) : undefined;
        const times = { elapsed: formatSeconds(Date.now() - started), left: formatSeconds(deadline - Date.now()) };
        ctx.log.progress(
          gap === 0n
            ? ctx.text('waitingEqual', { equalFor: formatSeconds(window.equalForMs()), stableFor: formatSeconds(stableForMs), ...times })
            : ctx.text('waitingApart', { primary: p.side, secondary: s.side, ...apartData(gap, previousGap), ...times }),
        );
        previousGap = gap;
        if (state === 'stable') {
          const waitedMs = Date.now() - started;
          // What the wait found stays under the step once it ends (the progress line does not).
          ctx.log.info(ctx.text('stable', { lsn: formatLsn(sample.primary), primary: p.side, secondary: s.side, stableFor: formatSeconds(window.equalForMs()), waited: formatSeconds(waitedMs), samples }));
          return { lsn: formatLsn(sample.primary), samples, waitedMs, reconnects: failures };
        }
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
        if (!attempt.aborted && !retriable(error)) throw error;
        failures++;
        window.reset();
        lastError = (error as Error).message.replace(/\.\s*$/, '');
        roles = undefined;
        ctx.invalidateRoles?.();
        ctx.log.progress(ctx.text('sampleFailed', { error: lastError }));
      }
      const left = deadline - Date.now();
      if (left <= 0) throw timeoutFailure(ctx, window, { ...texts, stableForMs, pollMs, failures, lastError, roles: lastRoles });
      await sleep(Math.min(pollMs, left), ctx.signal);
    }
  },

  // plan --probe: one paired sample, no waiting. The outputs exist only after a whole window, so
  // none is returned; the note says where the LSNs stand now.
  async probe(ctx, args: WaitLsnStableArgs) {
    const roles = await resolveRoles(ctx);
    const [p, s] = await Promise.all([
      readSideLsn(await ctx.sql(roles.primary), roles.primary, ctx.inventory, ctx.signal),
      readSideLsn(await ctx.sql(roles.secondary), roles.secondary, ctx.inventory, ctx.signal),
    ]);
    const sample = { at: Date.now(), primary: comparedLsn(p, 'primary'), secondary: comparedLsn(s, 'secondary') };
    const stableFor = durationText(args.stableFor, ctx.defaults.stableFor);
    ctx.log.info(ctx.text('probed', { ...sampleData(roles.primary, roles.secondary, sample, 'equal now'), stableFor }));
    return undefined;
  },
});

async function resolveRoles(ctx: StepRunContext): Promise<Roles> {
  const primary = await ctx.resolveTarget('primary');
  const secondary = await ctx.resolveTarget('secondary');
  return { primary, secondary };
}

/** A lost connection or a replica briefly without a primary is waited out; SQL errors and split-brain are not. */
function retriable(error: unknown): boolean {
  if (isConnectionLoss(error)) return true;
  if (error instanceof GuardRefusal) return error.messageId === 'noPrimary';
  return error instanceof StepFailure && error.messageId === 'unreachable';
}

/**
 * Where the secondary stands while the LSNs differ, in words: behind (or ahead) and whether the gap
 * is shrinking. LSN differences are compared, never shown: they are not an amount of log. The log
 * KB and seconds behind need the queue sizes the DMV reports, which issue 10's branch (i10a) reads.
 */
export function apartData(gap: bigint | undefined, previous: bigint | undefined): { where: string; trend: string } {
  if (gap === undefined) return { where: 'not yet comparable with', trend: '' };
  const abs = (v: bigint) => (v < 0n ? -v : v);
  const trend = previous === undefined || previous === 0n ? '' : abs(gap) < abs(previous) ? ', shrinking' : abs(gap) > abs(previous) ? ', growing' : ', not shrinking';
  return { where: gap > 0n ? 'behind' : 'ahead of', trend };
}

/** A sample for the `sample` and `probed` messages; `equal` is what to say when the LSNs match. */
function sampleData(primary: ReplicaSide, secondary: ReplicaSide, sample: LsnSample, equal: string) {
  const gap = sample.primary !== null && sample.secondary !== null ? lsnDiff(sample.primary, sample.secondary) : undefined;
  const state = gap === 0n ? equal : `gap ${gap === undefined ? 'unknown' : gap.toString()}`;
  return { primary, secondary, primaryLsn: formatLsn(sample.primary), secondaryLsn: formatLsn(sample.secondary), state };
}

interface TimeoutContext {
  stableFor: string;
  timeout: string;
  stableForMs: number;
  pollMs: number;
  failures: number;
  lastError?: string;
  roles?: Roles;
}

function timeoutFailure(report: StepMessages<'noSample' | 'notStable' | 'apart' | 'moving' | 'interrupted' | 'stalled'>, window: LsnStability, t: TimeoutContext) {
  const last = window.last;
  if (!last) return report.fail('noSample', { timeout: t.timeout, error: t.lastError ?? 'no answer' });
  const moving = window.primaryMoving(Date.now(), Math.max(t.stableForMs, 3 * t.pollMs));
  const movement = moving
    ? report.text('moving')
    : t.failures > 0 && t.lastError
      ? report.text('interrupted', { failures: t.failures, error: t.lastError })
      : report.text('stalled');
  const primary = t.roles ? `the primary ${t.roles.primary}` : 'the primary';
  const secondary = t.roles ? `the secondary ${t.roles.secondary}` : 'the secondary';
  if (last.primary !== null && last.primary === last.secondary) {
    return report.fail('notStable', { lsn: formatLsn(last.primary), stableFor: t.stableFor, timeout: t.timeout, movement: lower(movement) });
  }
  const secondaryBehind = last.primary === null || last.secondary === null || last.secondary < last.primary;
  const gap = last.primary !== null && last.secondary !== null ? lsnDiff(last.primary, last.secondary) : undefined;
  return report.fail('apart', {
    timeout: t.timeout,
    behind: secondaryBehind ? secondary : primary,
    ahead: secondaryBehind ? primary : secondary,
    gap: gap === undefined ? 'an unknown amount' : (gap < 0n ? -gap : gap).toString(),
    primaryLsn: formatLsn(last.primary),
    secondaryLsn: formatLsn(last.secondary),
    movement: lower(movement),
  });
}

/** Message fragments are sentences on their own; inside another sentence they start lower-case. */
function lower(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1).replace(/\.$/, '');
}

