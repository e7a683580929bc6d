// Reference for shaders/convert.wgsl: f32 → BF16 / F16 bytes (round to nearest even) and the f32
// values those bytes stand for, computed independently of the product code.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function toBf16(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7f800000) === 0x7f800000) return u >>> 16; // inf / nan
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

function fromBf16(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

function toF16(x: number): number {
  // Round to nearest even via float64 arithmetic: exact for the values tests use.
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === 0) return sign;
  if (a >= 65520) return sign | 0x7c00;
  let e = Math.floor(Math.log2(a));
  if (e < -14) {
    const m = Math.round(a / 2 ** -24); // subnormal: units of 2^-24
    return sign | m;
  }
  let m = Math.round((a / 2 ** e - 1) * 1024);
  if (m === 1024) { m = 0; e += 1; }
  return sign | ((e + 15) << 10) | m;
}

function fromF16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function writeHalves(x: Float32Array, dtype: 'BF16' | 'F16'): { bytes: Uint8Array; values: Float32Array } {
  const h = new Uint16Array(x.length);
  const values = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    h[i] = dtype === 'BF16' ? toBf16(x[i]) : toF16(x[i]);
    values[i] = dtype === 'BF16' ? fromBf16(h[i]) : fromF16(h[i]);
  }
  return { bytes: new Uint8Array(h.buffer), values };
}
