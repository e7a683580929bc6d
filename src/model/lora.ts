// LoRA adapters in PEFT's format: adapter_config.json + adapter_model.safetensors with tensors named
// base_model.model.model.layers.{i}.{self_attn|mlp}.{target}.lora_{A|B}.weight, A [r, in], B [out, r],
// applied as y = x·Wᵀ + b + (x·Aᵀ·Bᵀ)·alpha/r.

import { CorruptFileError, UnsupportedModelError } from '../errors';
import type { Gpu } from '../gpu/device';
import type { ByteSource } from './bytes';
import type { ModelConfig } from './config';
import { blockOf, LORA_TARGETS, projectionShape, type LoraTarget, type LoraWeights } from './architecture';
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
  // Fully trained modules saved beside the LoRA weights: dropping them would change what the adapter does.
  if (Array.isArray(c.modules_to_save) ? c.modules_to_save.length : c.modules_to_save != null) fail(`modules_to_save (${JSON.stringify(c.modules_to_save)}) is not supported`);
  const dropout = Number(c.lora_dropout ?? 0);
  if (!(dropout >= 0 && dropout < 1)) throw new CorruptFileError(file, `lora_dropout must be a number in [0, 1), got ${String(c.lora_dropout)}`);
  return {
    r,
    alpha,
    dropout,
    targets: targets as LoraTarget[],
    baseModel: typeof c.base_model_name_or_path === 'string' ? c.base_model_name_or_path : null,
  };
}

export function peftName(layer: number, t: LoraTarget, ab: 'A' | 'B'): string {
  return `base_model.model.model.layers.${layer}.${blockOf(t)}.${t}.lora_${ab}.weight`;
}

/** Upload a PEFT adapter. Every tensor is checked against the model before anything is uploaded: each
 * one the config implies must be there with the model's shape, and the file may hold nothing else. */
export async function loadAdapter(gpu: Gpu, cfg: ModelConfig, configJson: unknown, weights: ByteSource): Promise<LoraWeights> {
  const ac = parseAdapterConfig(configJson);
  const { tensors } = await readSafetensorsHeader(weights);
  const used = new Set<string>();
  const plan = Array.from({ length: cfg.L }, (_, l) => ac.targets.map((t) => {
    const { out, in: K } = projectionShape(cfg, t);
    const [A, B] = ([['A', [ac.r, K]], ['B', [out, ac.r]]] as const).map(([ab, shape]) => {
      const name = peftName(l, t, ab);
      const key = tensors.has(name) ? name : name.replace('.weight', '.default.weight');
      const info = tensors.get(key);
      if (!info) throw new CorruptFileError(weights.name, `missing ${name}`, 'the adapter does not match adapter_config.json or this model');
      if (info.shape.join(',') !== shape.join(',')) {
        throw new CorruptFileError(weights.name, `${name} has shape [${info.shape}], this model needs [${shape}]`, 'the adapter was trained for a different base model');
      }
      used.add(key);
      return { info, shape: [...shape] };
    });
    return { t, A, B };
  }));
  const extra = [...tensors.keys()].filter((n) => !used.has(n));
  if (extra.length) {
    throw new CorruptFileError(
      weights.name,
      `${extra.length} tensor(s) this model has no place for, e.g. ${extra[0]} (the model has ${cfg.L} layers; adapter_config.json targets ${ac.targets.join(', ')})`,
      'the adapter was trained for a different base model, or its adapter_config.json does not list what it trained',
    );
  }
  const lora: LoraWeights = { r: ac.r, alpha: ac.alpha, scale: ac.alpha / ac.r, targets: ac.targets, layers: [] };
  try {
    for (const [l, entries] of plan.entries()) {
      const entry: LoraWeights['layers'][number] = {};
      lora.layers.push(entry);
      for (const { t, A, B } of entries) {
        const pair = { A: gpu.tensor(`lora.${l}.${t}.A`, A.shape, 'f32', 'lora'), B: gpu.tensor(`lora.${l}.${t}.B`, B.shape, 'f32', 'lora') };
        entry[t] = pair;
        gpu.write(pair.A, toFloat32(A.info, await readTensorBytes(weights, A.info)));
        gpu.write(pair.B, toFloat32(B.info, await readTensorBytes(weights, B.info)));
      }
    }
  } catch (err) {
    destroyLora(gpu, lora); // a read that fails half-way leaves no GPU buffers behind
    throw err;
  }
  return lora;
}

/** Frees the adapter's buffers, each once: a trainer's adapter is views of one flat buffer. */
export function destroyLora(gpu: Gpu, lora: LoraWeights): void {
  const buffers = new Set<GPUBuffer>();
  for (const layer of lora.layers) for (const p of Object.values(layer)) if (p) buffers.add(p.A.buffer).add(p.B.buffer);
  for (const b of buffers) gpu.destroyBuffer(b);
}
