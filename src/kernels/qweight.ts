// Frozen weights as the GPU holds them, and the launchers that read them: convert.wgsl (BF16/F16 →
// f32 at load), quantize.wgsl (f32 → NF4/int8 blocks), linear.wgsl (y = x·Wᵀ + b over any of them)
// and embedding.wgsl (row lookup from any of them).
//
// A QWeight [N, K] is a list of row chunks, each small enough for one binding: the lm_head and the
// embedding of a 150k vocabulary do not fit one binding even in 4 bits on many adapters.

import { ShapeError } from '../errors';
import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { ceilDiv, entryFor, grid1d, gridPerItem, gridSoftware, needElements, needPositive } from './check';

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

/** out[n] (f32) from `words` holding n BF16 or F16 values, two per word. */
export async function convertToF32(gpu: Gpu, out: Tensor, words: Tensor, n: number, from: 'BF16' | 'F16'): Promise<Dispatch> {
  needPositive('convert', { n });
  needElements('convert', out, n);
  needElements('convert', words, ceilDiv(n, 2));
  const entry = from === 'BF16' ? 'bf16_to_f32' : 'f16_to_f32';
  return makeDispatch(gpu, { shader: 'convert', entry }, [out, words], [['u32', n]], grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, ceilDiv(n, 2)));
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
    { shader: 'quantize', entry: 'quantize_blocks', constants: { BITS: bits } },
    [codes, scale, err2, norm2, w, tableFor(gpu, bits)],
    [['u32', n], ['u32', nb]],
    gridPerItem(gpu.limits.maxComputeWorkgroupsPerDimension, nb),
  );
}

/** Workgroups for an [M, cols] output: 64×64 tiles (GPU set) or 4×4 blocks per invocation (software set). */
function linearGrid(gpu: Gpu, M: number, cols: number): [number, number, number] {
  if (gpu.kernels === 'software') return [...gridSoftware(gpu.limits.maxComputeWorkgroupsPerDimension, ceilDiv(M, 4) * ceilDiv(cols, 4)), 1];
  return [ceilDiv(cols, 64), ceilDiv(M, 64), 1];
}

export interface LinearOptions {
  /** Row stride of Y (default N): the lm_head writes a chunk of a wider logits row. */
  ldy?: number;
  /** First column of Y written (default 0). */
  yCol0?: number;
  accumulate?: boolean;
}

/** Y[M, N] = X[M, K] · deq(W)ᵀ + bias, one dispatch per row chunk of W. */
export async function linearForward(gpu: Gpu, Y: Tensor, X: Tensor, W: QWeight, M: number, o: LinearOptions = {}): Promise<Dispatch[]> {
  const { N, K, bits } = W;
  needPositive('linear_forward', { M, N, K });
  const ldy = o.ldy ?? N;
  const yCol0 = o.yCol0 ?? 0;
  needElements('linear_forward', Y, (M - 1) * ldy + yCol0 + N);
  needElements('linear_forward', X, M * K);
  if (W.bias && W.chunks.length > 1) throw new ShapeError(`linear_forward: ${W.name} has a bias and several chunks`);
  const { dummy } = quantTables(gpu);
  const out: Dispatch[] = [];
  const software = gpu.kernels === 'software';
  for (const c of W.chunks) {
    // The software entry reads RowParams (w_row0 = 0 here); the tiled one the shorter Params.
    const params = [['u32', M], ['u32', c.rows], ['u32', K], ['u32', ldy], ['u32', yCol0 + c.row0], ['u32', o.accumulate ? 1 : 0], ...(software ? [['u32', 0] as const] : [])] as const;
    out.push(
      await makeDispatch(
        gpu,
        { shader: 'linear', entry: entryFor(gpu, 'linear_forward'), constants: { BITS: bits, HAS_BIAS: W.bias ? 1 : 0 } },
        [Y, X, c.words, c.scale ?? dummy, tableFor(gpu, bits), W.bias ?? dummy],
        params,
        linearGrid(gpu, M, c.rows),
      ),
    );
  }
  return out;
}

/** x[R, C] = deq(E)[ids[r], :], one dispatch per row chunk of E. */
export async function embeddingForward(gpu: Gpu, x: Tensor, ids: Tensor, E: QWeight, R: number): Promise<Dispatch[]> {
  const C = E.K;
  needPositive('embedding_forward', { R, C });
  needElements('embedding_forward', x, R * C);
  needElements('embedding_forward', ids, R);
  const { dummy } = quantTables(gpu);
  const out: Dispatch[] = [];
  for (const c of E.chunks) {
    out.push(
      await makeDispatch(
        gpu,
        { shader: 'embedding', entry: 'embedding_forward', constants: { BITS: E.bits } },
        [x, ids, c.words, c.scale ?? dummy, tableFor(gpu, E.bits)],
        [['u32', R], ['u32', C], ['u32', c.row0], ['u32', c.rows]],
        grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, R * C),
      ),
    );
  }
  return out;
}

/** One launch's share of a row range: rows [w0, w0 + rows) of chunk `c` (local rows), at column `col` of the range. */
export interface RowPiece {
  chunk: QChunk;
  w0: number;
  rows: number;
  col: number;
}

/**
 * Rows [row0, row0 + rows) of W cut at its chunk boundaries: one piece per chunk the range touches
 * (a range inside one chunk is one piece, a range across a boundary two, and so on).
 */
