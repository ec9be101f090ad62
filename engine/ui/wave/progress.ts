// What the wave's views know of each link while it runs, folded from the link's own run events:
// its state, the step it is on, the LSN gap its last progress line reported, when it started.
import type { RunEvent } from '../../apply/events.js';
import type { WaveLinkState } from '../../fleet/record.js';

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
}

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
      const m = GAP.exec(e.message);
      if (m) p.gap = m[0].trim();
      break;
    }
    case 'run-finished':
      p.exitCode = e.exitCode;
      p.meaning = e.meaning;
      p.durationMs = e.summary.durationMs;
      p.changed = e.summary.changed;
      p.step = undefined;
      break;
    default:
      break;
  }
}
