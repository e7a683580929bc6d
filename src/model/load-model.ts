// Loading a model onto the GPU: open its source (downloading into the cache when it is remote), read
// config.json and the tokenizer, load and quantise the weights, attach an adapter; after a failed
// load, put the cache back as it was.

import { CorruptFileError, DownloadError, EntrotuneError, UnsupportedModelError } from '../errors';
import type { Gpu } from '../gpu/device';
import { loadTokenizer, type Tokenizer } from '../tokenizer/tokenizer';
import type { ByteSource } from './bytes';
import { fromHfConfig, parameterCount } from './config';
import { openModel, type DownloadProgress } from './download';
import { defaultQuant, indexWeights, loadConfig, loadWeights, weightTensors, type LoadProgress } from './load';
import { loadAdapter } from './lora';
import { cachedKeys, removeAddedFiles, removeCachedModel, type ModelCache } from './model-cache';
import type { ModelFiles } from './model-files';
import { Model } from './model';
import type { Quant } from './quant';
import { describeSource, parseModelSource, revisionOf, sourceId, type HttpSource, type ModelSource } from './sources';
import { destroyWeight } from './weights';

/** A PEFT adapter: a folder/URL/repo like a model source, or its two files already at hand. */
export type AdapterSource = ModelSource | string | { config: unknown; weights: ByteSource };

export interface LoadModelOptions {
  /** Base-weight format; default: `none` (exact f32) under 100M parameters, `nf4` above. */
  quant?: Quant;
  /** Format of the embedding and lm_head: default the same as `quant` (NF4 keeps 0.56 B/param);
   *  `int8` or `none` keep the full-vocabulary distribution (entropy) closer to the original. */
  embedQuant?: Quant;
  adapter?: AdapterSource;
  /** Render prompts in thinking mode (Qwen3's `enable_thinking`). Default false: the answer is the first
   * token after the prompt, as scoring, training and evaluation need; scoring refuses a thinking model. */
  thinking?: boolean;
  /** Longest prompt + generation this instance will run (default: min(config, 4096)). */
  contextLength?: number;
  onProgress?: (p: LoadProgress | (DownloadProgress & { phase: 'download' })) => void;
  /** Browser: the OPFS cache; Node: a directory cache; default none. */
  cache?: ModelCache;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

function toSource(s: ModelSource | string): ModelSource {
  return typeof s === 'string' ? parseModelSource(s) : s;
}

/** The small files that make a weights file a usable model folder; full fine-tuning writes them next to its weights. */
const COMPANION_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];

async function readTokenizer(files: ModelFiles, thinking: boolean): Promise<Tokenizer | null> {
  if (!(await files.has('tokenizer.json'))) return null;
  const cfg = (await files.has('tokenizer_config.json')) ? await files.json('tokenizer_config.json') : {};
  const gen = (await files.has('generation_config.json')) ? await files.json('generation_config.json') : undefined;
  return loadTokenizer(await files.json('tokenizer.json'), cfg, gen, { thinking });
}

/** Load a model (config, tokenizer, weights, optional adapter) onto the GPU. */
export async function loadModel(gpu: Gpu, source: ModelSource | string, o: LoadModelOptions = {}): Promise<Model> {
  const src = toSource(source);
  const cached = o.cache && (src.kind === 'hub' || src.kind === 'url') ? { cache: o.cache, src, before: await cachedKeys(o.cache, src) } : null;
  try {
    const files = await openModel(src, {
      onProgress: o.onProgress ? (p: DownloadProgress) => o.onProgress!({ ...p, phase: 'download' }) : undefined,
      cache: o.cache,
      signal: o.signal,
      fetch: o.fetch,
      checkConfig: (json) => void fromHfConfig(json),
    });
    return await loadModelFromFiles(gpu, files, describeSource(src), o);
  } catch (err) {
    if (cached) await restoreCache(cached.cache, cached.src, cached.before, err);
    throw err;
  }
}

/**
 * After a failed load, put the cache back as it was. A transient failure (network, busy server, cut
 * connection) or a stop keeps the finished files, so the next try resumes; a model found corrupt or
 * unsupported leaves the cache entirely (it must not stay there looking usable); any other failure (a
 * missing shard, refused access, the GPU) removes what this load added and keeps what was there.
 */
async function restoreCache(cache: ModelCache, src: HttpSource, before: ReadonlySet<string>, err: unknown): Promise<void> {
  const transient = (err instanceof DownloadError && err.transient) || (err instanceof DOMException && err.name === 'AbortError');
  if (transient) return;
  try {
    if (err instanceof CorruptFileError || err instanceof UnsupportedModelError) await removeCachedModel(cache, sourceId(src), revisionOf(src));
    else await removeAddedFiles(cache, src, before);
  } catch (cleanup) {
    const first = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new EntrotuneError(
      `loading ${describeSource(src)} failed (${first}), and removing its partly cached files failed too: ${cleanup instanceof Error ? cleanup.message : String(cleanup)}`,
      `remove ${sourceId(src)} from the model cache by hand, then open it again`,
    );
  }
}

/** Load from files already opened (memory, a synthetic model in the benchmark, a test). */
export async function loadModelFromFiles(gpu: Gpu, files: ModelFiles, name: string, o: Omit<LoadModelOptions, 'cache' | 'fetch'> = {}): Promise<Model> {
  const cfg = await loadConfig(files);
  const tokenizer = await readTokenizer(files, o.thinking ?? false);
  if (tokenizer && tokenizer.vocabSize > cfg.V) {
    // Ids past the embedding would read rows that do not exist: a tokenizer from another model.
    throw new CorruptFileError('tokenizer.json', `has ${tokenizer.vocabSize} tokens, but the model's embedding has ${cfg.V} rows (config.json vocab_size)`, 'check that tokenizer.json and the weights come from the same model');
  }
  const index = await indexWeights(files, cfg);
  const parameters = parameterCount(cfg);
  const quant = o.quant ?? defaultQuant(parameters);
  const { weights, report } = await loadWeights(gpu, cfg, index, quant, o.onProgress, o.embedQuant ?? quant);
  let lora = null;
  try {
    if (o.adapter) {
      const a = o.adapter;
      if (typeof a === 'object' && 'config' in a && 'weights' in a) {
        lora = await loadAdapter(gpu, cfg, a.config, a.weights);
      } else {
        const af = await openModel(toSource(a as ModelSource | string), { signal: o.signal });
        lora = await loadAdapter(gpu, cfg, await af.json('adapter_config.json'), await af.bytes('adapter_model.safetensors'));
      }
    }
  } catch (err) {
    const { matrices, vectors } = weightTensors(weights);
    for (const m of matrices) destroyWeight(gpu, m);
    for (const v of vectors) gpu.destroyBuffer(v.buffer);
    throw err;
  }
  const contextLength = Math.max(1, Math.min(o.contextLength ?? 4096, cfg.maxPositions));
  const model = new Model(gpu, cfg, tokenizer, weights, lora, { ...report, parameters, bytesPerParameter: report.weightBytes / parameters }, contextLength, name);
  for (const f of COMPANION_FILES) if (await files.has(f)) {
    const b = await files.bytes(f);
    model.companionFiles[f] = await b.read(0, b.size);
  }
  return model;
}
