// Float64 CPU reference for the loss (shaders/crossentropy.wgsl, launched by src/kernels/crossentropy.ts):
// cross-entropy over the lm_head, mean over valid rows (the PyTorch/HF convention with ignore_index).
// Plain loops.

/** Target of a row without loss (matches src/kernels/crossentropy.ts). */
export const IGNORE = 0xffffffff;

/**
 * h [N,C], W [V,C] (lm_head), targets [N] (< V or IGNORE).
 * logits = h·Wᵀ; loss_n = lse_n − logits[n, target_n]; loss = mean of loss_n over valid rows (0 if none);
 * dh[n,:] = Σ_v (softmax_v − [v == target_n]) / count · W[v,:]  (0 for ignored rows);
 * dW[v,:] = Σ_n (softmax_v − [v == target_n]) / count · h[n,:]  (the lm_head's gradient, full fine-tuning).
 */
export function crossEntropy(
  h: ArrayLike<number>, W: ArrayLike<number>, targets: ArrayLike<number>, N: number, V: number, C: number,
): { loss: number; dh: Float64Array; dW: Float64Array; count: number; rowLoss: Float64Array; lse: Float64Array } {
  const dh = new Float64Array(N * C);
  const dW = new Float64Array(V * C);
  const rowLoss = new Float64Array(N);
  const lse = new Float64Array(N);
  let count = 0;
  for (let n = 0; n < N; n++) if (targets[n] !== IGNORE) count++;
  const inv = count > 0 ? 1 / count : 0;
  let sum = 0;
  const x = new Float64Array(V);
  for (let n = 0; n < N; n++) {
    const t = targets[n];
    if (t === IGNORE) continue;
    // logits of row n and their log-sum-exp
    let max = -Infinity;
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += h[n * C + c] * W[v * C + c];
      x[v] = s;
      max = Math.max(max, s);
    }
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(x[v] - max);
    lse[n] = max + Math.log(z);
    rowLoss[n] = lse[n] - x[t];
    sum += rowLoss[n];
    // dh[n,:] = Σ_v g_v · W[v,:] and dW[v,:] += g_v · h[n,:], g_v = (softmax_v − onehot_v) / count
    for (let v = 0; v < V; v++) {
      const g = (Math.exp(x[v] - lse[n]) - (v === t ? 1 : 0)) * inv;
      for (let c = 0; c < C; c++) {
        dh[n * C + c] += g * W[v * C + c];
        dW[v * C + c] += g * h[n * C + c];
      }
    }
  }
  return { loss: sum * inv, dh, dW, count, rowLoss, lse };
}
