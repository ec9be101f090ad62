// The wave's summary: one row per link (state, exit code, what changed, time, run id; a link with
// something to act on flagged ATTENTION), every link's Attention lines, totals, then the wave's exit
// code, its worst link's.
import { formatElapsed } from '../../core/duration.js';
import { exitCodeMeaning } from '../../core/exit-codes.js';
import { plainStyle, type Style } from '../style.js';
import { needsAttention, type LinkProgress } from './progress.js';

export interface WaveSummary {
  waveId: string;
  record: string;
  links: LinkProgress[];
  exitCode: number;
  stoppedBy?: string;
  /** The wave's --max-failures, for the resume command that gets past the failures it stopped at. */
  maxFailures?: number;
  durationMs: number;
}

export function waveTotals(links: LinkProgress[]): Record<string, number> {
  const totals: Record<string, number> = { links: links.length, done: 0, failed: 0, 'not started': 0 };
  for (const l of links) {
    const key = l.state === 'done' ? 'done' : l.state === 'failed' ? 'failed' : 'not started';
    totals[key] = (totals[key] ?? 0) + 1;
  }
  return totals;
}

export function renderWaveSummary(s: WaveSummary, style: Style = plainStyle): string {
  const rows = s.links.map((l) => [
    l.name,
    needsAttention(l) ? `${l.state}, ATTENTION` : l.state,
    l.exitCode === undefined ? '-' : String(l.exitCode),
    l.changed === undefined ? '-' : l.changed.length ? l.changed.join(', ') : 'nothing',
    l.durationMs === undefined ? '-' : formatElapsed(l.durationMs),
    l.runId ?? '-',
  ]);
  const head = ['link', 'state', 'exit', 'changed', 'time', 'run'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = ['', style.bold(`Summary of wave ${s.waveId} (${formatElapsed(s.durationMs)})`), `  ${line(head)}`];
  for (const r of rows) {
    const text = `  ${line(r)}`;
    out.push(r[1] === 'done' ? text : r[1].startsWith('done') ? style.yellow(text) : r[1].startsWith('failed') ? style.red(text) : style.dim(text));
  }
  // Each link's own summary scrolled by (or, on a terminal, was never shown): what to act on is said again here.
  const heeded = s.links.filter((l) => l.attention?.length);
  if (heeded.length) {
    out.push(style.bold('Attention:'));
    for (const l of heeded) for (const line of l.attention!) out.push(`  [${l.name}] ${line}`);
  }
  const t = waveTotals(s.links);
  out.push(`Totals: ${t.links} links, ${t.done} done, ${t.failed} failed, ${t['not started']} not started`);
  if (s.stoppedBy) out.push(`Stopped: ${stopWords[s.stoppedBy] ?? s.stoppedBy}.`, ...resumeAfterStop(s, t.failed));
  else if (t.failed) out.push(`To run the unfinished links again: runbook apply --resume ${s.waveId}`);
  out.push(`Wave record: ${s.record}`);
  const exitLine = `Exit ${s.exitCode}: ${exitCodeMeaning(s.exitCode)} (the worst link's)`;
  out.push(s.exitCode === 0 ? style.green(exitLine) : style.red(style.bold(exitLine)));
  return out.join('\n') + '\n';
}

/**
 * A resume keeps the wave's options and runs the unfinished links in the fleet's order, the failed
 * ones among them: as is, it would stop again at the same failures (the canary first, or the same
 * count of failures). Each line says what the plain resume does, and the flag that goes on past it.
 */
function resumeAfterStop(s: WaveSummary, failed: number): string[] {
  const resume = `runbook apply --resume ${s.waveId}`;
  if (s.stoppedBy === 'canary') {
    return [`  ${resume} runs the canary again first, once its failure is fixed;`, `  ${resume} --canary 0 starts the links not started without waiting on it (the failed link runs again too).`];
  }
  if (s.stoppedBy === 'max-failures' && s.maxFailures !== undefined) {
    return [`  ${resume} runs the failed links again first, and their failures count again;`, `  ${resume} --max-failures ${failed + s.maxFailures} allows them and ${s.maxFailures} more.`];
  }
  return [`  The links not started can be run with: ${resume}`];
}

const stopWords: Record<string, string> = {
  canary: 'a canary link failed, so no other link was started',
  'max-failures': 'the failure threshold (--max-failures) was reached, so no new link was started',
  interrupted: 'interrupted, so no new link was started',
};
