// Float64 CPU reference of the Llama / Qwen2 / Qwen3 forward pass with an optional LoRA adapter,
// built from the per-op references. It is the spec the GPU model is tested against, and it is
// itself checked against the PyTorch fixtures (tests/gpu/pytorch.test.ts).

import type { ModelConfig } from '../../src/model/config';
import { blockOf, LORA_TARGETS, projectionShape, ropeInvFreq, type LoraTarget } from '../../src/model/architecture';
import { peftName } from '../../src/model/lora';
import { attentionForward } from './attention';
import { embeddingForward } from './embedding';
import { linearForward } from './linear';
import { rmsnormForward } from './rmsnorm';
import { ropeForward } from './rope';
import { swigluForward } from './swiglu';

export type Weights = Map<string, ArrayLike<number>>;

export interface RefLora {
  scale: number;
  r: number;
  /** PEFT tensor name → values. */
  tensors: Weights;
}

function get(w: Weights, name: string): ArrayLike<number> {
  const t = w.get(name);
  if (!t) throw new Error(`reference: no tensor ${name}`);
  return t;
}

/** Logits [B·T, V] for a batch of equal-length rows (pad them yourself; padding is causal-safe). */
export function referenceForward(cfg: ModelConfig, w: Weights, ids: number[][], lora: RefLora | null = null): Float64Array {
  const { C, NH, NKV, HS, V, eps } = cfg;
  const B = ids.length;
  const T = ids[0].length;
  const BT = B * T;
  const invFreq = ropeInvFreq(cfg);
  let x = embeddingForward(get(w, 'model.embed_tokens.weight'), ids.flat(), C);
  const proj = (l: number, t: LoraTarget, input: ArrayLike<number>, bias: ArrayLike<number> | null): Float64Array => {
    const { out, in: K } = projectionShape(cfg, t);
    const y = linearForward(input, get(w, `model.layers.${l}.${blockOf(t)}.${t}.weight`), bias, BT, out, K);
    if (lora && lora.tensors.has(peftName(l, t, 'A'))) {
      const u = linearForward(input, get(lora.tensors, peftName(l, t, 'A')), null, BT, lora.r, K);
      const d = linearForward(u, get(lora.tensors, peftName(l, t, 'B')), null, BT, out, lora.r);
      for (let i = 0; i < y.length; i++) y[i] += lora.scale * d[i];
    }
    return y;
  };
  for (let l = 0; l < cfg.L; l++) {
    const p = `model.layers.${l}.`;
    const h = rmsnormForward(x, get(w, `${p}input_layernorm.weight`), BT, C, eps).y;
    const bias = (t: string) => (cfg.qkvBias ? get(w, `${p}self_attn.${t}.bias`) : null);
    let q = proj(l, 'q_proj', h, bias('q_proj'));
    let k = proj(l, 'k_proj', h, bias('k_proj'));
    const v = proj(l, 'v_proj', h, bias('v_proj'));
    if (cfg.qkNorm) {
      q = rmsnormForward(q, get(w, `${p}self_attn.q_norm.weight`), BT * NH, HS, eps).y;
      k = rmsnormForward(k, get(w, `${p}self_attn.k_norm.weight`), BT * NKV, HS, eps).y;
    }
    q = ropeForward(q, invFreq, BT, NH, HS, T);
    k = ropeForward(k, invFreq, BT, NKV, HS, T);
    const att = attentionForward(q, k, v, B, T, T, NH, NKV, HS).y;
    const o = proj(l, 'o_proj', att, null);
    x = x.map((xi, i) => xi + o[i]);
    const h2 = rmsnormForward(x, get(w, `${p}post_attention_layernorm.weight`), BT, C, eps).y;
    const act = swigluForward(proj(l, 'gate_proj', h2, null), proj(l, 'up_proj', h2, null));
    const down = proj(l, 'down_proj', act, null);
    x = x.map((xi, i) => xi + down[i]);
  }
  const hf = rmsnormForward(x, get(w, 'model.norm.weight'), BT, C, eps).y;
  return linearForward(hf, get(w, cfg.tieEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight'), null, BT, V, C);
}

export { LORA_TARGETS };
