// What a Llama / Qwen2 / Qwen3 model is made of on the GPU: its weights per layer, the seven
// projections (and their shapes) a LoRA adapter can target, the adapter's factors, and RoPE's
// frequencies. Architecture differences are config fields (qkvBias, qkNorm, tieEmbeddings,
// ropeScaling), not classes.

import type { QWeight } from '../kernels/quantize';
import type { Tensor } from '../gpu/tensor';
import type { ModelConfig } from './config';

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** The module a projection belongs to in Hugging Face's names: model.layers.{l}.{block}.{target}. */
export function blockOf(t: LoraTarget): 'self_attn' | 'mlp' {
  return t === 'gate_proj' || t === 'up_proj' || t === 'down_proj' ? 'mlp' : 'self_attn';
}

export interface LayerWeights {
  attnNorm: Tensor; // [C]
  q_proj: QWeight; // [NH·HS, C] (+ bias)
  k_proj: QWeight; // [NKV·HS, C] (+ bias)
  v_proj: QWeight; // [NKV·HS, C] (+ bias)
  o_proj: QWeight; // [C, NH·HS]
  qNorm: Tensor | null; // [HS] (Qwen3)
  kNorm: Tensor | null; // [HS] (Qwen3)
  mlpNorm: Tensor; // [C]
  gate_proj: QWeight; // [I, C]
  up_proj: QWeight; // [I, C]
  down_proj: QWeight; // [C, I]
}

export interface ModelWeights {
  embed: QWeight; // [V, C]
  layers: LayerWeights[];
  norm: Tensor; // [C]
  lmHead: QWeight; // [V, C]; the same object as embed when tied
}

/** LoRA factors of one target: y += (x·Aᵀ)·Bᵀ · scale. */
export interface LoraPair {
  A: Tensor; // [r, in]
  B: Tensor; // [out, r]
}

export interface LoraWeights {
  r: number;
  alpha: number;
  /** alpha / r (PEFT's scaling without rsLoRA). */
  scale: number;
  targets: LoraTarget[];
  layers: Partial<Record<LoraTarget, LoraPair>>[];
}

/** Input and output sizes of each projection. */
export function projectionShape(cfg: ModelConfig, t: LoraTarget): { out: number; in: number } {
  const { C, I, NH, NKV, HS } = cfg;
  switch (t) {
    case 'q_proj': return { out: NH * HS, in: C };
    case 'k_proj':
    case 'v_proj': return { out: NKV * HS, in: C };
    case 'o_proj': return { out: C, in: NH * HS };
    case 'gate_proj':
    case 'up_proj': return { out: I, in: C };
    case 'down_proj': return { out: C, in: I };
  }
}

/** Rotary inverse frequencies, with Llama 3's frequency-dependent scaling when configured. */
export function ropeInvFreq(cfg: ModelConfig): Float64Array {
  const half = cfg.HS / 2;
  const inv = Float64Array.from({ length: half }, (_, i) => 1 / cfg.ropeTheta ** ((2 * i) / cfg.HS));
  const s = cfg.ropeScaling;
  if (!s) return inv;
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f; // high frequencies: unchanged
    if (wavelen > lowWavelen) return f / s.factor; // low frequencies: scaled
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}
