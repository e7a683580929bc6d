// What a trainer trains, and the buffers beside it: a new PEFT-initialised adapter (or the model's
// own), or — full fine-tuning — every base weight by its Hugging Face name; gradients and AdamW
// moments of the same shapes, zeroed. LoRA's four sets (params, grads, m, v) are each a few flat
// buffers of views (allocFlat), so the optimiser runs one launch per buffer instead of per tensor.

import { EntrotuneError, LimitTooLowError } from '../errors';
import { STORAGE_COPY } from '../gpu/arena';
import type { Gpu } from '../gpu/device';
import type { MemoryCategory } from '../gpu/memory';
import { alignUp, numel, type Tensor } from '../gpu/tensor';
import type { QWeight } from '../kernels/quantize';
import { blockOf, LORA_TARGETS, projectionShape, type LoraPair, type LoraTarget, type LoraWeights } from '../model/architecture';
import type { ModelConfig } from '../model/config';
import { peftName } from '../model/lora';
import type { Model } from '../model/model';
import type { FullGrads } from '../model/projection';
import { rng } from '../util/random';
import type { TrainConfig } from './trainer';

/** PEFT's init: A ~ kaiming_uniform(a=√5) = U(−1/√in, 1/√in), B = 0. */
export function initLora(gpu: Gpu, model: Model, c: Pick<TrainConfig, 'r' | 'alpha' | 'targets' | 'seed'>): LoraWeights {
  const layers: LoraWeights['layers'] = [];
  for (let l = 0; l < model.cfg.L; l++) {
    const entry: LoraWeights['layers'][number] = {};
    for (const t of c.targets) {
      const { out, in: K } = projectionShape(model.cfg, t);
      entry[t] = { A: gpu.tensor(`lora.${l}.${t}.A`, [c.r, K], 'f32', 'lora'), B: gpu.tensor(`lora.${l}.${t}.B`, [out, c.r], 'f32', 'lora') };
    }
    layers.push(entry);
  }
  const lora = { r: c.r, alpha: c.alpha, scale: c.alpha / c.r, targets: [...c.targets], layers };
  writePeftInit(gpu, lora, c.seed);
  return lora;
}

/** Write PEFT's init into an adapter's tensors. The random sequence runs layer by layer, targets in
 *  `lora.targets` order: a seed gives the same A whichever buffers hold the adapter. */
export function writePeftInit(gpu: Gpu, lora: LoraWeights, seed: number): void {
  const random = rng(seed);
  for (const layer of lora.layers) {
    for (const t of lora.targets) {
      const { A, B } = layer[t]!;
      const [r, K] = A.shape;
      const bound = 1 / Math.sqrt(K);
      gpu.write(A, Float32Array.from({ length: r * K }, () => (2 * random() - 1) * bound));
      gpu.write(B, new Float32Array(B.bytes / 4));
    }
  }
}

/** One tensor of an adapter: its PEFT name, shape, and place (layer, target, A or B). */
export interface LoraSpec {
  name: string;
  shape: readonly number[];
  layer: number;
  target: LoraTarget;
  ab: 'A' | 'B';
}

/** The tensors of an adapter, in the order trainers list them (layer, then LORA_TARGETS order, A
 *  before B): of `lora`, or of a new one of rank c.r on c.targets. */
export function loraSpecs(cfg: ModelConfig, c: Pick<TrainConfig, 'r' | 'targets'>, lora?: LoraWeights): LoraSpec[] {
  const out: LoraSpec[] = [];
  for (let l = 0; l < cfg.L; l++) {
    // A layer's A's first, in target order, then its B's: q, k and v's A's (and gate and up's) lie evenly
    // spaced, so one batched launch computes their u = x·Aᵀ (Projection.adapterInputs).
    for (const ab of ['A', 'B'] as const) {
      for (const t of LORA_TARGETS) {
        const p = lora?.layers[l]?.[t];
        if (lora ? !p : !c.targets.includes(t)) continue;
        const { out: N, in: K } = projectionShape(cfg, t);
        const shape = p ? p[ab].shape : ab === 'A' ? [c.r, K] : [N, c.r];
        out.push({ name: peftName(l, t, ab), shape, layer: l, target: t, ab });
      }
    }
  }
  return out;
}

/** An adapter (r, alpha, targets of `meta`) whose tensors are `tensors`, one per spec. */
export function loraFrom(meta: Pick<LoraWeights, 'r' | 'alpha' | 'scale' | 'targets'>, L: number, specs: readonly LoraSpec[], tensors: readonly Tensor[]): LoraWeights {
  const layers: LoraWeights['layers'] = Array.from({ length: L }, () => ({}));
  specs.forEach((s, i) => {
    const pair = (layers[s.layer][s.target] ??= {} as LoraPair);
    pair[s.ab] = tensors[i];
  });
  return { r: meta.r, alpha: meta.alpha, scale: meta.scale, targets: [...meta.targets], layers };
}

