// LoRA adapters in PEFT's format: adapter_config.json + adapter_model.safetensors with tensors named
// base_model.model.model.layers.{i}.{self_attn|mlp}.{target}.lora_{A|B}.weight, A [r, in], B [out, r],
// applied as y = x·Wᵀ + b + (x·Aᵀ·Bᵀ)·alpha/r.

import { CorruptFileError, UnsupportedModelError } from '../errors';
import type { Gpu } from '../gpu/device';
import type { ByteSource } from './bytes';
import type { ModelConfig } from './config';
import { LORA_TARGETS, projectionShape, type LoraTarget, type LoraWeights } from './llama';
import { readSafetensorsHeader, readTensorBytes, toFloat32 } from './safetensors';

export interface AdapterConfig {
  r: number;
  alpha: number;
  dropout: number;
  targets: LoraTarget[];
  baseModel: string | null;
}

/** Validate PEFT's adapter_config.json; reject what we cannot apply exactly. */
export function parseAdapterConfig(json: unknown, file = 'adapter_config.json'): AdapterConfig {
  if (!json || typeof json !== 'object') throw new CorruptFileError(file, 'not a JSON object');
  const c = json as Record<string, unknown>;
  const fail = (what: string) => {
    throw new UnsupportedModelError(`${file}: ${what}`, 'entrotune applies plain LoRA (peft_type LORA) on q,k,v,o,gate,up,down projections, without rsLoRA or DoRA');
  };
  if (c.peft_type !== undefined && c.peft_type !== 'LORA') fail(`peft_type ${String(c.peft_type)} is not supported`);
  if (c.use_rslora) fail('use_rslora is not supported');
  if (c.use_dora) fail('use_dora is not supported');
  if (c.fan_in_fan_out) fail('fan_in_fan_out is not supported');
  if (c.bias !== undefined && c.bias !== 'none') fail(`bias "${String(c.bias)}" is not supported`);
  const r = Number(c.r);
  if (!Number.isInteger(r) || r < 1) throw new CorruptFileError(file, `r must be a positive integer, got ${String(c.r)}`);
  const alpha = c.lora_alpha === undefined ? r : Number(c.lora_alpha);
  if (!Number.isFinite(alpha)) throw new CorruptFileError(file, `lora_alpha must be a number, got ${String(c.lora_alpha)}`);
  let targets = c.target_modules;
  if (typeof targets === 'string') targets = targets === 'all-linear' ? [...LORA_TARGETS] : [targets];
  if (!Array.isArray(targets) || !targets.length) throw new CorruptFileError(file, 'target_modules must be a non-empty list');
  for (const t of targets) if (!(LORA_TARGETS as readonly string[]).includes(t)) fail(`target module ${String(t)} is not supported (supported: ${LORA_TARGETS.join(', ')})`);
  if (c.layers_to_transform != null || c.rank_pattern && Object.keys(c.rank_pattern as object).length || c.alpha_pattern && Object.keys(c.alpha_pattern as object).length) {
    fail('layers_to_transform, rank_pattern and alpha_pattern are not supported');
  }
  return {
    r,
    alpha,
    dropout: Number(c.lora_dropout ?? 0),
    targets: targets as LoraTarget[],
    baseModel: typeof c.base_model_name_or_path === 'string' ? c.base_model_name_or_path : null,
  };
}

export function peftName(layer: number, t: LoraTarget, ab: 'A' | 'B'): string {
  const block = t.endsWith('_proj') && ['gate_proj', 'up_proj', 'down_proj'].includes(t) ? 'mlp' : 'self_attn';
  return `base_model.model.model.layers.${layer}.${block}.${t}.lora_${ab}.weight`;
}

/** Upload a PEFT adapter; every tensor's presence and shape is checked against the model. */
export async function loadAdapter(gpu: Gpu, cfg: ModelConfig, configJson: unknown, weights: ByteSource): Promise<LoraWeights> {
  const ac = parseAdapterConfig(configJson);
  const { tensors } = await readSafetensorsHeader(weights);
  const layers: LoraWeights['layers'] = [];
  const lora: LoraWeights = { r: ac.r, alpha: ac.alpha, scale: ac.alpha / ac.r, targets: ac.targets, layers };
  for (let l = 0; l < cfg.L; l++) {
    const entry: LoraWeights['layers'][number] = {};
    for (const t of ac.targets) {
      const { out, in: K } = projectionShape(cfg, t);
      const pair = { A: gpu.tensor(`lora.${l}.${t}.A`, [ac.r, K], 'f32', 'lora'), B: gpu.tensor(`lora.${l}.${t}.B`, [out, ac.r], 'f32', 'lora') };
      for (const [ab, shape] of [['A', [ac.r, K]], ['B', [out, ac.r]]] as const) {
        const name = peftName(l, t, ab);
        const info = tensors.get(name) ?? tensors.get(name.replace('.weight', '.default.weight'));
        if (!info) throw new CorruptFileError(weights.name, `missing ${name}`, 'the adapter does not match adapter_config.json or this model');
        if (info.shape.join(',') !== shape.join(',')) {
          throw new CorruptFileError(weights.name, `${name} has shape [${info.shape}], this model needs [${shape}]`, 'the adapter was trained for a different base model');
        }
        gpu.write(pair[ab], toFloat32(info, await readTensorBytes(weights, info)));
      }
      entry[t] = pair;
    }
    layers.push(entry);
  }
  return lora;
}

export function destroyLora(gpu: Gpu, lora: LoraWeights): void {
  for (const layer of lora.layers) for (const p of Object.values(layer)) if (p) { gpu.destroyBuffer(p.A.buffer); gpu.destroyBuffer(p.B.buffer); }
}
