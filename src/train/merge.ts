// Merged full weights for small unquantised models: W' = W + (alpha/r)·B·A for every LoRA target,
// written with the HF tensor names as one model.safetensors (F32), next to the base config.json.
// For NF4/int8 bases the merge would bake quantisation error into the weights: refused.

import { EntrotuneError } from '../errors';
import type { Tensor } from '../gpu/tensor';
import type { QWeight } from '../kernels/quantize';
import { weightShapes } from '../model/config';
import { LORA_TARGETS, projectionShape, type LoraTarget } from '../model/architecture';
import type { Model } from '../model/model';
import { writeSafetensors } from '../model/safetensors-write';

async function readMatrix(model: Model, w: QWeight): Promise<Float32Array> {
  const out = new Float32Array(w.N * w.K);
  for (const c of w.chunks) out.set(await model.gpu.read(c.words), c.row0 * w.K);
  return out;
}

/** model.safetensors bytes of the base with the model's LoRA adapter merged in. */
export async function mergedSafetensors(model: Model): Promise<Uint8Array> {
  if (model.report.quant !== 'none') throw new EntrotuneError(`merging needs unquantised base weights; this model is loaded as ${model.report.quant}`, 'load the model with quant: "none" to merge (small models only)');
  const { cfg, weights: w, lora } = model;
  const read = (t: Tensor) => model.gpu.read(t);
  const out = new Map<string, Float32Array>();
  out.set('model.embed_tokens.weight', await readMatrix(model, w.embed));
  for (let l = 0; l < cfg.L; l++) {
    const L = w.layers[l];
    const p = `model.layers.${l}.`;
    out.set(`${p}input_layernorm.weight`, await read(L.attnNorm));
    out.set(`${p}post_attention_layernorm.weight`, await read(L.mlpNorm));
    if (L.qNorm && L.kNorm) {
      out.set(`${p}self_attn.q_norm.weight`, await read(L.qNorm));
      out.set(`${p}self_attn.k_norm.weight`, await read(L.kNorm));
    }
    for (const t of LORA_TARGETS as readonly LoraTarget[]) {
      const block = t === 'gate_proj' || t === 'up_proj' || t === 'down_proj' ? 'mlp' : 'self_attn';
      const W = await readMatrix(model, L[t]);
      const pair = lora?.layers[l]?.[t];
      if (pair && lora) {
        const { out: N, in: K } = projectionShape(cfg, t);
        const A = await read(pair.A), B = await read(pair.B);
        for (let n = 0; n < N; n++) {
          for (let k = 0; k < K; k++) {
            let s = 0;
            for (let j = 0; j < lora.r; j++) s += B[n * lora.r + j] * A[j * K + k];
            W[n * K + k] += lora.scale * s;
          }
        }
      }
      out.set(`${p}${block}.${t}.weight`, W);
      if (L[t].bias) out.set(`${p}${block}.${t}.bias`, await read(L[t].bias!));
    }
  }
  out.set('model.norm.weight', await read(w.norm));
  if (!cfg.tieEmbeddings) out.set('lm_head.weight', await readMatrix(model, w.lmHead));
  return writeSafetensors([...weightShapes(cfg)].map(([name, shape]) => ({ name, dtype: 'F32' as const, shape, data: out.get(name)! })), { format: 'pt' });
}
