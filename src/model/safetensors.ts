// Our own safetensors reader, with the validation a file from the internet needs (the writer is
// safetensors-write.ts).
//
// Layout (https://github.com/huggingface/safetensors):
//   bytes [0, 8)          u64 little-endian N, the header length
//   bytes [8, 8+N)        UTF-8 JSON object: { "<name>": { dtype, shape, data_offsets: [b, e] }, ...,
//                         "__metadata__"?: { "<key>": "<string>" } }, often padded with spaces
//   bytes [8+N, size)     the data section; a tensor's bytes are [8+N+b, 8+N+e), row-major, little-endian
//
// Only the first 8 bytes and the header are read up front (through a ByteSource, so a multi-GB file is
// never in memory whole); tensors are then read one at a time by absolute byte range. Offsets inside
// the data section need not be aligned to the element size, so tensor bytes are always copied into a
// fresh buffer before they are viewed as typed arrays.
//
// Every problem with a file is a CorruptFileError naming the file, the tensor, what is wrong and the
// byte range. Wrong arguments from our own code (a writer given 3 values for shape [2, 2]) are ShapeErrors.

import { CorruptFileError, ShapeError } from '../errors';
import type { ByteSource } from './bytes';

export type StDType = 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8' | 'I8' | 'BOOL' | 'F64';

/** Bytes per element of each dtype we read. */
export const ST_DTYPE_BYTES: Readonly<Record<StDType, number>> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1, I8: 1, BOOL: 1 };
const DTYPES = Object.keys(ST_DTYPE_BYTES) as StDType[];

export interface StTensor {
  name: string;
  dtype: StDType;
  shape: number[];
  /** Absolute byte offsets in the file: 8 + header length + data_offsets. */
  begin: number;
  end: number;
}

/** Largest header we accept; the reference implementation uses the same 100 MB bound. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Number of elements of a shape (1 for a scalar, shape []). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// ---------------------------------------------------------------------------------------------------
// Reading

/**
 * Read and validate the header: reads bytes [0, 8) and [8, 8+N) of `src` and nothing else.
 * The returned Map is in file order (ascending `begin`), which is the order to stream tensors in.
 */
export async function readSafetensorsHeader(src: ByteSource): Promise<{ tensors: Map<string, StTensor>; metadata: Record<string, string> }> {
  const file = src.name;
  const fail: (detail: string, hint?: string) => never = (detail, hint) => {
    throw new CorruptFileError(file, detail, hint);
  };
  if (src.size < 8) fail(`${src.size} bytes is too short for a safetensors file (it starts with an 8-byte header length)`);

  // Header length: u64 little-endian. Checked as a BigInt before it becomes a number, so a length
  // of 2^60 is refused here and never passed to `read`.
  const head = await src.read(0, 8);
  const N64 = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (N64 > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${N64} (bytes 0–7) exceeds the ${MAX_HEADER_BYTES}-byte limit; this is not a safetensors file or it is damaged`);
  }
  const N = Number(N64);
  if (N > src.size - 8) fail(`header length ${N} (bytes 0–7) runs past the end of the file (${src.size} bytes); the file is truncated or not safetensors`);
  const dataStart = 8 + N;
  const dataBytes = src.size - dataStart;

  // Header: strict UTF-8, then a JSON object.
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(await src.read(8, N));
    header = JSON.parse(text);
  } catch (e) {
    fail(`header (bytes 8–${dataStart - 1}) is not valid UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    fail(`header (bytes 8–${dataStart - 1}) is not a JSON object`);
  }
  const entries = header as Record<string, unknown>;

  // __metadata__: an optional object of strings (e.g. {"format": "pt"}).
  const metadata: Record<string, string> = {};
  const meta = entries.__metadata__;
  if (meta !== undefined) {
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) fail('__metadata__ is not an object of strings');
    for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(`__metadata__["${k}"] is ${JSON.stringify(v)}, not a string`);
      metadata[k] = v as string;
    }
  }

  const list: StTensor[] = [];
  for (const [name, raw] of Object.entries(entries)) {
    if (name === '__metadata__') continue;
    const bad: (detail: string, hint?: string) => never = (detail, hint) => fail(`tensor ${name}: ${detail}`, hint);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) bad('entry is not an object with dtype, shape and data_offsets');
    const e = raw as Record<string, unknown>;

    const dtype = e.dtype;
    if (typeof dtype !== 'string' || !(DTYPES as string[]).includes(dtype)) {
      bad(`dtype ${JSON.stringify(dtype)} is not supported (supported: ${DTYPES.join(', ')})`, 'convert the weights to F32, F16 or BF16 (quantised checkpoints such as GPTQ/AWQ/FP8 cannot be read; entrotune quantises on load)');
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      bad(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      bad(`data_offsets ${JSON.stringify(off)} is not a pair [begin, end] of non-negative integers`);
    }
    const [b, en] = off as [number, number];
    const range = `data_offsets [${b}, ${en}] (file bytes ${dataStart + b}–${dataStart + en})`;
    if (b > en) bad(`${range} has begin after end`);
    if (en > dataBytes) {
      bad(`${range} ends past the end of the data section (bytes ${dataStart}–${src.size}, ${dataBytes} bytes); the file is truncated`);
    }
    const st: StTensor = { name, dtype: dtype as StDType, shape: shape as number[], begin: dataStart + b, end: dataStart + en };
    const want = numel(st.shape) * ST_DTYPE_BYTES[st.dtype];
    if (en - b !== want) bad(`${range} holds ${en - b} bytes, but shape [${st.shape}] of ${st.dtype} needs ${want}`);
    list.push(st);
  }

  // No two tensors may share bytes: sorted by begin, each must end before the next begins.
  // (Empty tensors occupy no bytes and cannot overlap anything.)
  list.sort((x, y) => x.begin - y.begin || x.end - y.end);
  let prev: StTensor | null = null;
  for (const t of list) {
    if (t.begin === t.end) continue;
    if (prev && t.begin < prev.end) {
      fail(`tensors ${prev.name} (file bytes ${prev.begin}–${prev.end}) and ${t.name} (file bytes ${t.begin}–${t.end}) overlap`);
    }
    prev = t;
  }
  return { tensors: new Map(list.map((t) => [t.name, t])), metadata };
}

