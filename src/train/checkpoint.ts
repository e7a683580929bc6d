// Adapters and checkpoints on disk (Node) or in OPFS (browser), in formats other tools read:
//   - the adapter in PEFT's format: adapter_model.safetensors (F32 tensors named
//     base_model.model.model.layers.{i}.….lora_{A|B}.weight) + adapter_config.json;
//   - a checkpoint = the trained tensors + the AdamW m and v (same names) in one of two alternating
//     slots, and state.json (step, data cursor, RNG seed and epoch, the config, the losses, the slot),
//     written last as the commit point (see saveCheckpoint in loop.ts).

import { CorruptFileError } from '../errors';
import type { FileSink } from '../storage/folder';
import { readJson } from '../storage/json';
import type { Gpu } from '../gpu/device';
import type { Tensor } from '../gpu/tensor';
import type { LoraWeights } from '../model/architecture';
import { memorySource } from '../model/bytes';
import { readSafetensorsHeader, readTensorBytes, toFloat32 } from '../model/safetensors';
import { writeSafetensors } from '../model/safetensors-write';

// Sinks are storage's (src/storage/): one policy for every place files are kept.
export type { FileSink } from '../storage/folder';
export { nodeDirSink, opfsSink } from '../storage/sinks';

/** state.json: where training stands, written last as a checkpoint's commit point. */
export interface CheckpointState {
  version: 1;
  step: number;
  epoch: number;
  /** Index into the epoch's shuffled order of the next example. */
  offset: number;
  seed: number;
  /** Micro-batches seen, which seeds LoRA dropout masks. */
  dropoutTick?: number;
  /** The checkpoint slot (0 or 1) whose files this state belongs to. */
  slot?: number;
  /** Tokens the steps so far processed (prompt + target) and trained (with a target). */
  tokens?: { processed: number; trained: number };
  losses: number[];
  config: Record<string, unknown>;
}

/** The checkpoint's state.json; null when there is no checkpoint. A state.json that cannot be read is a
 *  StorageError, one that is not JSON a CorruptFileError naming it: never a silent start from step 0. */
export function readCheckpointState(sink: FileSink): Promise<CheckpointState | null> {
  return readJson<CheckpointState>(sink, 'state.json',
    `the checkpoint in ${sink.where} is damaged: delete that folder to train again from step 0 (or restore state.json from a copy)`);
}

export function adapterConfigJson(lora: LoraWeights, baseModel: string): string {
  return JSON.stringify({
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: lora.r,
    lora_alpha: lora.alpha,
    lora_dropout: 0,
    bias: 'none',
    target_modules: lora.targets,
    fan_in_fan_out: false,
    use_rslora: false,
    use_dora: false,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    layers_to_transform: null,
    revision: null,
  }, null, 2) + '\n';
}

/** safetensors bytes of named GPU tensors (read back as f32). */
export async function tensorsToSafetensors(gpu: Gpu, tensors: { name: string; t: Tensor }[], metadata: Record<string, string> = { format: 'pt' }): Promise<Uint8Array> {
  const entries = [];
  for (const { name, t } of tensors) entries.push({ name, dtype: 'F32' as const, shape: [...t.shape], data: await gpu.read(t) });
  return writeSafetensors(entries, metadata);
}

/** Write named tensors from safetensors bytes into GPU tensors of the same names and shapes. */
export async function safetensorsToTensors(gpu: Gpu, file: string, bytes: Uint8Array, tensors: { name: string; t: Tensor }[]): Promise<void> {
  const src = memorySource(file, bytes);
  const { tensors: index } = await readSafetensorsHeader(src);
  for (const { name, t } of tensors) {
    const info = index.get(name);
    if (!info) throw new CorruptFileError(file, `missing ${name}`, 'the checkpoint does not match this adapter');
    if (info.shape.join(',') !== t.shape.join(',')) throw new CorruptFileError(file, `${name} has shape [${info.shape}], expected [${t.shape}]`);
    gpu.write(t, toFloat32(info, await readTensorBytes(src, info)));
  }
}
