// Comparison helpers: the worst element, so a failure says where and by how much.

export interface Mismatch {
  index: number;
  got: number;
  want: number;
  error: number;
}

/** Largest |got − want| / (atol/rtol mix); returns null if every element is within tolerance. */
export function firstMismatch(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number): Mismatch | null {
  if (got.length !== want.length) return { index: -1, got: got.length, want: want.length, error: Infinity };
  let worst: Mismatch | null = null;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    const err = Math.abs(g - w);
    const bad = !(err <= atol + rtol * Math.abs(w)); // NaN (an unwritten, poisoned element) is bad
    if (bad && (!worst || !(err <= worst.error))) worst = { index: i, got: g, want: w, error: err };
  }
  return worst;
}

export function maxRelativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num = Math.max(num, Math.abs(got[i] - want[i]));
    den = Math.max(den, Math.abs(want[i]));
  }
  return den === 0 ? num : num / den;
}
