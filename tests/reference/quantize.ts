// Float64 CPU reference for shaders/quantize.wgsl: blockwise absmax quantisation to the nearest
// code-book entry, and the weights a loaded QWeight stands for.

import { INT8_TABLE, NF4_TABLE, type Bits } from '../../src/kernels/quantize';

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
        const y = absmax > 0 ? Math.fround(Math.fround(Math.fround(w[e]) / Math.fround(absmax)) * 127) : 0;
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

/** The weights the GPU should hold after loading: exact for f32, dequantised for NF4/int8. */
export function loadedWeights(W: Float32Array, bits: Bits): Float64Array {
  if (bits === 32) return Float64Array.from(W);
  return quantizeDequantize(W, bits === 4 ? NF4_TABLE : INT8_TABLE).deq;
}
