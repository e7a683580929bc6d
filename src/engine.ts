// The engine: everything the page asks of entrotune, behind one interface. LocalEngine runs it in
// the current thread (the worker, the CLI, tests); the page talks to the same interface through
// comlink (workers/engine.worker.ts), so the main thread never touches WebGPU. Progress comes back
// through callbacks (Comlink.proxy on the page), errors as their own classes (src/rpc.ts).

import { createDevice, type Gpu } from './gpu/device';
import { EntrotuneError } from './errors';
import { loadModel, type LoadModelOptions } from './index';
import type { Quant } from './kernels/qweight';
import type { Model, GenerateResult } from './model/model';
import type { LoadProgress, LoadReport } from './model/load';
import { fromHfConfig, type ModelConfig } from './model/config';
import { planInference, type MemoryPlan } from './model/plan';
import { listCachedModels, removeCachedModel, type CachedModel, type DownloadProgress, type ModelCache, type ModelSource } from './model/sources';
import type { ChatMessage } from './tokenizer/tokenizer';
import { Trainer, type TrainConfig } from './train/trainer';
import { chatExample, trainLoop, type TrainProgress } from './train/loop';
import { adapterConfigJson, tensorsToSafetensors, type FileSink } from './train/checkpoint';

export interface DeviceInfo {
  description: string;
  adapter: string;
  isSoftware: boolean;
  features: string[];
  limits: Record<string, number>;
}

export interface ModelInfo {
  name: string;
  config: ModelConfig;
  report: LoadReport;
  hasTokenizer: boolean;
  gpuBytes: number;
}

export type ProgressEvent = LoadProgress | (DownloadProgress & { phase: 'download' });

export interface Engine {
  device(): Promise<DeviceInfo>;
  /** From config.json alone, before any download. */
  planInference(config: unknown, quant: Quant, batch: number, seqLen: number): Promise<MemoryPlan>;
  loadModel(source: ModelSource | string, options: { quant?: Quant; contextLength?: number }, onProgress?: (p: ProgressEvent) => void): Promise<ModelInfo>;
  generate(prompt: string | ChatMessage[] | number[], options: { maxNewTokens?: number; temperature?: number; topP?: number; seed?: number }, onToken?: (id: number, text: string) => void): Promise<GenerateResult>;
  /** LoRA training on chat conversations (the last assistant message is trained); checkpoints in
   *  the run's folder (OPFS in the browser), resumed when `resume` is set and one exists. */
  train(conversations: ChatMessage[][], config: Partial<TrainConfig>, loop: EngineTrainLoop, onProgress?: (p: TrainProgress) => void): Promise<{ losses: number[] }>;
  /** Ask a running training to stop after the current step (a checkpoint is saved). */
  stopTraining(): Promise<void>;
  /** The trained adapter as PEFT files. */
  exportAdapter(): Promise<{ config: string; weights: Uint8Array }>;
  cachedModels(): Promise<CachedModel[]>;
  removeCachedModel(id: string): Promise<void>;
  unloadModel(): Promise<void>;
}

export interface EngineTrainLoop {
  epochs?: number;
  batchSize?: number;
  accumulation?: number;
  checkpointEvery?: number;
  /** Names the checkpoint folder. */
  runId: string;
  resume?: boolean;
  includePrompt?: boolean;
}

export class LocalEngine implements Engine {
  private gpu: Promise<Gpu> | null = null;
  private model: Model | null = null;
  private trainer: Trainer | null = null;
  private abort: AbortController | null = null;

  constructor(
    private readonly cache: () => Promise<ModelCache | undefined>,
    private readonly sinkFor: (runId: string) => Promise<FileSink>,
  ) {}

  private getGpu(): Promise<Gpu> {
    return (this.gpu ??= createDevice());
  }

  private needModel(): Model {
    if (!this.model) throw new EntrotuneError('no model is loaded', 'load a model first');
    return this.model;
  }

  async device(): Promise<DeviceInfo> {
    const g = await this.getGpu();
    return { description: g.describe(), adapter: g.adapter.name, isSoftware: g.adapter.isSoftware, features: [...g.features], limits: { ...g.limits } };
  }

  async planInference(config: unknown, quant: Quant, batch: number, seqLen: number): Promise<MemoryPlan> {
    const g = await this.getGpu();
    return planInference(fromHfConfig(config), { quant, batch, seqLen, limits: g.limits });
  }

  async loadModel(source: ModelSource | string, options: { quant?: Quant; contextLength?: number }, onProgress?: (p: ProgressEvent) => void): Promise<ModelInfo> {
    const g = await this.getGpu();
    await this.unloadModel();
    const before = g.memory.current;
    const o: LoadModelOptions = { ...options, cache: await this.cache(), onProgress };
    this.model = await loadModel(g, source, o);
    return { name: this.model.name, config: this.model.cfg, report: this.model.report, hasTokenizer: !!this.model.tokenizer, gpuBytes: g.memory.current - before };
  }

  async generate(prompt: string | ChatMessage[] | number[], options: { maxNewTokens?: number; temperature?: number; topP?: number; seed?: number }, onToken?: (id: number, text: string) => void): Promise<GenerateResult> {
    return this.needModel().generate(prompt, { ...options, onToken });
  }

  async train(conversations: ChatMessage[][], config: Partial<TrainConfig>, loop: EngineTrainLoop, onProgress?: (p: TrainProgress) => void): Promise<{ losses: number[] }> {
    const model = this.needModel();
    if (!model.tokenizer) throw new EntrotuneError(`${model.name} has no tokenizer.json`, 'training needs the tokenizer and chat template');
    const examples = conversations.map((m) => chatExample(model.tokenizer!, m, loop.includePrompt));
    // Each run starts a fresh PEFT-initialised adapter (a resumed run then loads its checkpoint).
    this.trainer?.dispose();
    this.trainer = null;
    model.setAdapter(null);
    this.trainer = await Trainer.create(model, config);
    this.abort = new AbortController();
    const losses = await trainLoop(this.trainer, examples, { ...loop, sink: await this.sinkFor(loop.runId), baseModel: model.name, onProgress, signal: this.abort.signal });
    return { losses };
  }

  async stopTraining(): Promise<void> {
    this.abort?.abort();
  }

  async exportAdapter(): Promise<{ config: string; weights: Uint8Array }> {
    if (!this.trainer?.lora) throw new EntrotuneError('no LoRA adapter was trained yet', 'train first (LoRA mode)');
    const g = await this.getGpu();
    return { config: adapterConfigJson(this.trainer.lora!, this.needModel().name), weights: await tensorsToSafetensors(g, this.trainer.tensors()) };
  }

  async cachedModels(): Promise<CachedModel[]> {
    const c = await this.cache();
    return c ? listCachedModels(c) : [];
  }

  async removeCachedModel(id: string): Promise<void> {
    const c = await this.cache();
    if (c) await removeCachedModel(c, id);
  }

  async unloadModel(): Promise<void> {
    this.trainer?.dispose();
    this.trainer = null;
    this.model?.dispose();
    this.model = null;
  }
}
