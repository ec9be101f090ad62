// Log sequence numbers as the link's DMVs give them: numeric(25,0), well above 2^53. They are
// read as text (CAST in SQL) and handled as BigInt here; a JS number would silently drop digits
// (71000009408100001 and 71000009408100002 are the same double).

export type Lsn = bigint;

/** Parses an LSN read as text; null/undefined (an async primary's last_hardened_lsn) gives null. */
export function parseLsn(value: unknown): Lsn | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    // Refuse rather than guess: this is the precision trap (numeric read without a CAST).
    throw new TypeError(
      `LSN ${value} arrived as a JS number and may have lost digits; read it with CAST(... AS varchar(30)).`,
    );
  }
  if (typeof value !== 'string') throw new TypeError(`LSN must be text, got ${typeof value}.`);
  const text = value.trim();
  // numeric(25,0) may come back as `123` or `123.` or `123.0` depending on the CAST target.
  const match = /^(\d{1,25})(?:\.0*)?$/.exec(text);
  if (!match) throw new TypeError(`Not an LSN: '${text}'.`);
  return BigInt(match[1]);
}

export function compareLsn(a: Lsn, b: Lsn): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function lsnEqual(a: Lsn | null, b: Lsn | null): boolean {
  return a !== null && b !== null && a === b;
}

/** a - b, exactly. */
export function lsnDiff(a: Lsn, b: Lsn): bigint {
  return a - b;
}

export function formatLsn(lsn: Lsn | null): string {
  return lsn === null ? 'NULL' : lsn.toString();
}

export interface LsnSample {
  /** ms timestamp of the sample. */
  at: number;
  primary: Lsn | null;
  secondary: Lsn | null;
  /**
   * False when the secondary's state says the pair cannot count even with equal LSNs (suspended,
   * or not SYNCHRONIZED in synchronous commit); absent means it can.
   */
  ready?: boolean;
}

/**
 * The stability clock of a planned failover: LSNs count as stable only when the primary's and
 * the secondary's are equal, the secondary is ready, and every sample since the window opened saw
 * that same value, for at least `stableForMs`. A failed sample closes the window: what was not
 * seen cannot count; so does a sample whose secondary is not ready (`unready`).
 */
export class LsnStability {
  private windowStart: number | undefined;
  private windowLsn: Lsn | undefined;
  private previousPrimary: Lsn | null | undefined;
  /** When the primary's LSN last differed from the sample before. */
  primaryChangedAt: number | undefined;
  last: LsnSample | undefined;

  constructor(private readonly stableForMs: number) {}

  add(sample: LsnSample): 'stable' | 'equal' | 'apart' | 'unready' {
    if (this.previousPrimary !== undefined && sample.primary !== this.previousPrimary) {
      this.primaryChangedAt = sample.at;
    }
    this.previousPrimary = sample.primary;
    this.last = sample;
    if (!lsnEqual(sample.primary, sample.secondary)) {
      this.windowStart = undefined;
      return 'apart';
    }
    if (sample.ready === false) {
      this.windowStart = undefined;
      return 'unready';
    }
    if (this.windowStart === undefined || this.windowLsn !== sample.primary) {
      this.windowStart = sample.at;
      this.windowLsn = sample.primary as Lsn;
    }
    return this.equalForMs() >= this.stableForMs && sample.at > this.windowStart ? 'stable' : 'equal';
  }

  /** A sample could not be taken (connection lost): the window starts again. */
  reset(): void {
    this.windowStart = undefined;
  }

  /** How long the current window has held, 0 when none is open. */
  equalForMs(): number {
    if (this.windowStart === undefined || !this.last) return 0;
    return this.last.at - this.windowStart;
  }

  /** Whether the primary moved within `withinMs` before `now`. */
  primaryMoving(now: number, withinMs: number): boolean {
    return this.primaryChangedAt !== undefined && now - this.primaryChangedAt <= withinMs;
  }
}
