// What apply tells the outside world while it runs, as data, and the Reporter it tells it to. The
// reporters are engine/ui/reporters/: JSON lines (`--format json`), plain lines (no TTY or CI), and
// listr2 (a TTY).
import type { Impact } from '../core/types.js';
import type { ProgressData } from '../step-api/types.js';

export interface StepOutcomeSummary {
  index: number;
  id: string;
  type: string;
  impact: Impact;
  outcome: 'succeeded' | 'failed' | 'refused' | 'unknown' | 'interrupted' | 'skipped' | 'not run';
  durationMs?: number;
  attempts?: number;
  error?: string;
  reason?: string;
}

export interface RunSummary {
  runId: string;
  journal: string;
  exitCode: number;
  meaning: string;
  durationMs: number;
  changed: string[];
  /** Change steps whose failure leaves open whether they acted: never "nothing was changed" with these. */
  mayHaveChanged?: string[];
  steps: StepOutcomeSummary[];
  /** Warnings steps gave during the run (`step-id: message`), repeated at the end for the operator. */
  notices?: string[];
  /** Where an interrupt stopped the run, e.g. `before step after (3 of 9)`. */
  stoppedAt?: string;
  /**
   * Why `apply --resume` would not go on from here: the run was on the embedded lab (`--lab`), which
   * ended with it; or no step ran, so a resume is just the same command run again.
   */
  notResumable?: 'lab' | 'nothing-ran';
}

export interface LockSummary {
  resource: string;
  held: string[];
  unreachable: Array<{ side: string; error: string }>;
}

export type RunEvent =
  | { event: 'run-started'; runId: string; runbook: string; link: string; journal: string; steps: number; resumed?: boolean; lock?: LockSummary }
  /** On resume: a step that finished in the earlier attempt; its outputs are restored, it is not run. */
  | { event: 'step-restored'; step: string; index: number; total: number; verified: boolean }
  /** `readAgain`: on resume, a read that finished before but whose result held only at that moment. */
  | { event: 'step-started'; step: string; index: number; total: number; type: string; impact: Impact; attempt: number; target?: string; readAgain?: boolean }
  /** `data`: structured values a step gave with a progress line (e.g. waitLsnStable's LSNs and queues). */
  | { event: 'step-output'; step: string; level: 'progress' | 'info' | 'warn'; message: string; data?: ProgressData }
  | { event: 'step-finished'; step: string; outputs: Record<string, unknown>; durationMs: number; attempts: number }
  | { event: 'step-failed'; step: string; error: string; outcome: string; durationMs: number; attempt: number; willRetry: boolean }
  | { event: 'step-skipped'; step: string; index: number; total: number; reason: string }
  | { event: 'run-finished'; exitCode: number; meaning: string; summary: RunSummary };

export interface Reporter {
  emit(event: RunEvent): void | Promise<void>;
  /**
   * Runs `ask` with the terminal to itself: a reporter that redraws the screen (listr2) pauses while
   * the operator is asked something, so the question stays visible and typed keys echo in place.
   */
  aside?<T>(ask: () => Promise<T>): Promise<T>;
  /** Writes a line for the operator at once, even while the reporter redraws the screen. */
  say?(line: string): void;
}
