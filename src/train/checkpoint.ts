// Adapters and checkpoints on disk (Node) or in OPFS (browser), in formats other tools read:
//   - the adapter in PEFT's format: adapter_model.safetensors (F32 tensors named
//     base_model.model.model.layers.{i}.….lora_{A|B}.weight) + adapter_config.json;
//   - a checkpoint = the trained tensors + the AdamW m and v (same names) in one of two alternating
//     slots, and state.json (step, data cursor, RNG seed and epoch, the config, the losses, the slot),
//     written last as the commit point (see saveCheckpoint in loop.ts).

import { CorruptFileError } from '../errors';
import { serialised } from '../util/serial';
import type { Gpu } from '../gpu/device';
import type { Tensor } from '../gpu/tensor';
import type { LoraWeights } from '../model/llama';
import { memorySource } from '../model/bytes';
import { readSafetensorsHeader, readTensorBytes, toFloat32, writeSafetensors } from '../model/safetensors';

export interface FileSink {
  write(name: string, data: Uint8Array | string): Promise<void>;
  read(name: string): Promise<Uint8Array | null>;
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

/** A FileSink over a Node directory (written file by file, atomically by rename). */
export async function nodeDirSink(dir: string): Promise<FileSink> {
  const { mkdir, readFile, rename, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await mkdir(dir, { recursive: true });
  return {
    async write(name, data) {
      const tmp = join(dir, `.${name}.tmp`);
      await writeFile(tmp, data);
      await rename(tmp, join(dir, name));
    },
    async read(name) {
      try {
        return new Uint8Array(await readFile(join(dir, name)));
      } catch {
        return null;
      }
    },
  };
}

/** A FileSink over an OPFS directory (browser). */
export function opfsSink(path: string[]): FileSink {
  const dir = async () => {
    let d = await navigator.storage.getDirectory();
    for (const p of path) d = await d.getDirectoryHandle(p, { create: true });
    return d;
  };
  return {
    // One write at a time per file: a file and its temporary copy are opened for writing (util/serial.ts).
    write: (name, data) => serialised(`opfs:${[...path, name].join('/')}`, () => writeNow(name, data)),
    async read(name) {
      try {
        return new Uint8Array(await (await (await (await dir()).getFileHandle(name)).getFile()).arrayBuffer());
      } catch {
        return null;
      }
    },
  };
  async function writeNow(name: string, data: Uint8Array | string): Promise<void> {
    const d = await dir();
    const tmp = await d.getFileHandle(`.${name}.tmp`, { create: true });
    const w = await tmp.createWritable();
    await w.write(typeof data === 'string' ? data : new Uint8Array(data));
    await w.close();
    const h = await d.getFileHandle(name, { create: true });
    const w2 = await h.createWritable();
    await w2.write(await (await tmp.getFile()).arrayBuffer());
    await w2.close();
    await d.removeEntry(`.${name}.tmp`);
  }
}
