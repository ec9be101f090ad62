// How sqlExec sends one batch of a change under the run's lock check (engine/drivers/sql/
// guarded-batches.ts plans it): the check alone right before the batch or at its head, and what
// a lock lost before or during the batch means for it.
import { runSql } from '../../engine/drivers/on-demand.js';
import type { QueryParams, RunSqlOptions } from '../../engine/drivers/sql/pool.js';
import type { ChangeGuard } from '../../engine/step-api/index.js';

/** The run's lock could not be shown held: the batch was not sent. */
export class LockCheckRefused extends Error {}

/** The run's lock was lost while the batch was in flight: it was cancelled, part of it may have run. */
export class LockLostMidBatch extends Error {}

/**
 * Sends one batch of the script; a change with the run's lock check, alone right before it or at
 * its head (the guard says which), so the server runs it only while the lock is held.
 */
export async function sendBatch(pool: Parameters<typeof runSql>[0], text: string, params: QueryParams, signal: AbortSignal, options: RunSqlOptions, guard: ChangeGuard | undefined) {
  if (!guard) return runSql(pool, text, params, signal, options);
  const plan = guard.batches(text);
  if ('refused' in plan) throw new LockCheckRefused(plan.refused);
  // The check covers the batch's statements only as they start: once the lock is known lost, the
  // rest of a batch still running is cancelled (the server's window is then the statement under way).
  const lost = plan.lost;
  const watched = lost ? AbortSignal.any([signal, lost]) : signal;
  const why = () => String((lost?.reason as Error | undefined)?.message ?? 'the lock was lost');
  try {
    for (const check of plan.send.slice(0, -1)) await runSql(pool, check, {}, watched);
  } catch (error) {
    if (!signal.aborted && lost?.aborted) throw new LockCheckRefused(`${why()}, before the batch was sent`);
    throw error;
  }
  if (lost?.aborted && !signal.aborted) throw new LockCheckRefused(`${why()}, before the batch was sent`);
  try {
    return await runSql(pool, plan.send.at(-1)!, params, watched, options);
  } catch (error) {
    // The server's own refusal wins: it says the check ran and nothing of the batch did.
    if (!signal.aborted && lost?.aborted && !guard.refused(error)) throw new LockLostMidBatch(why());
    throw error;
  }
}
