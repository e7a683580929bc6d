// Seeded randomness for everything that must come out the same on every run and every machine:
// train/test splits, bootstrap resampling, data order. Math.random() is never used for these.
//
// mulberry32 (Tommy Ettinger's 32-bit generator): one u32 of state, period 2^32, passes gjrand and
// PractRand to tens of GB — far more than a shuffle of a few thousand questions needs — and is a
// handful of integer ops, so the same seed gives the same stream in every JS engine.

/** A generator of uniform floats in [0, 1), fully determined by `seed` (any number; its low 32 bits are used). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A shuffled copy of `array` (Fisher–Yates; every permutation equally likely). The input is not modified. */
export function shuffle<T>(array: readonly T[], random: () => number): T[] {
  const out = array.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1)); // 0 ≤ j ≤ i
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/**
 * A seed derived from a base seed and a string (FNV-1a over the UTF-16 code units, mixed with the seed),
 * so that independent streams — one per subject, say — do not shift when another stream is added.
 */
export function hashSeed(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
