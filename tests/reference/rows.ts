// Float64 CPU reference for shaders/rows.wgsl: whole rows of W values moved by index or into a
// KV cache. Rows an op does not name keep what the output held before (out0 / cache0).

/** out[r, :] = x[idx[r], :] */
export function gatherRows(x: ArrayLike<number>, idx: ArrayLike<number>, W: number): Float64Array {
  const out = new Float64Array(idx.length * W);
  for (let r = 0; r < idx.length; r++) for (let c = 0; c < W; c++) out[r * W + c] = x[idx[r] * W + c];
  return out;
}

/** cache [B, S, W] with x [B·Tq, W] written at positions pos0 .. pos0 + Tq − 1 of each batch item. */
export function scatterRows(cache0: ArrayLike<number>, x: ArrayLike<number>, B: number, Tq: number, S: number, W: number, pos0: number): Float64Array {
  const cache = Float64Array.from(cache0);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Tq; t++) for (let c = 0; c < W; c++) cache[(b * S + pos0 + t) * W + c] = x[(b * Tq + t) * W + c];
  }
  return cache;
}

/** out[idx[r], :] = x[r, :] for r < idx.length */
export function scatterRowsIdx(out0: ArrayLike<number>, x: ArrayLike<number>, idx: ArrayLike<number>, W: number): Float64Array {
  const out = Float64Array.from(out0);
  for (let r = 0; r < idx.length; r++) for (let c = 0; c < W; c++) out[idx[r] * W + c] = x[r * W + c];
  return out;
}
