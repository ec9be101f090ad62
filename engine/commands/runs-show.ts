// `runbook runs show <run-id>`: one run from its journal, as text, JSON, or Markdown for a change
// ticket (engine/apply/journal/report.ts). Reads the journal only; a damaged one is named, exit 2.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { UsageError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { journalPath, listRuns } from '../apply/journal/runs.js';
import { JournalDamage, readJournal } from '../apply/journal/read.js';
import { runReport } from '../apply/journal/report.js';
import { renderRunReportMarkdown, renderRunReportText } from '../ui/run-report.js';
import { closest } from '../core/diagnostics.js';
import { journalDirOf } from './runs.js';
import type { CommandIO } from './io.js';

export interface RunsShowOptions {
  runId: string;
  format: 'text' | 'json' | 'markdown';
}

export async function runsShowCommand(opts: RunsShowOptions, io: CommandIO): Promise<number> {
  const dir = journalDirOf(io);
  if (!/^[A-Za-z0-9-]+$/.test(opts.runId)) throw new UsageError(`runs show: "${opts.runId}" is not a run id (see runbook runs)`);
  const path = journalPath(dir, opts.runId);
  if (!existsSync(path)) {
    const guess = closest(opts.runId, listRuns(dir, hostname()).map((r) => r.runId));
    throw new UsageError(`runs show: no journal for run ${opts.runId} in ${dir}${guess ? `; did you mean ${guess}?` : ''} (see runbook runs)`);
  }
  let report;
  try {
    report = runReport(path, readJournal(path, opts.runId).records, hostname());
  } catch (error) {
    if (error instanceof JournalDamage) throw new UsageError(`runs show: the journal of run ${opts.runId} is damaged: ${error.message}`);
    throw error;
  }
  if (!report) throw new UsageError(`runs show: the journal of run ${opts.runId} has no start record`);
  if (opts.format === 'json') io.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else if (opts.format === 'markdown') io.stdout.write(renderRunReportMarkdown(report));
  else io.stdout.write(renderRunReportText(report));
  return ExitCode.done;
}
