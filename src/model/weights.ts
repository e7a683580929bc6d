// Turning published weights (F32/F16/BF16 bytes) into GPU weights, quantised on the GPU at load
// time. A tensor is streamed in slices: its raw bytes are uploaded, converted to f32 on the GPU,
// quantised into their place in the chunk, and the slice's scratch is reused for the next one, so a
// 600 MB embedding never needs 600 MB of scratch (nor of JavaScript memory).

import { ShapeError } from '../errors';
import type { Gpu } from '../gpu/device';
import { releaseDispatch, run, type Dispatch } from '../gpu/dispatch';
import type { MemoryCategory } from '../gpu/memory';
import type { Tensor } from '../gpu/tensor';
import { convertToF32 } from '../kernels/convert';
import { BLOCK, quantizeBlocks, rowsPerChunk, wordsFor, type Bits, type QChunk, type QWeight } from '../kernels/quantize';
import { reduceForward } from '../kernels/reduce';

export type WeightDType = 'F32' | 'F16' | 'BF16';
const BYTES: Record<WeightDType, number> = { F32: 4, F16: 2, BF16: 2 };

/** Elements per upload slice: a multiple of 4096 so every slice starts 256-byte aligned in codes and scales. */
const SLICE = 4096 * 512; // 2M elements: 8 MiB of f32 scratch

export interface WeightSource {
  name: string;
  dtype: WeightDType;
  /** Raw bytes of elements [offset, offset + count) in row-major order. */
  read(offset: number, count: number): Promise<Uint8Array>;
}

export interface QuantStats {
  /** Σ (w − deq(w))² and Σ w² over every quantised element. */
  err2: number;
  norm2: number;
}

/** A view of part of a tensor's buffer, for binding a slice. */
function view(t: Tensor, elemOffset: number, elems: number): Tensor {
  return { ...t, name: `${t.name}[${elemOffset}..]`, offset: t.offset + elemOffset * 4, bytes: elems * 4, shape: [elems] };
}

/** Copy bytes into a u32-aligned word array (odd half counts get a zero pad). */
function toWords(bytes: Uint8Array): Uint32Array {
  const words = new Uint32Array(Math.ceil(bytes.byteLength / 4));
  new Uint8Array(words.buffer).set(bytes);
  return words;
}

/** Scratch buffers reused by every weight of one load. */
export class LoadScratch {
  private raw: Tensor | null = null;
  private f32: Tensor | null = null;
  private stats: { err2: Tensor; norm2: Tensor; partials: Tensor; out: Tensor } | null = null;
  constructor(private readonly gpu: Gpu) {}

  rawWords(words: number): Tensor {
    if (!this.raw || this.raw.bytes < words * 4) {
      if (this.raw) this.gpu.destroyBuffer(this.raw.buffer);
      this.raw = this.gpu.tensor('load-raw', [Math.max(words, SLICE)], 'u32', 'scratch');
    }
    return this.raw;
  }

  floats(n: number): Tensor {
    if (!this.f32 || this.f32.bytes < n * 4) {
      if (this.f32) this.gpu.destroyBuffer(this.f32.buffer);
      this.f32 = this.gpu.tensor('load-f32', [Math.max(n, SLICE)], 'f32', 'scratch');
    }
    return this.f32;
  }

  statBuffers(): { err2: Tensor; norm2: Tensor; partials: Tensor; out: Tensor } {
    if (!this.stats) {
      this.stats = {
        err2: this.gpu.tensor('load-err2', [SLICE / BLOCK], 'f32', 'scratch'),
        norm2: this.gpu.tensor('load-norm2', [SLICE / BLOCK], 'f32', 'scratch'),
        partials: this.gpu.tensor('load-partials', [256], 'f32', 'scratch'),
        out: this.gpu.tensor('load-out', [128], 'f32', 'scratch'), // results at 0 and 64: bindings are 256-byte aligned
      };
    }
    return this.stats;
  }

  destroy(): void {
    for (const t of [this.raw, this.f32, ...(this.stats ? Object.values(this.stats) : [])]) if (t) this.gpu.destroyBuffer(t.buffer);
    this.raw = this.f32 = null;
    this.stats = null;
  }
}

async function runAll(gpu: Gpu, ds: Dispatch[]): Promise<void> {
  await run(gpu, ds);
  for (const d of ds) releaseDispatch(gpu, d);
}

