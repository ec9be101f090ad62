// Why a waitLsnStable wait failed, in the words the operator reads: how far behind the secondary is
// in what the replicas report (KB, seconds), never a raw LSN difference (it is not an amount of
// log); the LSNs only as detail. The step (steps/waitLsnStable.ts) decides when; this says what.
import { notReadyReason, pairQueues, synchronousCommit, type SideLsn } from '../../engine/drivers/sql/lsn-queries.js';
import { formatLsn, type LsnStability, type ReplicaSide, type StepMessages, type StepRunContext } from '../../engine/step-api/index.js';

export interface LsnWaitRoles {
  primary: ReplicaSide;
  secondary: ReplicaSide;
}

type Roles = LsnWaitRoles;

/** The two sides as last read. */
export interface LsnWaitPair {
  primary: SideLsn;
  secondary: SideLsn;
}

/** The drill's wait timed out with the LSNs apart: nothing is forced, and the way back is said. */
export function demotedFailure(
  ctx: StepMessages<'noSample' | 'demotedApart' | 'demotedFailed' | 'demotedStalled'> & Pick<StepRunContext, 'inventory'>,
  window: LsnStability,
  roles: Roles,
  t: { timeout: string; failures: number; lastError?: string },
) {
  const last = window.last;
  if (!last) return ctx.fail('noSample', { timeout: t.timeout, error: t.lastError ?? 'no answer' });
  const movement = lower(t.failures > 0 && t.lastError
    ? ctx.text('demotedFailed', { error: t.lastError })
    : ctx.text('demotedStalled'));
  const { name } = ctx.inventory.link;
  return ctx.fail('demotedApart', {
    primary: roles.primary,
    secondary: roles.secondary,
    timeout: t.timeout,
    primaryLsn: formatLsn(last.primary),
    secondaryLsn: formatLsn(last.secondary),
    movement,
    link: name,
    dag: `[${name.replace(/]/g, ']]')}]`,
  });
}

/**
 * Where the secondary stands while the LSNs differ, in words: behind (or ahead) and whether the gap
 * is shrinking. LSN differences are compared, never shown: they are not an amount of log. The log
 * KB and seconds behind need the queue sizes the DMV reports, which issue 10's branch (i10a) reads.
 */
/** What the replicas report of how far behind the secondary is: ` (12 KB of log not sent, 3 s behind)`. */
export function behindAmount(logSendQueueKb: bigint | null, lagSeconds: bigint | null): string {
  const parts = [logSendQueueKb !== null ? `${logSendQueueKb} KB of log not sent` : '', lagSeconds !== null ? `${lagSeconds} s behind` : ''].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

export function apartData(gap: bigint | undefined, previous: bigint | undefined): { where: string; trend: string } {
  if (gap === undefined) return { where: 'not yet comparable with', trend: '' };
  const abs = (v: bigint) => (v < 0n ? -v : v);
  const trend = previous === undefined || previous === 0n ? '' : abs(gap) < abs(previous) ? ', shrinking' : abs(gap) > abs(previous) ? ', growing' : ', not shrinking';
  return { where: gap > 0n ? 'behind' : 'ahead of', trend };
}

export interface TimeoutContext {
  stableFor: string;
  timeout: string;
  stableForMs: number;
  pollMs: number;
  failures: number;
  lastError?: string;
  roles?: Roles;
  pair?: LsnWaitPair;
}

type TimeoutMessages =
  | 'noSample' | 'notStable' | 'apart' | 'moving' | 'interrupted' | 'stalled' | 'notReady' | 'suspendedAdvice' | 'syncAdvice' | 'asyncAdvice';

export function timeoutFailure(report: StepMessages<TimeoutMessages>, window: LsnStability, t: TimeoutContext) {
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
    const reason = t.pair ? notReadyReason(t.pair.primary, t.pair.secondary) : undefined;
    if (last.ready === false && t.pair && reason) {
      const sync = synchronousCommit(t.pair.primary, t.pair.secondary);
      return report.fail('notReady', {
        lsn: formatLsn(last.primary),
        timeout: t.timeout,
        secondary: t.pair.secondary.side,
        state: reason,
        mode: sync ? 'both sides in synchronous commit' : 'asynchronous commit',
        advice: lower(report.text(t.pair.secondary.suspended ? 'suspendedAdvice' : sync ? 'syncAdvice' : 'asyncAdvice')),
      });
    }
    return report.fail('notStable', { lsn: formatLsn(last.primary), stableFor: t.stableFor, timeout: t.timeout, movement: lower(movement) });
  }
  const secondaryBehind = last.primary === null || last.secondary === null || last.secondary < last.primary;
  // How far behind in what the replicas report (KB, seconds), as the progress line said it; the LSN
  // difference is not an amount of log, so it is never shown (the LSNs themselves follow as detail).
  const queues = t.pair && secondaryBehind ? pairQueues(t.pair.primary, t.pair.secondary) : undefined;
  return report.fail('apart', {
    timeout: t.timeout,
    behind: secondaryBehind ? secondary : primary,
    ahead: secondaryBehind ? primary : secondary,
    amount: queues ? behindAmount(queues.logSendQueueKb, queues.secondaryLagSeconds) : '',
    primaryLsn: formatLsn(last.primary),
    secondaryLsn: formatLsn(last.secondary),
    movement: lower(movement),
  });
}

/** Message fragments are sentences on their own; inside another sentence they start lower-case. */
export function lower(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1).replace(/\.$/, '');
}
