// Float64 CPU reference for the backward pass of causal GQA attention (attention-backward.wgsl).
// Plain loops over b, h, i: rebuild the row of probabilities with its own forward (max-shifted
// softmax), then push the row's gradient into dq, dk, dv. Training layout: pos0 = 0, S = T.

/**
 * Gradients of y = attention(q, k, v) given dy.
 * dy, q [B,T,NH,HS]; k, v [B,T,NKV,HS]; returns dq [B,T,NH,HS], dk, dv [B,T,NKV,HS].
 */
export function attentionBackward(
  dy: ArrayLike<number>, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
  B: number, T: number, NH: number, NKV: number, HS: number,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const dq = new Float64Array(B * T * NH * HS);
  const dk = new Float64Array(B * T * NKV * HS);
  const dv = new Float64Array(B * T * NKV * HS);
  const scale = 1 / Math.sqrt(HS);
  const qi = (b: number, i: number, h: number) => ((b * T + i) * NH + h) * HS;   // q, dy, dq row
  const kj = (b: number, j: number, g: number) => ((b * T + j) * NKV + g) * HS;  // k, v, dk, dv row
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const g = Math.floor(h / (NH / NKV));
      for (let i = 0; i < T; i++) {
        // forward for this row: s_j = scale·q_i·k_j over the visible keys j ≤ i, P = softmax(s)
        const P = new Float64Array(i + 1);
        let m = -Infinity;
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let d = 0; d < HS; d++) dot += q[qi(b, i, h) + d] * k[kj(b, j, g) + d];
          P[j] = dot * scale;
          m = Math.max(m, P[j]);
        }
        let l = 0;
        for (let j = 0; j <= i; j++) { P[j] = Math.exp(P[j] - m); l += P[j]; }
        for (let j = 0; j <= i; j++) P[j] /= l;
        // dP_j = dy_i·v_j; D = Σ_j P_j dP_j (which equals dy_i·y_i)
        const dP = new Float64Array(i + 1);
        let D = 0;
        for (let j = 0; j <= i; j++) {
          for (let d = 0; d < HS; d++) dP[j] += dy[qi(b, i, h) + d] * v[kj(b, j, g) + d];
          D += P[j] * dP[j];
        }
        // softmax backward dS_j = P_j (dP_j − D); then s = scale·q·k and y = Σ P v route it on
        for (let j = 0; j <= i; j++) {
          const dS = P[j] * (dP[j] - D);
          for (let d = 0; d < HS; d++) {
            dq[qi(b, i, h) + d] += scale * dS * k[kj(b, j, g) + d];
            dk[kj(b, j, g) + d] += scale * dS * q[qi(b, i, h) + d];
            dv[kj(b, j, g) + d] += P[j] * dy[qi(b, i, h) + d];
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}
