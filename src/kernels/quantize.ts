// Frozen weights as the GPU holds them, and the launcher of shaders/quantize.wgsl that writes them
// (f32 → NF4/int8 blocks at load). linear.ts and embedding.ts read this format; convert.ts turns
// BF16/F16 into the f32 that quantize_blocks reads (or that a 32-bit weight keeps).
//
// A QWeight [N, K] is a list of row chunks, each small enough for one binding: the lm_head and the
// embedding of a 150k vocabulary do not fit one binding even in 4 bits on many adapters.

import { ShapeError } from '../errors';
import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { ceilDiv, entryFor, needElements, needPositive, rowGrid } from './check';

export type Bits = 4 | 8 | 32;

/** Elements per absmax scale. */
export const BLOCK = 64;

/**
 * The NF4 code book of QLoRA (Dettmers et al. 2023): quantiles of N(0,1) rescaled to [−1, 1],
 * with an exact zero. Any other 4-bit code book (int4, FP4) is just another table.
 */
export const NF4_TABLE = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]);
/** Symmetric int8: code c stands for (c − 128)/127 of the block's absmax. */
export const INT8_TABLE = Float32Array.from({ length: 256 }, (_, c) => Math.max(-1, (c - 128) / 127));

export interface QChunk {
  /** First row of the chunk in the whole weight. */
  row0: number;
  rows: number;
  /** f32 bits (bits 32) or packed codes, as u32 words. */
  words: Tensor;
  /** One absmax per 64 elements of the chunk (null for bits 32). */
  scale: Tensor | null;
}

export interface QWeight {
  name: string;
  N: number;
  K: number;
  bits: Bits;
  chunks: QChunk[];
  bias: Tensor | null;
}

/** u32 words holding n elements at `bits` each, rounded up to whole blocks for quantised data. */
export function wordsFor(n: number, bits: Bits): number {
  return bits === 32 ? n : (ceilDiv(n, BLOCK) * BLOCK * bits) / 32;
}

/** Bytes n elements of a QWeight take in memory: packed codes and one f32 scale per 64 (NF4: 0.5625 per weight). */
export function packedBytes(n: number, bits: Bits): number {
  return bits === 32 ? 4 * n : (n * bits) / 8 + 4 * ceilDiv(n, BLOCK);
}

/** Bytes one row takes in a chunk (codes + scales), used to size chunks against the binding limit. */
export function rowsPerChunk(K: number, bits: Bits, maxBindingBytes: number): number {
  // Chunks start on a block boundary: rows·K must be a multiple of 64, so rows a multiple of 64/gcd(K,64).
  const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
  const step = BLOCK / gcd(K, BLOCK);
  const bytesPerRow = (K * bits) / 8;
  const rows = Math.floor(maxBindingBytes / bytesPerRow / step) * step;
  if (rows < step) throw new ShapeError(`a row of ${K} elements does not fit one binding of ${maxBindingBytes} bytes`);
  return rows;
}

const tables = new WeakMap<Gpu, { nf4: Tensor; int8: Tensor; dummy: Tensor }>();

/** The code-book tables and a 16-byte dummy for unused bindings, one set per device. */
export function quantTables(gpu: Gpu): { nf4: Tensor; int8: Tensor; dummy: Tensor } {
  let t = tables.get(gpu);
  if (!t) {
    const nf4 = gpu.tensor('nf4-table', [16], 'f32', 'base');
    const int8 = gpu.tensor('int8-table', [256], 'f32', 'base');
    const dummy = gpu.tensor('dummy', [4], 'f32', 'base');
    gpu.write(nf4, NF4_TABLE);
    gpu.write(int8, INT8_TABLE);
    gpu.write(dummy, new Float32Array(4));
    t = { nf4, int8, dummy };
    tables.set(gpu, t);
  }
  return t;
}

export function tableFor(gpu: Gpu, bits: Bits): Tensor {
  const t = quantTables(gpu);
  return bits === 4 ? t.nf4 : bits === 8 ? t.int8 : t.dummy;
}

/** Quantise w[n] into codes/scale, with per-block squared error and squared norm for the report. */
export async function quantizeBlocks(gpu: Gpu, codes: Tensor, scale: Tensor, err2: Tensor, norm2: Tensor, w: Tensor, n: number, bits: 4 | 8): Promise<Dispatch> {
  needPositive('quantize_blocks', { n });
  const nb = ceilDiv(n, BLOCK);
  needElements('quantize_blocks', codes, wordsFor(n, bits));
  for (const t of [scale, err2, norm2]) needElements('quantize_blocks', t, nb);
  needElements('quantize_blocks', w, n);
  return makeDispatch(
    gpu,
    { shader: 'quantize', entry: entryFor(gpu, 'quantize_blocks'), constants: { BITS: bits } },
    [codes, scale, err2, norm2, w, tableFor(gpu, bits)],
    [['u32', n], ['u32', nb]],
    rowGrid(gpu, nb), // a workgroup per block, or (software set) an invocation per block
    // Per element: w / absmax, the nearest code (NF4: one subtraction per table entry; int8: a rounding),
    // the dequantised value, its squared error and w² (about 7 more); w read once, the codes and three
    // floats per block written.
    { flops: n * ((bits === 4 ? 16 : 3) + 7), bytes: 4 * n + 4 * (wordsFor(n, bits) + 3 * nb) },
  );
}
