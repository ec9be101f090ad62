// Apply's guards: what must be true before anything runs (data-loss acknowledgement), the link
// lock taken for the whole run. (What the operator is asked: engine/apply/gates.ts.)
import type { Inventory } from '../core/types.js';
import type { Plan } from '../plan/types.js';
import { ExitError, errorMessage } from '../core/errors.js';
import { ExitCode, exitCodeMeaning } from '../core/exit-codes.js';
import type { Journal } from './journal/write.js';
import type { Reporter } from './events.js';
import type { LinkLock, LockHolder } from '../drivers/sql/lock.js';
import type { LockSessions } from '../drivers/sql/lock-sessions.js';

/** Refuses (exit 3) before anything runs when a step that will or may run can lose data. */
export function checkDataLossAcknowledged(plan: Plan, allowDataLoss: string | undefined): void {
  const risky = plan.steps.filter((s) => s.impact === 'dataLoss' && s.decision !== 'skip');
  if (risky.length === 0) return;
  const names = risky.map((s) => `${s.index}. ${s.id} (${s.type})`).join(', ');
  const flag = `--allow-data-loss ${plan.inventory.link}`;
  if (allowDataLoss === undefined) {
    throw new ExitError(ExitCode.refused, `refusing to apply: step(s) ${names} can lose data. Nothing was run. To go on, pass ${flag} (--yes does not imply it).`);
  }
  if (allowDataLoss !== plan.inventory.link) {
    throw new ExitError(ExitCode.refused, `refusing to apply: --allow-data-loss names "${allowDataLoss}" but this plan's link is "${plan.inventory.link}" (data-loss step(s): ${names}). Nothing was run. Pass ${flag}.`);
  }
}

export interface LockRequest {
  inventory: Inventory;
  env: NodeJS.ProcessEnv;
  holder: LockHolder;
  /** A wave's lock sessions shared per server; a run opens its own when absent. */
  sessions?: LockSessions;
  journal: Journal;
  reporter: Reporter;
  notices: string[];
  startedAt: number;
  /** The step running now, for the lock's progress lines. */
  currentStep: () => string | undefined;
  /** Taken for `apply --resume` (how a loss while it is taken is worded). */
  resuming?: boolean;
  /** A line for the operator now (where the interrupts' lines go): what a slow lock waits for. */
  say?(line: string): void;
}

/** Takes the link lock on the replicas, or journals the refusal and throws it (exit 3). */
export async function takeLinkLock(req: LockRequest): Promise<LinkLock> {
  const { acquireLinkLock, holderAppName } = await import('../drivers/sql/lock.js');
  let lock: LinkLock;
  try {
    lock = await acquireLinkLock(req.inventory, {
      env: req.env,
      holder: req.holder,
      ...(req.sessions ? { sessions: req.sessions } : {}),
      ...(req.resuming ? { resuming: true } : {}),
      ...(req.say ? { waiting: req.say } : {}),
      currentStep: req.currentStep,
      // A lock lost and taken back with nothing changed lets the run go on; the summary says it happened.
      info: (message) => {
        req.notices.push(`lock: ${message}`);
        void req.reporter.emit({ event: 'step-output', step: req.currentStep() ?? 'lock', level: 'info', message });
      },
      warn: (message) => {
        req.notices.push(`lock: ${message}`);
        void req.reporter.emit({ event: 'step-output', step: req.currentStep() ?? 'lock', level: 'warn', message });
      },
      onLoss: (e) => req.journal.write({ kind: 'lock-lost', ...e }),
    });
  } catch (error) {
    const message = errorMessage(error);
    req.journal.write({ kind: 'lock-refused', resource: req.inventory.link.name, side: '', holder: message });
    const code = error instanceof ExitError ? error.exitCode : ExitCode.refused;
    req.journal.write({ kind: 'run-finished', exitCode: code, meaning: exitCodeMeaning(code), durationMs: Date.now() - req.startedAt, changed: [] });
    await req.journal.close();
    throw new ExitError(code, `refusing to apply: ${message}`);
  }
  req.journal.write({ kind: 'lock', resource: lock.resource, held: lock.held, unreachable: lock.unreachable, holder: holderAppName(req.holder) });
  for (const u of lock.unreachable) req.notices.push(`lock: ${u.side} could not be reached, so it is not locked (${u.error})`);
  return lock;
}
