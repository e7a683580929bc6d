// Float64 CPU reference for shaders/rope.wgsl: HF rotate_half RoPE and its transpose.

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

/** RoPE backward: the transposed rotation applied to dy. */
export function ropeBackward(dy: ArrayLike<number>, invFreq: ArrayLike<number>, rows: number, H: number, HS: number, T: number): Float64Array {
  return ropeForward(dy, Array.from(invFreq, (f) => -f), rows, H, HS, T);
}
