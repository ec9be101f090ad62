// Durations as people write them in runbooks (`500ms`, `30s`, `10m`, `1h`, `1m30s`), parsed and
// written back; and measured times as progress lines and summaries show them.
const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
const ORDER = ['h', 'm', 's', 'ms'] as const;
/** Longer than a day is a typo, not a plan. */
export const MAX_DURATION_MS = 24 * 3_600_000;

export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

/** Milliseconds for a duration text; throws DurationError with a message fit for a diagnostic. */
export function parseDuration(text: string): number {
  if (typeof text !== 'string') throw new DurationError(`a duration must be text such as "30s", not ${typeof text}`);
  const s = text.trim();
  const hint = 'use a number and a unit: "500ms", "30s", "10m", "1h" or a combination such as "1m30s"';
  if (s === '') throw new DurationError(`empty duration; ${hint}`);
  if (s.startsWith('-')) throw new DurationError(`"${text}" is negative; ${hint}`);
  if (/^\d+(\.\d+)?$/.test(s)) throw new DurationError(`"${text}" has no unit; ${hint}`);
  const part = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;
  let total = 0;
  let lastRank = -1;
  let pos = 0;
  while (pos < s.length) {
    part.lastIndex = pos;
    const m = part.exec(s);
    if (!m) throw new DurationError(`"${text}" is not a duration; ${hint}`);
    const unit = m[2] as keyof typeof UNIT_MS;
    const rank = ORDER.indexOf(unit);
    if (rank <= lastRank) throw new DurationError(`"${text}" repeats or misorders units; ${hint}`);
    lastRank = rank;
    total += Number(m[1]) * UNIT_MS[unit];
    pos = part.lastIndex;
  }
  if (total > MAX_DURATION_MS) throw new DurationError(`"${text}" is longer than 24h, which is not a sensible wait or timeout`);
  return Math.round(total);
}

/** `90000` -> `1m30s`, for messages and plans. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ORDER) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit];
  }
  return out;
}

/**
 * A measured time for people reading progress and summaries: `250ms`, `1.5s`, `1m05s`. Rounded,
 * unlike formatDuration, because `1s234ms` is noise there; and not runbook notation, so never parsed back.
 */
export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  // Rounded to whole seconds before splitting, so that 1m59.7s is 2m00s, not 1m60s.
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

/**
 * A time for a wait's progress line, as a DBA reads it: `4.2 s` (one decimal under a minute; a
 * whole number of seconds without one, `30 s`), `9 min 58 s` from a minute on (`10 min`).
 * `measured`: a time taken, not one configured, keeps its tenth under a minute (`1.0 s`, `0.0 s`),
 * so that the figures of one line read alike as they tick.
 */
export function formatSeconds(ms: number, opts: { measured?: boolean } = {}): string {
  const t = Math.max(0, ms);
  if (t < 59_950) {
    const tenths = Math.round(t / 100);
    return `${tenths % 10 === 0 && !opts.measured ? tenths / 10 : (tenths / 10).toFixed(1)} s`;
  }
  const seconds = Math.round(t / 1000);
  const rest = seconds % 60;
  return rest ? `${Math.floor(seconds / 60)} min ${rest} s` : `${seconds / 60} min`;
}
