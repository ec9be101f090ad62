// Reproducible randomness for the drill: one 32-bit seed per run, derived from the drill's seed
// and the run's number, and per case from that seed and the case's id, so that
// `--seed <run seed> --only <case>` replays exactly the run that broke.

/** mulberry32: small, fast, and the same sequence on every platform for the same seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the text, mixed with a seed: a stable 32-bit value per (seed, text). */
export function derive(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The seed of run number `index` (0-based) of a drill seeded `seed`: run 0 has the drill's own seed. */
export function runSeed(seed: number, index: number): number {
  return index === 0 ? seed >>> 0 : derive(seed, `run ${index}`);
}

/** A whole number in [from, to], drawn from `next`. */
export function between(next: () => number, from: number, to: number): number {
  return from + Math.floor(next() * (to - from + 1));
}
