// Float64 CPU reference for shaders/rmsnorm.wgsl: RMSNorm forward, and its gradients to x and w.
// Plain loops over rows r and columns c.

/** y[R,W] = x · rstd · w; returns y and rstd[R]. */
export function rmsnormForward(x: ArrayLike<number>, w: ArrayLike<number>, R: number, W: number, eps: number): { y: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(R * W);
  const rstd = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let ss = 0;
    for (let c = 0; c < W; c++) ss += x[r * W + c] ** 2;
    rstd[r] = 1 / Math.sqrt(ss / W + eps);
    for (let c = 0; c < W; c++) y[r * W + c] = x[r * W + c] * rstd[r] * w[c];
  }
  return { y, rstd };
}

/** RMSNorm backward: dx (and dw) from dy, x, w. */
export function rmsnormBackward(dy: ArrayLike<number>, x: ArrayLike<number>, w: ArrayLike<number>, R: number, W: number, eps: number): { dx: Float64Array; dw: Float64Array } {
  const dx = new Float64Array(R * W);
  const dw = new Float64Array(W);
  for (let r = 0; r < R; r++) {
    let ss = 0;
    for (let c = 0; c < W; c++) ss += x[r * W + c] ** 2;
    const s = 1 / Math.sqrt(ss / W + eps);
    let dot = 0;
    for (let c = 0; c < W; c++) dot += w[c] * dy[r * W + c] * x[r * W + c];
    for (let c = 0; c < W; c++) {
      dx[r * W + c] = s * w[c] * dy[r * W + c] - (s ** 3 / W) * x[r * W + c] * dot;
      dw[c] += dy[r * W + c] * x[r * W + c] * s;
    }
  }
  return { dx, dw };
}
