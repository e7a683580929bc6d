// Loading a published model onto the GPU: config.json → ModelConfig, every safetensors header
// validated against the shapes the config implies, then each tensor streamed, converted and
// (for the big matrices) quantised on the GPU. Norms and biases stay f32.

import { CorruptFileError, ShapeError } from '../errors';
import type { Gpu } from '../gpu/device';
import type { Tensor } from '../gpu/tensor';
import type { QWeight } from '../kernels/quantize';
import type { ByteSource } from './bytes';
import { fromHfConfig, weightShapes, type ModelConfig } from './config';
import { LORA_TARGETS, type LayerWeights, type LoraTarget, type ModelWeights } from './architecture';
import { QUANT_BITS, type Quant } from './quant';
import { checkShapes, readSafetensorsHeader, type StTensor } from './safetensors';
import { safetensorsFileNames, type ModelFiles } from './model-files';
import { LoadScratch, loadVector, loadWeight, weightBytes, type QuantStats, type WeightDType, type WeightSource } from './weights';

export interface LoadProgress {
  phase: 'download' | 'weights';
  /** For `weights`: tensors done / total, and the tensor being loaded. */
  done: number;
  total: number;
  tensor?: string;
}

export interface LoadReport {
  /** Sizes are in the report so a UI can show them without the config. */
  quant: Quant;
  parameters: number;
  /** GPU bytes of the base weights (codes, scales, f32 norms and biases). */
  weightBytes: number;
  bytesPerParameter: number;
  /** sqrt(Σ(w − deq w)² / Σw²) over all quantised matrices; 0 for `none`. */
  quantRelativeError: number;
}

export interface IndexedTensor {
  src: ByteSource;
  info: StTensor;
}

/** Read and validate every safetensors header of the model; map tensor name → where its bytes are. */
export async function indexWeights(files: ModelFiles, cfg: ModelConfig): Promise<Map<string, IndexedTensor>> {
  const index = new Map<string, IndexedTensor>();
  for (const file of await safetensorsFileNames(files)) {
    const src = await files.bytes(file);
    const { tensors } = await readSafetensorsHeader(src);
    for (const [name, info] of tensors) {
      if (index.has(name)) throw new CorruptFileError(file, `tensor ${name} also appears in ${index.get(name)!.src.name}`);
      index.set(name, { src, info });
    }
  }
  // Shapes and dtypes against what config.json implies, tensor by tensor (extra tensors, such as a
  // stored copy of a tied lm_head, are ignored).
  const byFile = new Map<string, Map<string, StTensor>>();
  for (const [name, t] of index) {
    if (!byFile.has(t.src.name)) byFile.set(t.src.name, new Map());
    byFile.get(t.src.name)!.set(name, t.info);
  }
  const expected = weightShapes(cfg);
  const all = new Map([...index].map(([n, t]) => [n, t.info]));
  const file = byFile.size === 1 ? [...byFile.keys()][0] : 'model.safetensors.index.json';
  checkShapes(file, all, expected, { dtypes: ['F32', 'F16', 'BF16'] });
  return index;
}

/** A WeightSource reading element ranges of one indexed tensor. */
export function tensorSource(name: string, t: IndexedTensor): WeightSource {
  const dtype = t.info.dtype as WeightDType;
  const size = dtype === 'F32' ? 4 : 2;
  return { name, dtype, read: (offset, count) => t.src.read(t.info.begin + offset * size, count * size) };
}

/** Default quantisation: exact f32 for tiny models, NF4 from 100M parameters up. */
export function defaultQuant(parameters: number): Quant {
  return parameters < 1e8 ? 'none' : 'nf4';
}

export async function loadConfig(files: ModelFiles): Promise<ModelConfig> {
  return fromHfConfig(await files.json('config.json'), 'config.json');
}