/** The exact bytes of one tensor, copied into a fresh (hence aligned) buffer. */
export async function readTensorBytes(src: ByteSource, t: StTensor): Promise<Uint8Array> {
  const length = t.end - t.begin;
  if (t.begin < 0 || t.end > src.size || length < 0) {
    throw new CorruptFileError(src.name, `tensor ${t.name}: file bytes ${t.begin}–${t.end} are outside the file (${src.size} bytes)`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await src.read(t.begin, length);
  } catch (e) {
    // A source shorter than it claimed to be is a truncated file; other failures (network) pass through.
    if (e instanceof RangeError) throw new CorruptFileError(src.name, `tensor ${t.name}: could not read file bytes ${t.begin}–${t.end}: ${e.message}`);
    throw e;
  }
  if (bytes.byteLength !== length) {
    throw new CorruptFileError(src.name, `tensor ${t.name}: read ${bytes.byteLength} of the ${length} bytes at ${t.begin}–${t.end}`);
  }
  const out = new Uint8Array(length);
  out.set(bytes);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Conversion on the CPU (for tests, LoRA adapters and other small tensors; the GPU converts weights)

/** A DataView over `bytes` after checking that they are exactly one tensor's worth. */
function tensorView(t: StTensor, bytes: Uint8Array): { n: number; dv: DataView } {
  const n = numel(t.shape);
  const want = n * ST_DTYPE_BYTES[t.dtype];
  if (bytes.byteLength !== want) throw new ShapeError(`tensor ${t.name}: got ${bytes.byteLength} bytes, shape [${t.shape}] of ${t.dtype} needs ${want}`);
  return { n, dv: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

// One f32 and its bit pattern, for bit casts.
export const F32_VIEW = new Float32Array(1);
export const F32_BITS = new Uint32Array(F32_VIEW.buffer);

// IEEE half → f32, all 65536 bit patterns, built on first use (256 KiB).
let HALF_TABLE: Float32Array | null = null;

/** Decode one IEEE 754 binary16 value: sign 1, exponent 5 (bias 15), mantissa 10. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24; // zero and subnormals: man · 2^-14 · 2^-10
  if (exp === 0x1f) return man ? NaN : sign * Infinity;
  return sign * (1 + man / 1024) * 2 ** (exp - 15);
}

function halfTable(): Float32Array {
  if (!HALF_TABLE) {
    HALF_TABLE = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) HALF_TABLE[h] = halfToFloat(h);
  }
  return HALF_TABLE;
}

/** Convert F32/F16/BF16/F64/I64/I32/I8/U8/BOOL tensor bytes (little-endian) to f32. */
export function toFloat32(t: StTensor, bytes: Uint8Array): Float32Array {
  const { n, dv } = tensorView(t, bytes);
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      break;
    case 'F16': {
      const table = halfTable();
      for (let i = 0; i < n; i++) out[i] = table[dv.getUint16(2 * i, true)];
      break;
    }
    case 'BF16': {
      const bits = new Uint32Array(out.buffer); // write the f32 bit patterns directly
      for (let i = 0; i < n; i++) bits[i] = dv.getUint16(2 * i, true) << 16;
      break;
    }
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      break;
    case 'I64':
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(8 * i, true));
      break;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true);
      break;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      break;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = dv.getUint8(i);
      break;
  }
  return out;
}

/** I64 (or I32, widened) tensor bytes as a BigInt64Array. */
export function toBigInt64(t: StTensor, bytes: Uint8Array): BigInt64Array {
  const { n, dv } = tensorView(t, bytes);
  const out = new BigInt64Array(n);
  if (t.dtype === 'I64') for (let i = 0; i < n; i++) out[i] = dv.getBigInt64(8 * i, true);
  else if (t.dtype === 'I32') for (let i = 0; i < n; i++) out[i] = BigInt(dv.getInt32(4 * i, true));
  else throw new ShapeError(`tensor ${t.name} is ${t.dtype}; toBigInt64 reads I64 or I32`);
  return out;
}

/** Integer tensor bytes (I64, I32, I8, U8, BOOL) as an Int32Array, e.g. token ids and labels (-100). */
export function toInt32Array(t: StTensor, bytes: Uint8Array): Int32Array {
  const { n, dv } = tensorView(t, bytes);
  const out = new Int32Array(n);
  switch (t.dtype) {
    case 'I64':
      for (let i = 0; i < n; i++) {
        const v = dv.getBigInt64(8 * i, true);
        if (v < -0x80000000n || v > 0x7fffffffn) throw new ShapeError(`tensor ${t.name}: element ${i} = ${v} does not fit in int32`);
        out[i] = Number(v);
      }
      break;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true);
      break;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      break;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = dv.getUint8(i);
      break;
    default:
      throw new ShapeError(`tensor ${t.name} is ${t.dtype}; toInt32Array reads integer dtypes (I64, I32, I8, U8, BOOL)`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Checking a header against the shapes config.json implies

export interface CheckShapesOptions {
  /** Dtypes the expected tensors may have (e.g. F32, F16, BF16 for model weights); any if absent. */
  dtypes?: readonly StDType[];
  /** Hint for mismatches; defaults to "config.json and the weights come from different models". */
  hint?: string;
}

/**
 * Check that every expected tensor is present with its expected shape (and dtype, if asked).
 * Throws a CorruptFileError listing the missing tensors, or naming the first tensor whose shape or
 * dtype disagrees. Returns the names of tensors the file has but `expected` does not (the caller
 * decides whether extra tensors matter, e.g. a tied checkpoint that still stores lm_head.weight).
 */
export function checkShapes(file: string, tensors: Map<string, StTensor>, expected: Map<string, number[]>, options: CheckShapesOptions = {}): string[] {
  const hint = options.hint ?? 'check that config.json and the weights come from the same model';
  const missing = [...expected.keys()].filter((n) => !tensors.has(n));
  if (missing.length) {
    const shown = missing.slice(0, 8).join(', ');
    throw new CorruptFileError(file, `missing ${missing.length} tensor(s) that config.json implies: ${shown}${missing.length > 8 ? `, … (${missing.length - 8} more)` : ''}`, hint);
  }
  for (const [name, shape] of expected) {
    const t = tensors.get(name)!;
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new CorruptFileError(file, `tensor ${name} (file bytes ${t.begin}–${t.end}) has shape [${t.shape}], config.json implies [${shape}]`, hint);
    }
    if (options.dtypes && !options.dtypes.includes(t.dtype)) {
      throw new CorruptFileError(file, `tensor ${name} is ${t.dtype}; expected one of ${options.dtypes.join(', ')}`, hint);
    }
  }
  return [...tensors.keys()].filter((n) => !expected.has(n));
}