/** Upload a slice as f32 into `dst` (a view): raw F32 is written directly, halves are converted. */
async function sliceToF32(gpu: Gpu, scratch: LoadScratch, src: WeightSource, offset: number, count: number, dst: Tensor): Promise<void> {
  const bytes = await src.read(offset, count);
  if (bytes.byteLength !== count * BYTES[src.dtype]) throw new ShapeError(`${src.name}: read ${bytes.byteLength} bytes for ${count} ${src.dtype} elements`);
  if (src.dtype === 'F32') {
    gpu.device.queue.writeBuffer(dst.buffer, dst.offset, toWords(bytes));
    return;
  }
  const words = toWords(bytes);
  const raw = scratch.rawWords(words.length);
  gpu.device.queue.writeBuffer(raw.buffer, raw.offset, words);
  await runAll(gpu, [await convertToF32(gpu, dst, raw, count, src.dtype)]);
}

/**
 * Load a [N, K] weight, split into row chunks that each fit one binding, quantised to `bits`.
 * Returns the weight and, for quantised weights, the squared error and norm (for the report).
 */
export async function loadWeight(
  gpu: Gpu,
  scratch: LoadScratch,
  src: WeightSource,
  N: number,
  K: number,
  bits: Bits,
  category: MemoryCategory = 'base',
  maxBindingBytes = gpu.limits.maxStorageBufferBindingSize,
): Promise<{ weight: QWeight; stats: QuantStats }> {
  const perChunk = Math.min(N, rowsPerChunk(K, bits, Math.min(maxBindingBytes, gpu.limits.maxBufferSize)));
  const chunks: QChunk[] = [];
  const stats: QuantStats = { err2: 0, norm2: 0 };
  for (let row0 = 0; row0 < N; row0 += perChunk) {
    const rows = Math.min(perChunk, N - row0);
    const n = rows * K;
    const words = gpu.tensor(`${src.name}#${chunks.length}`, [wordsFor(n, bits)], 'u32', category);
    const scale = bits === 32 ? null : gpu.tensor(`${src.name}#${chunks.length}.scale`, [Math.ceil(n / BLOCK)], 'f32', category);
    for (let e0 = 0; e0 < n; e0 += SLICE) {
      const count = Math.min(SLICE, n - e0);
      const at = row0 * K + e0;
      if (bits === 32) {
        await sliceToF32(gpu, scratch, src, at, count, view(words, e0, count));
        continue;
      }
      const f32 = view(scratch.floats(count), 0, count);
      await sliceToF32(gpu, scratch, src, at, count, f32);
      const st = scratch.statBuffers();
      const nb = Math.ceil(count / BLOCK);
      const codesView = view(words, (e0 * bits) / 32, wordsFor(count, bits));
      const scaleView = view(scale!, e0 / BLOCK, nb);
      const q = await quantizeBlocks(gpu, codesView, scaleView, st.err2, st.norm2, f32, count, bits as 4 | 8);
      const r1 = await reduceForward(gpu, view(st.out, 0, 1), st.partials, st.err2, nb, 'sum');
      const r2 = await reduceForward(gpu, view(st.out, 64, 1), st.partials, st.norm2, nb, 'sum');
      // r1's partials are consumed before r2 overwrites them: dispatches run in order.
      await runAll(gpu, [q, ...r1, ...r2]);
      const out = await gpu.read(st.out);
      const [e2, n2] = [out[0], out[64]];
      stats.err2 += e2;
      stats.norm2 += n2;
    }
    chunks.push({ row0, rows, words, scale });
  }
  return { weight: { name: src.name, N, K, bits, chunks, bias: null }, stats };
}

/** A small f32 vector (norm weights, biases) uploaded as is. */
export async function loadVector(gpu: Gpu, scratch: LoadScratch, src: WeightSource, n: number, category: MemoryCategory = 'base'): Promise<Tensor> {
  const t = gpu.tensor(src.name, [n], 'f32', category);
  await sliceToF32(gpu, scratch, src, 0, n, t);
  return t;
}

export function destroyWeight(gpu: Gpu, w: QWeight): void {
  for (const c of w.chunks) {
    gpu.destroyBuffer(c.words.buffer);
    if (c.scale) gpu.destroyBuffer(c.scale.buffer);
  }
  if (w.bias) gpu.destroyBuffer(w.bias.buffer);
}

/** Bytes the GPU holds for a weight (codes + scales). */
export function weightBytes(w: QWeight): number {
  return w.chunks.reduce((s, c) => s + c.words.bytes + (c.scale?.bytes ?? 0), 0);
}

/** A WeightSource over f32 data in memory (tests, merged LoRA, generated fixtures). */
export function f32Source(name: string, data: Float32Array): WeightSource {
  return {
    name,
    dtype: 'F32',
    async read(offset, count) {
      return new Uint8Array(data.buffer, data.byteOffset + offset * 4, count * 4);
    },
  };
}
