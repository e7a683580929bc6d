// Comparison helpers: the worst element, so a failure says where and by how much; finite differences
// for checking a reference's gradients.

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

/** Central difference of f at x[i] in float64: the check of a reference gradient. */
export function fd(f: (x: Float64Array) => number, x: Float64Array, i: number, h = 1e-6): number {
  const a = Float64Array.from(x), b = Float64Array.from(x);
  a[i] += h;
  b[i] -= h;
  return (f(a) - f(b)) / (2 * h);
}

/** Σ a·b: turns an output into the scalar loss L = Σ y·dy whose gradient a backward computes. */
export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);
