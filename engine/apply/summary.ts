// What a run's end says: the summary the reporters show (engine/ui/reporters/run-text.ts renders
// it as text) and the journal's last record, which says the same. Pure.
import { exitCodeMeaning } from '../core/exit-codes.js';
import type { JournalRecord } from './journal/write.js';
import type { RunSummary, StepOutcomeSummary } from './events.js';

/** The run's record at its end. */
export interface RunEnd {
  runId: string;
  journal: string;
  exitCode: number;
  durationMs: number;
  changed: readonly string[];
  mayHaveChanged: readonly string[];
  steps: readonly StepOutcomeSummary[];
  notices: readonly string[];
  stoppedAt: string | undefined;
  notResumable?: RunSummary['notResumable'];
}

export function runSummary(end: RunEnd): RunSummary {
  const { mayHaveChanged, notices, stoppedAt } = end;
  return {
    runId: end.runId,
    journal: end.journal,
    exitCode: end.exitCode,
    meaning: exitCodeMeaning(end.exitCode),
    durationMs: end.durationMs,
    changed: [...end.changed],
    ...(mayHaveChanged.length ? { mayHaveChanged: [...mayHaveChanged] } : {}),
    steps: end.steps.map((s) => ({ ...s })),
    ...(notices.length ? { notices: [...notices] } : {}),
    ...(stoppedAt ? { stoppedAt } : {}),
    ...(end.notResumable ? { notResumable: end.notResumable } : {}),
  };
}

/** The journal's `run-finished` record for a run that ended normally. */
export function runFinishedRecord(summary: RunSummary): Extract<JournalRecord, { kind: 'run-finished' }> {
  const { exitCode, meaning, durationMs, changed, mayHaveChanged, stoppedAt } = summary;
  return { kind: 'run-finished', exitCode, meaning, durationMs, changed, ...(mayHaveChanged ? { mayHaveChanged } : {}), ...(stoppedAt ? { stoppedAt } : {}) };
}
