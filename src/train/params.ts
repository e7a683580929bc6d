// What a trainer trains, and the buffers beside it: a new PEFT-initialised adapter (or the model's
// own), or — full fine-tuning — every base weight by its Hugging Face name; gradients and AdamW
// moments of the same shapes, zeroed.

import { EntrotuneError } from '../errors';
import type { Gpu } from '../gpu/device';
import type { Tensor } from '../gpu/tensor';
import type { QWeight } from '../kernels/quantize';
import { blockOf, LORA_TARGETS, projectionShape, type LoraTarget, type LoraWeights } from '../model/architecture';
import { peftName } from '../model/lora';
import type { Model } from '../model/model';
import type { FullGrads } from '../model/projection';
import { rng } from '../util/random';
import type { TrainConfig } from './trainer';

/** PEFT's init: A ~ kaiming_uniform(a=√5) = U(−1/√in, 1/√in), B = 0. */
export function initLora(gpu: Gpu, model: Model, c: Pick<TrainConfig, 'r' | 'alpha' | 'targets' | 'seed'>): LoraWeights {
  const random = rng(c.seed);
  const layers: LoraWeights['layers'] = [];
  for (let l = 0; l < model.cfg.L; l++) {
    const entry: LoraWeights['layers'][number] = {};
    for (const t of c.targets) {
      const { out, in: K } = projectionShape(model.cfg, t);
      const A = gpu.tensor(`lora.${l}.${t}.A`, [c.r, K], 'f32', 'lora');
      const B = gpu.tensor(`lora.${l}.${t}.B`, [out, c.r], 'f32', 'lora');
      const bound = 1 / Math.sqrt(K);
      gpu.write(A, Float32Array.from({ length: c.r * K }, () => (2 * random() - 1) * bound));
      gpu.write(B, new Float32Array(out * c.r));
      entry[t] = { A, B };
    }
    layers.push(entry);
  }
  return { r: c.r, alpha: c.alpha, scale: c.alpha / c.r, targets: [...c.targets], layers };
}

/** Tensors of the same shapes as a LoRA, zeroed (gradients, optimiser moments). */
export function zerosLike(gpu: Gpu, lora: LoraWeights, what: string, category: 'grads' | 'optimizer'): LoraWeights {
  return {
    ...lora,
    layers: lora.layers.map((layer, l) => Object.fromEntries(Object.entries(layer).map(([t, p]) => {
      const z = (x: Tensor, ab: string) => {
        const n = x.bytes / 4;
        const out = gpu.tensor(`${what}.${l}.${t}.${ab}`, x.shape, 'f32', category);
        gpu.write(out, new Float32Array(n));
        return out;
      };
      return [t, { A: z(p!.A, 'A'), B: z(p!.B, 'B') }];
    }))),
  };
}

export function flat(lora: LoraWeights): { name: string; t: Tensor }[] {
  const out: { name: string; t: Tensor }[] = [];
  lora.layers.forEach((layer, l) => {
    for (const t of LORA_TARGETS) {
      const p = layer[t];
      if (p) out.push({ name: peftName(l, t, 'A'), t: p.A }, { name: peftName(l, t, 'B'), t: p.B });
    }
  });
  return out;
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
