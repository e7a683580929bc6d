// Float64 CPU reference for shaders/attention.wgsl: causal GQA attention, max-shifted softmax per
// query row (attention-backward.ts has the backward).

/** Causal GQA attention; q [B,Tq,NH,HS], k/v [B,S,NKV,HS]; returns y and lse [B,NH,Tq]. */
export function attentionForward(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
  B: number, Tq: number, S: number, NH: number, NKV: number, HS: number, pos0 = 0,
): { y: Float64Array; lse: Float64Array } {
  const y = new Float64Array(B * Tq * NH * HS);
  const lse = new Float64Array(B * NH * Tq);
  const scale = 1 / Math.sqrt(HS);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tq; i++) {
      for (let h = 0; h < NH; h++) {
        const g = Math.floor(h / (NH / NKV));
        const last = pos0 + i;
        const s = new Float64Array(last + 1);
        let m = -Infinity;
        for (let j = 0; j <= last; j++) {
          let dot = 0;
          for (let d = 0; d < HS; d++) dot += q[((b * Tq + i) * NH + h) * HS + d] * k[((b * S + j) * NKV + g) * HS + d];
          s[j] = dot * scale;
          m = Math.max(m, s[j]);
        }
        let l = 0;
        for (let j = 0; j <= last; j++) l += Math.exp(s[j] - m);
        for (let d = 0; d < HS; d++) {
          let acc = 0;
          for (let j = 0; j <= last; j++) acc += (Math.exp(s[j] - m) / l) * v[((b * S + j) * NKV + g) * HS + d];
          y[((b * Tq + i) * NH + h) * HS + d] = acc;
        }
        lse[(b * NH + h) * Tq + i] = m + Math.log(l);
      }
    }
  }
  return { y, lse };
}
