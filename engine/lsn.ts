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
