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
  cachedModels(): Promise<CachedModel[]>;
  removeCachedModel(id: string): Promise<void>;
  unloadModel(): Promise<void>;
}

export class LocalEngine implements Engine {
  private gpu: Promise<Gpu> | null = null;
  private model: Model | null = null;

  constructor(private readonly cache: () => Promise<ModelCache | undefined>) {}

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

  async cachedModels(): Promise<CachedModel[]> {
    const c = await this.cache();
    return c ? listCachedModels(c) : [];
  }

  async removeCachedModel(id: string): Promise<void> {
    const c = await this.cache();
    if (c) await removeCachedModel(c, id);
  }

  async unloadModel(): Promise<void> {
    this.model?.dispose();
    this.model = null;
  }
}
