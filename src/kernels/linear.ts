// Launchers for shaders/linear.wgsl: y = x·Wᵀ + b over a frozen QWeight of any bits and row chunks,
// for the whole weight or a row range of it (the lm_head's vocabulary passes), and the gradient to
// the input. Outputs first, then inputs, then sizes.

import { ShapeError } from '../errors';
import type { Gpu } from '../gpu/device';
import { makeDispatch, type Cost, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { ceilDiv, entryFor, gridSoftware, needElements, needPositive } from './check';
import { quantTables, tableFor, packedBytes, type Bits, type QChunk, type QWeight } from './quantize';

/** Workgroups for an [M, cols] output: 64×64 tiles of 8×8 invocations (GPU set) or 4×4 blocks per invocation (software set). */
function linearGrid(gpu: Gpu, M: number, cols: number): [number, number, number] {
  if (gpu.kernels === 'software') return [...gridSoftware(gpu.limits.maxComputeWorkgroupsPerDimension, ceilDiv(M, 4) * ceilDiv(cols, 4)), 1];
  return [ceilDiv(cols, 64), ceilDiv(M, 64), 1];
}

/** A product with `rows` rows of W [·, K] over M rows: 2·M·rows·K FLOPs; the weight rows (packed) and the
 *  input (`input` floats) read once, the output (`output` floats) written, and read too when +=. */
function linearCost(M: number, rows: number, K: number, bits: Bits, input: number, output: number, accumulate: boolean): Cost {
  return { flops: 2 * M * rows * K, bytes: packedBytes(rows * K, bits) + 4 * (input + output * (accumulate ? 2 : 1)) };
}

/**
 * A LoRA adapter's second product, added in the same launch: forward + scale·a·bᵀ with a = u [M, r] and
 * b = B [N, r]; backward_input + scale·a·b with a = du [M, r] and b = A [r, K].
 */
export interface AdapterTerm {
  a: Tensor;
  b: Tensor;
  r: number;
  scale: number;
}

export interface LinearOptions {
  /** Row stride of Y (default N): the lm_head writes a chunk of a wider logits row. */
  ldy?: number;
  /** First column of Y written (default 0). */
  yCol0?: number;
  accumulate?: boolean;
  adapter?: AdapterTerm;
}

export interface ForwardOptions extends LinearOptions {
  /** Y = residual + X·deq(W)ᵀ: a residual stream laid out as Y (ldy, yCol0), read instead of copied into Y
   *  first. Not with a bias (they share a binding) nor with accumulate, and not Y's own buffer. */
  residual?: Tensor;
}

/** Y[M, N] = X[M, K] · deq(W)ᵀ + bias (or + residual), one dispatch per row chunk of W. */
export async function linearForward(gpu: Gpu, Y: Tensor, X: Tensor, W: QWeight, M: number, o: ForwardOptions = {}): Promise<Dispatch[]> {
  const { N, K, bits } = W;
  needPositive('linear_forward', { M, N, K });
  const ldy = o.ldy ?? N;
  const yCol0 = o.yCol0 ?? 0;
  needElements('linear_forward', Y, (M - 1) * ldy + yCol0 + N);
  needElements('linear_forward', X, M * K);
  if (W.bias && W.chunks.length > 1) throw new ShapeError(`linear_forward: ${W.name} has a bias and several chunks`);
  const R = o.residual;
  if (R) {
    if (W.bias) throw new ShapeError(`linear_forward: ${W.name} has a bias, which shares its binding with the residual`, 'copy the residual into Y and accumulate instead');
    if (o.accumulate) throw new ShapeError('linear_forward: a residual input and accumulate are two ways of adding to Y; pass one');
    if (R.buffer === Y.buffer) throw new ShapeError(`linear_forward: ${R.name} and ${Y.name} share a buffer (a read_write binding may not alias another)`);
    needElements('linear_forward', R, (M - 1) * ldy + yCol0 + N);
  }
  const ad = o.adapter;
  if (ad) needAdapter('linear_forward', ad, M, N, [N, ad.r]);
  const { dummy } = quantTables(gpu);
  const out: Dispatch[] = [];
  for (const c of W.chunks) {
    // Each chunk writes its own columns, with the adapter's rows of B that belong to them.
    const params = rowParams(M, K, { chunk: c, w0: 0, rows: c.rows, col: c.row0 }, ldy, yCol0, o.accumulate ?? false, ad, c.row0);
    const cost = withAdapter(linearCost(M, c.rows, K, bits, M * K, M * c.rows, o.accumulate ?? false), M, c.rows, ad);
    out.push(
      await makeDispatch(
        gpu,
        { shader: 'linear', entry: entryFor(gpu, 'linear_forward'), constants: { BITS: bits, HAS_BIAS: W.bias ? 1 : 0, HAS_RESIDUAL: R ? 1 : 0 } },
        [Y, X, c.words, c.scale ?? dummy, tableFor(gpu, bits), ad?.a ?? dummy, ad?.b ?? dummy, W.bias ?? R ?? dummy],
        params,
        linearGrid(gpu, M, c.rows),
        // A bias: one add per output and its N floats read; a residual: one add and one float read per output.
        W.bias ? { flops: cost.flops + M * c.rows, bytes: cost.bytes + 4 * c.rows } : R ? { flops: cost.flops + M * c.rows, bytes: cost.bytes + 4 * M * c.rows } : cost,
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

/** linear.wgsl's Params for one piece (the adapter's term, if any, with its first row of B). */
function rowParams(M: number, K: number, piece: RowPiece, ldy: number, yCol0: number, accumulate: boolean, ad?: AdapterTerm, eRow0 = 0) {
  return [
    ['u32', M], ['u32', piece.rows], ['u32', K], ['u32', ldy], ['u32', yCol0 + piece.col], ['u32', accumulate ? 1 : 0], ['u32', piece.w0],
    ['u32', ad?.r ?? 0], ['u32', eRow0], ['f32', ad?.scale ?? 0],
  ] as const;
}

/** The adapter's operands hold [M, r] and `b` elements. */
function needAdapter(kernel: string, ad: AdapterTerm, M: number, cols: number, b: [number, number]): void {
  needPositive(kernel, { r: ad.r, cols });
  needElements(kernel, ad.a, M * ad.r);
  needElements(kernel, ad.b, b[0] * b[1]);
}

/** The adapter's product over `cols` output columns: 2·M·cols·r FLOPs, its rows of a and b read once. */
function withAdapter(cost: Cost, M: number, cols: number, ad?: AdapterTerm): Cost {
  if (!ad) return cost;
  return { flops: cost.flops + 2 * M * cols * ad.r, bytes: cost.bytes + 4 * ad.r * (M + cols) };
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
  // The software set has one forward entry for whole weights and row ranges; no bias: the dummy.
  const software = gpu.kernels === 'software';
  for (const piece of rowPieces(W, row0, rows)) {
    out.push(
      await makeDispatch(
        gpu,
        { shader: 'linear', entry: software ? 'linear_forward_sw' : 'linear_forward_rows', constants: { BITS: bits } },
        [Y, X, piece.chunk.words, piece.chunk.scale ?? dummy, tableFor(gpu, bits), dummy, dummy, dummy],
        rowParams(M, K, piece, ldy, yCol0, o.accumulate ?? false),
        linearGrid(gpu, M, piece.rows),
        linearCost(M, piece.rows, K, bits, M * K, M * piece.rows, o.accumulate ?? false),
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
  if (o.adapter) needAdapter('linear_backward_input', o.adapter, M, K, [o.adapter.r, K]);
  const { dummy } = quantTables(gpu);
  const out: Dispatch[] = [];
  for (const piece of rowPieces(W, row0, rows)) {
    const accumulate = out.length > 0 || (o.accumulate ?? false);
    // The adapter's du·A is added once, by the first launch.
    const ad = out.length === 0 ? o.adapter : undefined;
    out.push(
      await makeDispatch(
        gpu,
        { shader: 'linear', entry: entryFor(gpu, 'linear_backward_input'), constants: { BITS: bits } },
        // The GPU entries share the forward's tile function, so they bind a (dummy) bias too.
        [dX, dY, piece.chunk.words, piece.chunk.scale ?? dummy, tableFor(gpu, bits), ad?.a ?? dummy, ad?.b ?? dummy, ...(gpu.kernels === 'software' ? [] : [dummy])],
        rowParams(M, K, piece, ldy, yCol0, accumulate, ad),
        linearGrid(gpu, M, K),
        withAdapter(linearCost(M, piece.rows, K, bits, M * piece.rows, M * K, accumulate), M, K, ad),
      ),
    );
  }
  return out;
}
