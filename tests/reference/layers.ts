// Float64 CPU references for the forward kernels: rmsnorm, rope, swiglu, attention, embedding,
// blockwise quantisation and the linear layer over (de)quantised weights. Plain loops.

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

/** HF rotate_half RoPE on x [rows, H, HS], rows = b·T + t at position pos0 + t. */
export function ropeForward(x: ArrayLike<number>, invFreq: ArrayLike<number>, rows: number, H: number, HS: number, T: number, pos0 = 0): Float64Array {
  const out = Float64Array.from(x as ArrayLike<number>);
  const half = HS / 2;
  for (let r = 0; r < rows; r++) {
    const pos = pos0 + (r % T);
    for (let h = 0; h < H; h++) {
      const base = (r * H + h) * HS;
      for (let i = 0; i < half; i++) {
        const a = pos * invFreq[i];
        const x1 = x[base + i], x2 = x[base + i + half];
        out[base + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
        out[base + i + half] = x2 * Math.cos(a) + x1 * Math.sin(a);
      }
    }
  }
  return out;
}

export function swigluForward(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: gate.length }, (_, i) => (gate[i] / (1 + Math.exp(-gate[i]))) * up[i]);
}

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

/** Blockwise absmax quantisation to the nearest table entry; returns the dequantised values. */
export function quantizeDequantize(w: ArrayLike<number>, table: ArrayLike<number>, block = 64): { deq: Float64Array; codes: Uint8Array; scale: Float64Array } {
  const n = w.length;
  const nb = Math.ceil(n / block);
  const deq = new Float64Array(n);
  const codes = new Uint8Array(n);
  const scale = new Float64Array(nb);
  for (let b = 0; b < nb; b++) {
    let absmax = 0;
    for (let e = b * block; e < Math.min(n, (b + 1) * block); e++) absmax = Math.max(absmax, Math.abs(w[e]));
    scale[b] = absmax;
    for (let e = b * block; e < Math.min(n, (b + 1) * block); e++) {
      const x = absmax > 0 ? w[e] / absmax : 0;
      let best = 0;
      if (table.length === 256) {
        // int8: the kernel computes round(x·127) in f32 with ties to even; do exactly that, since
        // BF16 weights land on exact half-steps often enough to matter.
        const y = Math.fround(Math.fround(Math.fround(w[e]) / Math.fround(absmax)) * 127);
        const f = Math.floor(y);
        const rounded = y - f === 0.5 ? (f % 2 === 0 ? f : f + 1) : Math.round(y);
        best = Math.max(-127, Math.min(127, rounded)) + 128;
      } else {
        for (let c = 1; c < table.length; c++) if (Math.abs(x - table[c]) < Math.abs(x - table[best])) best = c;
      }
      codes[e] = best;
      deq[e] = table[best] * absmax;
    }
  }
  return { deq, codes, scale };
}

/** Y[M,N] = X[M,K]·Wᵀ + bias */
export function linearForward(X: ArrayLike<number>, W: ArrayLike<number>, bias: ArrayLike<number> | null, M: number, N: number, K: number): Float64Array {
  const Y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = bias ? bias[n] : 0;
      for (let k = 0; k < K; k++) s += X[m * K + k] * W[n * K + k];
      Y[m * N + n] = s;
    }
  }
  return Y;
}

export function embeddingForward(E: ArrayLike<number>, ids: ArrayLike<number>, C: number): Float64Array {
  const x = new Float64Array(ids.length * C);
  for (let r = 0; r < ids.length; r++) for (let c = 0; c < C; c++) x[r * C + c] = E[ids[r] * C + c];
  return x;
}

/** Entropy (nats), log-sum-exp, argmax (lowest index on ties) and max of one row of logits. */
export function entropyForward(x: ArrayLike<number>): { H: number; lse: number; argmax: number; max: number } {
  let max = -Infinity, argmax = 0;
  for (let v = 0; v < x.length; v++) if (x[v] > max) { max = x[v]; argmax = v; }
  let z = 0;
  for (let v = 0; v < x.length; v++) z += Math.exp(x[v] - max);
  const lse = max + Math.log(z);
  let H = 0;
  for (let v = 0; v < x.length; v++) { const lp = x[v] - lse; H -= Math.exp(lp) * lp; }
  return { H, lse, argmax, max };
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

/** RoPE backward: the transposed rotation applied to dy. */
export function ropeBackward(dy: ArrayLike<number>, invFreq: ArrayLike<number>, rows: number, H: number, HS: number, T: number): Float64Array {
  return ropeForward(dy, Array.from(invFreq, (f) => -f), rows, H, HS, T);
}

export function swigluBackward(dh: ArrayLike<number>, gate: ArrayLike<number>, up: ArrayLike<number>): { dgate: Float64Array; dup: Float64Array } {
  const n = gate.length;
  const dgate = new Float64Array(n), dup = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = gate[i], s = 1 / (1 + Math.exp(-g));
    dgate[i] = dh[i] * up[i] * s * (1 + g * (1 - s));
    dup[i] = dh[i] * g * s;
  }
  return { dgate, dup };
}