/**
 * Tensors laid end to end in a few flat buffers ("segments"), each tensor a view at a 256-byte-aligned
 * offset, a new segment only when the next tensor would not fit one storage binding: one kernel over a
 * segment reaches every tensor in it (the trainer's gradient norm and AdamW: one launch per segment,
 * not per tensor). The padding between views is 0 when allocated and no kernel writes it.
 */
export interface FlatBuffers {
  /** Each segment as one f32 tensor over its buffer, padding included. */
  segments: Tensor[];
  /** The views, one per spec, in order. */
  list: Named[];
}

export function allocFlat(gpu: Gpu, specs: readonly { name: string; shape: readonly number[] }[], what: string, category: MemoryCategory): FlatBuffers {
  const align = Math.max(256, gpu.limits.minStorageBufferOffsetAlignment);
  const max = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
  // Plan first (segment and offset of each tensor, each segment's end), then allocate.
  const places: { segment: number; offset: number; bytes: number }[] = [];
  const ends: number[] = [];
  for (const s of specs) {
    const bytes = numel(s.shape) * 4;
    if (bytes > max) throw new LimitTooLowError('maxStorageBufferBindingSize', bytes, max, `split ${what}.${s.name} into chunks that fit one binding`);
    let offset = ends.length ? alignUp(ends[ends.length - 1], align) : 0;
    if (!ends.length || offset + bytes > max) {
      ends.push(0);
      offset = 0;
    }
    ends[ends.length - 1] = offset + bytes;
    places.push({ segment: ends.length - 1, offset, bytes });
  }
  const segments = ends.map((end, i): Tensor => {
    const name = `${what}[${i}]`;
    return { name, buffer: gpu.createBuffer(name, end, STORAGE_COPY, category), offset: 0, bytes: end, shape: [end / 4], dtype: 'f32' };
  });
  const list = specs.map((s, i): Named => {
    const { segment, offset, bytes } = places[i];
    return { name: s.name, t: { name: `${what}.${s.name}`, buffer: segments[segment].buffer, offset, bytes, shape: s.shape, dtype: 'f32' } };
  });
  return { segments, list };
}

export type Named = { name: string; t: Tensor };

export function zerosList(gpu: Gpu, list: Named[], what: string, category: 'grads' | 'optimizer'): Named[] {
  return list.map(({ name, t }) => {
    const z = gpu.tensor(`${what}.${name}`, t.shape, 'f32', category);
    gpu.write(z, new Float32Array(t.bytes / 4));
    return { name, t: z };
  });
}

/** Every base weight of a model loaded without quantisation, by HF name (full fine-tuning). */
export function baseParams(model: Model): Named[] {
  const { cfg, weights: w } = model;
  const one = (q: QWeight): Tensor => {
    if (q.bits !== 32 || q.chunks.length !== 1) throw new EntrotuneError(`full fine-tuning needs ${q.name} unquantised in one buffer`, 'load the model with quant: "none"; full fine-tuning is for small models');
    return { ...q.chunks[0].words, dtype: 'f32', shape: [q.N, q.K] };
  };
  const out: Named[] = [{ name: 'model.embed_tokens.weight', t: one(w.embed) }];
  w.layers.forEach((L, l) => {
    const p = `model.layers.${l}.`;
    out.push({ name: `${p}input_layernorm.weight`, t: L.attnNorm }, { name: `${p}post_attention_layernorm.weight`, t: L.mlpNorm });
    if (L.qNorm && L.kNorm) out.push({ name: `${p}self_attn.q_norm.weight`, t: L.qNorm }, { name: `${p}self_attn.k_norm.weight`, t: L.kNorm });
    for (const t of LORA_TARGETS) {
      out.push({ name: `${p}${blockOf(t)}.${t}.weight`, t: one(L[t]) });
      if (L[t].bias) out.push({ name: `${p}${blockOf(t)}.${t}.bias`, t: L[t].bias! });
    }
  });
  out.push({ name: 'model.norm.weight', t: w.norm });
  if (!cfg.tieEmbeddings) out.push({ name: 'lm_head.weight', t: one(w.lmHead) });
  return out;
}

export function fullGradsOf(model: Model, grads: Named[]): FullGrads {
  const g = new Map(grads.map((x) => [x.name, x.t]));
  const get = (n: string) => g.get(n)!;
  return {
    embed: get('model.embed_tokens.weight'),
    lmHead: g.get('lm_head.weight') ?? null,
    norm: get('model.norm.weight'),
    layers: model.weights.layers.map((L, l) => {
      const p = `model.layers.${l}.`;
      const proj = {} as Record<LoraTarget, Tensor>;
      const bias: Partial<Record<LoraTarget, Tensor>> = {};
      for (const t of LORA_TARGETS) {
        proj[t] = get(`${p}${blockOf(t)}.${t}.weight`);
        if (L[t].bias) bias[t] = get(`${p}${blockOf(t)}.${t}.bias`);
      }
      return { ...proj, bias, attnNorm: get(`${p}input_layernorm.weight`), mlpNorm: get(`${p}post_attention_layernorm.weight`), qNorm: g.get(`${p}self_attn.q_norm.weight`) ?? null, kNorm: g.get(`${p}self_attn.k_norm.weight`) ?? null };
    }),
  };
}
