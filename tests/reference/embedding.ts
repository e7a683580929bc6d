// Float64 CPU reference for shaders/embedding.wgsl: row lookup and the scatter-add of its gradient.

/** x[r, :] = E[ids[r], :] */
export function embeddingForward(E: ArrayLike<number>, ids: ArrayLike<number>, C: number): Float64Array {
  const x = new Float64Array(ids.length * C);
  for (let r = 0; r < ids.length; r++) for (let c = 0; c < C; c++) x[r * C + c] = E[ids[r] * C + c];
  return x;
}

/**
 * dE[V, C] after dE[ids[r], :] += dx[r, :] for every row r < ids.length: the gradient of the lookup,
 * rows of one token summed. dE0 is the table's gradient before (parameter gradients accumulate).
 */
export function embeddingBackward(dE0: ArrayLike<number>, dx: ArrayLike<number>, ids: ArrayLike<number>, C: number): Float64Array {
  const dE = Float64Array.from(dE0);
  for (let r = 0; r < ids.length; r++) for (let c = 0; c < C; c++) dE[ids[r] * C + c] += dx[r * C + c];
  return dE;
}
