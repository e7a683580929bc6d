// CPU reference for shaders/dropout.wgsl: inverted dropout whose mask is a pure function of
// (seed, element), written again here from the shader's header so the two can be compared bit for
// bit. The values are float64; the mask decision is integer arithmetic and exact.

/** lowbias32: a 32-bit integer mix (xor-shift, multiply, twice). Math.imul keeps the products mod 2^32. */
function mix(v: number): number {
  let h = v >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Whether element i survives: hash(seed, i) ≥ p·2^32 (p = 0 keeps everything, p → 1 drops everything). */
export function dropoutKeep(seed: number, i: number, p: number): boolean {
  return mix((i ^ mix(seed)) >>> 0) >= Math.min(0xffffffff, Math.floor(p * 2 ** 32));
}

/** out[i] = x[i] · keep(i) / (1 − p) */
export function dropoutForward(x: ArrayLike<number>, p: number, seed: number): Float64Array {
  return Float64Array.from({ length: x.length }, (_, i) => (dropoutKeep(seed, i, p) ? x[i] / (1 - p) : 0));
}

/** dx[i] = dx0[i] + g[i] · keep(i) / (1 − p): the same mask as the forward with the same seed, added. */
export function dropoutBackward(dx0: ArrayLike<number>, g: ArrayLike<number>, p: number, seed: number): Float64Array {
  return Float64Array.from({ length: g.length }, (_, i) => dx0[i] + (dropoutKeep(seed, i, p) ? g[i] / (1 - p) : 0));
}