export async function loadWeights(
  gpu: Gpu,
  cfg: ModelConfig,
  index: Map<string, IndexedTensor>,
  quant: Quant,
  onProgress?: (p: LoadProgress) => void,
  /** Format of the embedding and lm_head (default: the same as the rest). */
  embedQuant: Quant = quant,
): Promise<{ weights: ModelWeights; report: Omit<LoadReport, 'parameters'> }> {
  const scratch = new LoadScratch(gpu);
  const bits = QUANT_BITS[quant];
  const embedBits = QUANT_BITS[embedQuant];
  const stats: QuantStats = { err2: 0, norm2: 0 };
  const total = weightShapes(cfg).size;
  let done = 0;
  let bytes = 0;
  const step = (tensor: string) => onProgress?.({ phase: 'weights', done: ++done, total, tensor });
  const src = (name: string) => {
    const t = index.get(name);
    if (!t) throw new ShapeError(`no tensor ${name}`);
    return tensorSource(name, t);
  };
  const matrix = async (name: string, N: number, K: number, bias: string | null = null, b: typeof bits = bits): Promise<QWeight> => {
    const { weight, stats: s } = await loadWeight(gpu, scratch, src(name), N, K, b);
    stats.err2 += s.err2;
    stats.norm2 += s.norm2;
    bytes += weightBytes(weight);
    step(name);
    if (bias) {
      weight.bias = await loadVector(gpu, scratch, src(bias), N);
      bytes += N * 4;
      step(bias);
    }
    return weight;
  };
  const vector = async (name: string, n: number): Promise<Tensor> => {
    const t = await loadVector(gpu, scratch, src(name), n);
    bytes += n * 4;
    step(name);
    return t;
  };

  try {
    const { V, C, I, NH, NKV, HS } = cfg;
    const embed = await matrix('model.embed_tokens.weight', V, C, null, embedBits);
    const layers: LayerWeights[] = [];
    for (let l = 0; l < cfg.L; l++) {
      const p = `model.layers.${l}.`;
      const bias = (t: string) => (cfg.qkvBias ? `${p}self_attn.${t}.bias` : null);
      layers.push({
        attnNorm: await vector(`${p}input_layernorm.weight`, C),
        q_proj: await matrix(`${p}self_attn.q_proj.weight`, NH * HS, C, bias('q_proj')),
        k_proj: await matrix(`${p}self_attn.k_proj.weight`, NKV * HS, C, bias('k_proj')),
        v_proj: await matrix(`${p}self_attn.v_proj.weight`, NKV * HS, C, bias('v_proj')),
        o_proj: await matrix(`${p}self_attn.o_proj.weight`, C, NH * HS),
        qNorm: cfg.qkNorm ? await vector(`${p}self_attn.q_norm.weight`, HS) : null,
        kNorm: cfg.qkNorm ? await vector(`${p}self_attn.k_norm.weight`, HS) : null,
        mlpNorm: await vector(`${p}post_attention_layernorm.weight`, C),
        gate_proj: await matrix(`${p}mlp.gate_proj.weight`, I, C),
        up_proj: await matrix(`${p}mlp.up_proj.weight`, I, C),
        down_proj: await matrix(`${p}mlp.down_proj.weight`, C, I),
      });
    }
    const norm = await vector('model.norm.weight', C);
    const lmHead = cfg.tieEmbeddings ? embed : await matrix('lm_head.weight', V, C, null, embedBits);
    return {
      weights: { embed, layers, norm, lmHead },
      report: {
        quant,
        weightBytes: bytes,
        bytesPerParameter: 0,
        quantRelativeError: stats.norm2 > 0 ? Math.sqrt(stats.err2 / stats.norm2) : 0,
      },
    };
  } finally {
    scratch.destroy();
  }
}

/** Every GPU buffer a ModelWeights holds (the tied lm_head once). */
export function weightTensors(w: ModelWeights): { matrices: QWeight[]; vectors: Tensor[] } {
  const matrices: QWeight[] = [w.embed];
  const vectors: Tensor[] = [w.norm];
  for (const L of w.layers) {
    for (const t of LORA_TARGETS as readonly LoraTarget[]) matrices.push(L[t]);
    vectors.push(L.attnNorm, L.mlpNorm, ...(L.qNorm ? [L.qNorm] : []), ...(L.kNorm ? [L.kNorm] : []));
  }
  if (w.lmHead !== w.embed) matrices.push(w.lmHead);
  return { matrices, vectors };
}
