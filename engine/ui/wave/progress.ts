// What the wave's views know of each link while it runs, folded from the link's own run events:
// its state, the step it is on, the LSN gap its last progress line reported, when it started, and
// what it said the operator must act on.
import type { RunEvent } from '../../apply/events.js';
import type { WaveLinkState } from '../../fleet/record.js';
import { attentionLines } from '../reporters/run-text.js';

export interface LinkProgress {
  name: string;
  state: WaveLinkState;
  runId?: string;
  step?: string;
  /** The last LSN gap a step reported (waitLsnStable, lsnGap), as the step worded it. */
  gap?: string;
  startedAt?: number;
  durationMs?: number;
  exitCode?: number;
  meaning?: string;
  changed?: string[];
  journal?: string;
  /** A step warned while the link runs: the row says so at once, not only at the end. */
  warned?: boolean;
  /** The run's Attention lines (warnings, notify, data lost, two primaries): the wave repeats them per link. */
  attention?: string[];
}

/** A row that needs the operator's eyes even though its run may have ended "done". */
export const needsAttention = (p: Pick<LinkProgress, 'warned' | 'attention'>): boolean => Boolean(p.warned || p.attention?.length);

const GAP = /\b(gap|behind)\b[^;,.]*/i;

export function foldEvent(p: LinkProgress, e: RunEvent, now: number): void {
  switch (e.event) {
    case 'run-started':
      p.state = 'running';
      p.runId = e.runId;
      p.journal = e.journal;
      p.startedAt ??= now;
      break;
    case 'step-started':
      p.step = `${e.step} (${e.index}/${e.total})`;
      break;
    case 'step-output': {
      if (e.level === 'warn') p.warned = true;
      const m = GAP.exec(e.message);
      if (m) p.gap = m[0].trim();
      break;
    }
    case 'run-finished':
      p.exitCode = e.exitCode;
      p.meaning = e.meaning;
      p.durationMs = e.summary.durationMs;
      p.changed = e.summary.changed;
      p.attention = attentionLines(e.summary);
      p.step = undefined;
      break;
    default:
      break;
  }
}
