// LSNs as SQL Server shows them in the HADR DMVs: numeric(25,0) values built from a virtual log
// file number, a log block offset and a slot (e.g. 71000009408100001 = VLF 71, block 94081,
// slot 1). They exceed 2^53, so the lab keeps them as bigint end to end.

/** A transaction's commit record advances the log by this many blocks (one block = 10^5). */
export const BLOCKS_PER_TRANSACTION = 16n;
const BLOCK = 100_000n;

/** The LSN after `count` more committed transactions, starting from `from`. */
export function lsnAfter(from: bigint, count: number | bigint): bigint {
  return from + BigInt(count) * BLOCKS_PER_TRANSACTION * BLOCK;
}

/** Parses an LSN written as text or number in a scenario; throws on anything else. */
export function parseLsn(value: string | number | bigint): bigint {
  if (typeof value === 'bigint') return value;
  const text = String(value).trim();
  if (!/^\d{1,25}$/.test(text)) throw new Error(`not an LSN: ${JSON.stringify(value)}`);
  return BigInt(text);
}
