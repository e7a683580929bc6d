// The memory planner for inference, from config.json alone: how many GPU bytes the base weights,
// the KV cache and the activations of one forward pass take, before anything is downloaded.
// It counts what the loader and ForwardPlan really allocate (same chunking, same tensor lists).

import { planArena } from '../gpu/arena';
import { BLOCK, rowsPerChunk } from '../kernels/quantize';
import { type ModelConfig, parameterCount } from './config';
import { LORA_TARGETS, projectionShape } from './architecture';
import { forwardActivationSpecs } from './llama';
import { QUANT_BITS, quantName, type Quant } from './quant';

export interface DeviceLimitsLike {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  minStorageBufferOffsetAlignment: number;
}

/** WebGPU's defaults, what a device gets when it asks for nothing. */
export const DEFAULT_LIMITS: DeviceLimitsLike = { maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20, minStorageBufferOffsetAlignment: 256 };

export interface InferencePlanOptions {
  quant: Quant;
  /** Sequences scored at once and their padded length. */
  batch: number;
  seqLen: number;
  /** Positions whose logits are read per pass (default: one per sequence). */
  positions?: number;
  /** KV-cache capacity for generation (0: none). */
  cacheLength?: number;
  loraRank?: number;
  limits?: DeviceLimitsLike;
}

export interface MemoryPlan {
  parameters: number;
  /** Named arenas and their bytes, in the order they are allocated. */
  arenas: { name: string; bytes: number }[];
  total: number;
  /** Base-weight bytes per parameter (codes + scales + f32 vectors). */
  bytesPerParameter: number;
  /** Chunks per matrix that does not fit one binding (lm_head/embedding of big vocabularies). */
  chunkedMatrices: { name: string; chunks: number }[];
}

const align = (n: number) => Math.ceil(n / 256) * 256;

/** Bytes of one [N, K] matrix as loaded: chunks of whole rows, each codes + scales, 256-aligned. */
export function matrixBytes(N: number, K: number, quant: Quant, limits: DeviceLimitsLike): { bytes: number; chunks: number } {
  const bits = QUANT_BITS[quant];
  const perChunk = Math.min(N, rowsPerChunk(K, bits, Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize)));
  let bytes = 0, chunks = 0;
  for (let r0 = 0; r0 < N; r0 += perChunk) {
    const n = Math.min(perChunk, N - r0) * K;
    const nb = Math.ceil(n / BLOCK);
    bytes += bits === 32 ? align(n * 4) : align(nb * BLOCK * bits / 8) + align(nb * 4);
    chunks++;
  }
  return { bytes, chunks };
}

export function baseWeightBytes(cfg: ModelConfig, quant: Quant, limits: DeviceLimitsLike = DEFAULT_LIMITS): { bytes: number; chunked: { name: string; chunks: number }[] } {
  const chunked: { name: string; chunks: number }[] = [];
  const m = (name: string, N: number, K: number) => {
    const r = matrixBytes(N, K, quant, limits);
    if (r.chunks > 1) chunked.push({ name, chunks: r.chunks });
    return r.bytes;
  };
  const { V, C, HS, L } = cfg;
  let bytes = m('embed_tokens', V, C) + (cfg.tieEmbeddings ? 0 : m('lm_head', V, C)) + align(C * 4);
  for (let l = 0; l < L; l++) {
    for (const t of LORA_TARGETS) {
      const { out, in: K } = projectionShape(cfg, t);
      bytes += m(t, out, K);
      if (cfg.qkvBias && (t === 'q_proj' || t === 'k_proj' || t === 'v_proj')) bytes += align(out * 4);
    }
    bytes += 2 * align(C * 4) + (cfg.qkNorm ? 2 * align(HS * 4) : 0);
  }
  // Per-layer chunk lists repeat: report each matrix name once.
  const seen = new Set<string>();
  return { bytes, chunked: chunked.filter((c) => !seen.has(c.name) && seen.add(c.name)) };
}

export function planInference(cfg: ModelConfig, o: InferencePlanOptions): MemoryPlan {
  const limits = o.limits ?? DEFAULT_LIMITS;
  const base = baseWeightBytes(cfg, o.quant, limits);
  const arenas: { name: string; bytes: number }[] = [{ name: `base weights (${quantName(o.quant)})`, bytes: base.bytes }];
  const ctx = Math.max(o.seqLen, o.cacheLength ?? 0);
  arenas.push({ name: 'rope table', bytes: align(ctx * cfg.HS * 4) });
  if (o.loraRank) {
    let lora = 0;
    for (const t of LORA_TARGETS) {
      const { out, in: K } = projectionShape(cfg, t);
      lora += cfg.L * (align(o.loraRank * K * 4) + align(out * o.loraRank * 4));
    }
    arenas.push({ name: `LoRA r=${o.loraRank}`, bytes: lora });
  }
  if (o.cacheLength) arenas.push({ name: `KV cache ${o.batch}×${o.cacheLength}`, bytes: 2 * cfg.L * align(o.batch * o.cacheLength * cfg.NKV * cfg.HS * 4) });
  const P = o.positions ?? o.batch;
  const acts = planArena('activations', forwardActivationSpecs(cfg, { B: o.batch, Tq: o.seqLen, S: o.cacheLength ?? 0, P }, o.loraRank ?? 0), limits);
  arenas.push({ name: `activations ${o.batch}×${o.seqLen}`, bytes: acts.totalBytes });
  arenas.push({ name: 'readback staging', bytes: align(P * cfg.V * 4) });
  const parameters = parameterCount(cfg);
  return {
    parameters,
    arenas,
    total: arenas.reduce((s, a) => s + a.bytes, 0),
    bytesPerParameter: base.bytes / parameters,
    chunkedMatrices: base.chunked,
  };
}