export function rowPieces(W: QWeight, row0: number, rows: number): RowPiece[] {
  if (!Number.isInteger(row0) || row0 < 0 || !Number.isInteger(rows) || rows < 1 || row0 + rows > W.N) {
    throw new ShapeError(`${W.name}: rows [${row0}, ${row0 + rows}) are not inside [0, ${W.N})`);
  }
  const out: RowPiece[] = [];
  for (const c of W.chunks) {
    const lo = Math.max(row0, c.row0);
    const hi = Math.min(row0 + rows, c.row0 + c.rows);
    if (lo < hi) out.push({ chunk: c, w0: lo - c.row0, rows: hi - lo, col: lo - row0 });
  }
  return out;
}

export interface RowRangeOptions extends LinearOptions {
  /** First row of W used (default 0). */
  row0?: number;
  /** Rows of W used (default all from row0 on); column yCol0 + j of Y / dY is row row0 + j. */
  rows?: number;
}

/** Parameters of linear.wgsl's RowParams for one piece. */
function rowParams(M: number, K: number, piece: RowPiece, ldy: number, yCol0: number, accumulate: boolean) {
  return [['u32', M], ['u32', piece.rows], ['u32', K], ['u32', ldy], ['u32', yCol0 + piece.col], ['u32', accumulate ? 1 : 0], ['u32', piece.w0]] as const;
}

/**
 * Y[M, rows] (=|+=) X[M, K] · deq(W[row0 : row0 + rows])ᵀ: linear_forward restricted to a row range
 * that may lie inside one chunk or span several (one dispatch per chunk touched). No bias.
 * Column yCol0 + j of Y (rows ldy wide, default `rows`) gets row row0 + j of W.
 */
export async function linearForwardRows(gpu: Gpu, Y: Tensor, X: Tensor, W: QWeight, M: number, o: RowRangeOptions = {}): Promise<Dispatch[]> {
  const { K, bits } = W;
  const row0 = o.row0 ?? 0;
  const rows = o.rows ?? W.N - row0;
  needPositive('linear_forward_rows', { M, rows, K });
  const ldy = o.ldy ?? rows;
  const yCol0 = o.yCol0 ?? 0;
  needElements('linear_forward_rows', Y, (M - 1) * ldy + yCol0 + rows);
  needElements('linear_forward_rows', X, M * K);
  if (W.bias) throw new ShapeError(`linear_forward_rows: ${W.name} has a bias; use linearForward`);
  const { dummy } = quantTables(gpu);
  const out: Dispatch[] = [];
  // The software set has one forward entry for whole weights and row ranges (no bias: the dummy).
  const software = gpu.kernels === 'software';
  for (const piece of rowPieces(W, row0, rows)) {
    out.push(
      await makeDispatch(
        gpu,
        { shader: 'linear', entry: software ? 'linear_forward_sw' : 'linear_forward_rows', constants: { BITS: bits } },
        [Y, X, piece.chunk.words, piece.chunk.scale ?? dummy, tableFor(gpu, bits), ...(software ? [dummy] : [])],
        rowParams(M, K, piece, ldy, yCol0, o.accumulate ?? false),
        linearGrid(gpu, M, piece.rows),
      ),
    );
  }
  return out;
}

/**
 * dX[M, K] (=|+=) dY[M, rows] · deq(W[row0 : row0 + rows]): the gradient of Y = X·Wᵀ to X, for the whole
 * weight by default or for a row range (one dispatch per chunk touched). Column yCol0 + j of dY (rows
 * ldy wide, default `rows`) belongs to row row0 + j of W. The first dispatch writes with o.accumulate,
 * the others add, so dX is the sum over chunks. dX and dY must be different buffers.
 */
export async function linearBackwardInput(gpu: Gpu, dX: Tensor, dY: Tensor, W: QWeight, M: number, o: RowRangeOptions = {}): Promise<Dispatch[]> {
  const { K, bits } = W;
  const row0 = o.row0 ?? 0;
  const rows = o.rows ?? W.N - row0;
  needPositive('linear_backward_input', { M, rows, K });
  const ldy = o.ldy ?? rows;
  const yCol0 = o.yCol0 ?? 0;
  needElements('linear_backward_input', dX, M * K);
  needElements('linear_backward_input', dY, (M - 1) * ldy + yCol0 + rows);
  if (dX.buffer === dY.buffer) throw new ShapeError(`linear_backward_input: ${dX.name} and ${dY.name} share a buffer (a read_write binding may not alias another)`);
  const { dummy } = quantTables(gpu);
  const out: Dispatch[] = [];
  for (const piece of rowPieces(W, row0, rows)) {
    out.push(
      await makeDispatch(
        gpu,
        { shader: 'linear', entry: entryFor(gpu, 'linear_backward_input'), constants: { BITS: bits } },
        [dX, dY, piece.chunk.words, piece.chunk.scale ?? dummy, tableFor(gpu, bits)],
        rowParams(M, K, piece, ldy, yCol0, out.length > 0 || (o.accumulate ?? false)),
        linearGrid(gpu, M, K),
      ),
    );
  }
  return out;
}

/** dE[uniq[u], :] += Σ dx[pos[off[u]..off[u+1]], :] for u < U (f32 table; the CPU lists each token's rows). */
export async function embeddingBackward(gpu: Gpu, dE: Tensor, dx: Tensor, uniq: Tensor, off: Tensor, pos: Tensor, U: number, C: number, maxRows: number): Promise<Dispatch> {
  needPositive('embedding_backward', { U, C });
  needElements('embedding_backward', dx, maxRows * C);
  needElements('embedding_backward', uniq, U);
  needElements('embedding_backward', off, U + 1);
  return makeDispatch(gpu, { shader: 'embedding', entry: 'embedding_backward' }, [dE, dx, uniq, off, pos], [['u32', U], ['u32', C], ['u32', 0], ['u32', 0]], grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, maxRows * C));
}
