// Writing safetensors files (adapters, merged models, test fixtures): tensors laid out in the order
// given, the header padded to 8 bytes as the reference implementation does, f32 values rounded to F16
// or BF16 bit-exactly as numpy / torch round them. The format is described in safetensors.ts.

import { ShapeError } from '../errors';
import { F32_BITS, F32_VIEW, numel, ST_DTYPE_BYTES } from './safetensors';

// ---------------------------------------------------------------------------------------------------
// f32 → 16-bit rounding (round to nearest, ties to even), bit-exact with numpy / torch

/** f32 → IEEE binary16 bits, round-to-nearest-even; overflow gives ±inf, NaN stays NaN. */
export function floatToHalfBits(x: number): number {
  F32_VIEW[0] = x;
  const f = F32_BITS[0];
  const sign = (f >>> 16) & 0x8000;
  const fexp = f & 0x7f800000;
  let fsig = f & 0x007fffff;
  // Exponent ≥ 16 (f32 biased 143 = 0x47800000): inf, NaN, or too large for half.
  if (fexp >= 0x47800000) {
    if (fexp === 0x7f800000 && fsig !== 0) return sign | 0x7c00 | (fsig >> 13) | 0x200; // quiet NaN
    return sign | 0x7c00;
  }
  // Exponent ≤ -15: the result is a half subnormal (or zero).
  if (fexp <= 0x38000000) {
    if (fexp < 0x33000000) return sign; // below half of the smallest subnormal 2^-24: rounds to 0
    const e = fexp >>> 23; // 102..112
    fsig |= 0x00800000; // implicit leading 1
    const shift = 113 - e; // 1..11 extra bits dropped beyond the usual 13
    const lost = fsig & ((1 << shift) - 1);
    fsig >>>= shift;
    // Round at bit 13: add half an ulp unless it is an exact tie with an even result.
    if ((fsig & 0x3fff) !== 0x1000 || lost) fsig += 0x1000;
    return sign | (fsig >>> 13); // a carry into bit 10 correctly makes the smallest normal
  }
  // Normal: rebias the exponent (127 → 15) and round the 23-bit mantissa to 10 bits.
  const hexp = (fexp - 0x38000000) >>> 13;
  if ((fsig & 0x3fff) !== 0x1000) fsig += 0x1000;
  return sign | (hexp + (fsig >>> 13)); // a mantissa carry bumps the exponent; exponent 31 is inf
}

/** f32 → bfloat16 bits, round-to-nearest-even; NaN stays NaN. */
export function floatToBf16Bits(x: number): number {
  F32_VIEW[0] = x;
  const f = F32_BITS[0];
  if ((f & 0x7f800000) === 0x7f800000 && (f & 0x007fffff) !== 0) return ((f >>> 16) | 0x0040) & 0xffff; // quiet NaN
  // Add 0x7fff plus the lowest kept bit: rounds up above half, and on a tie only when that bit is odd.
  return ((f + 0x7fff + ((f >>> 16) & 1)) >>> 16) & 0xffff;
}

// ---------------------------------------------------------------------------------------------------
// Writing

export type StWriteDType = 'F32' | 'F16' | 'BF16' | 'I64' | 'I32';

export interface StWriteTensor {
  name: string;
  dtype: StWriteDType;
  shape: number[];
  /**
   * F32: Float32Array. F16/BF16: Float32Array (rounded to nearest even) or Uint16Array (raw bits).
   * I64: BigInt64Array or Int32Array (widened). I32: Int32Array.
   */
  data: Float32Array | Int32Array | BigInt64Array | Uint16Array;
}

/**
 * A complete safetensors file: the header JSON padded with spaces to a multiple of 8 bytes, then the
 * tensors back to back in the given order (as the reference writer does; no gaps between tensors).
 */
export function writeSafetensors(tensors: StWriteTensor[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) throw new ShapeError(`writeSafetensors: duplicate or reserved tensor name ${t.name}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new ShapeError(`writeSafetensors: tensor ${t.name} has bad shape [${t.shape}]`);
    const n = numel(t.shape);
    if (t.data.length !== n) throw new ShapeError(`writeSafetensors: tensor ${t.name} has ${t.data.length} values, shape [${t.shape}] needs ${n}`);
    const bytes = n * ST_DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const N = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + N + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(N), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + N); // space padding, still valid JSON

  let p = 8 + N;
  for (const t of tensors) {
    const { data, dtype } = t;
    const n = data.length;
    const wrong = () => new ShapeError(`writeSafetensors: tensor ${t.name} is ${dtype} but its data is a ${data.constructor.name}`);
    switch (dtype) {
      case 'F32':
        if (!(data instanceof Float32Array)) throw wrong();
        for (let i = 0; i < n; i++) dv.setFloat32(p + 4 * i, data[i], true);
        break;
      case 'F16':
      case 'BF16': {
        const round = dtype === 'F16' ? floatToHalfBits : floatToBf16Bits;
        if (data instanceof Uint16Array) for (let i = 0; i < n; i++) dv.setUint16(p + 2 * i, data[i], true);
        else if (data instanceof Float32Array) for (let i = 0; i < n; i++) dv.setUint16(p + 2 * i, round(data[i]), true);
        else throw wrong();
        break;
      }
      case 'I64':
        if (data instanceof BigInt64Array) for (let i = 0; i < n; i++) dv.setBigInt64(p + 8 * i, data[i], true);
        else if (data instanceof Int32Array) for (let i = 0; i < n; i++) dv.setBigInt64(p + 8 * i, BigInt(data[i]), true);
        else throw wrong();
        break;
      case 'I32':
        if (!(data instanceof Int32Array)) throw wrong();
        for (let i = 0; i < n; i++) dv.setInt32(p + 4 * i, data[i], true);
        break;
      default:
        throw new ShapeError(`writeSafetensors: tensor ${t.name} has dtype ${String(dtype)}; the writer supports F32, F16, BF16, I64, I32`);
    }
    p += n * ST_DTYPE_BYTES[dtype];
  }
  return out;
}
