// The engine: everything the page asks of entrotune, behind one interface. LocalEngine runs it in
// the current thread (the worker, the CLI, tests); the page talks to the same interface through
// comlink (workers/trainer.worker.ts), so the main thread never touches WebGPU. Progress comes back
// through callbacks (Comlink.proxy on the page), errors as their own classes (src/rpc.ts).
//
// Runs. A pipeline run lives in a folder of its own (OPFS `runs/<id>/` in the browser) holding
//   run.json          settings (never an API key) + status; written at every phase change
//   train.jsonl       the training questions, test.jsonl the held-out ones (canonical JSONL)
//   score.json        the score summary the page draws (histogram, bounds, AUC, buckets)
//   + everything runPipeline keeps: scores.jsonl, teacher.jsonl, <method>/ checkpoints and adapter,
//     <method>.train.jsonl, <method>.eval.jsonl, report.json, report.md
// so a closed tab loses nothing: listRuns() finds the run, openRun() gives back what the page showed,
// and runPipeline() with the same id resumes (scores, teacher replies, checkpoints and evaluation
// records are all reused). Every setting is plain data, so it crosses the worker boundary as it is.

import { toJsonl, type InvalidRow, type Question } from './data/dataset';
import { fetchHfDatasetRows } from './data/datasets-server';
import { parseDataset, type ParsedDataset } from './data/formats';
import type { PromptTemplate } from './data/prompts';
import { ArithmeticTeacher } from './demo/teacher';
import { CorruptFileError, EntrotuneError, serializeError, type SerializedError } from './errors';
import { createDevice, type Gpu, type KernelSet } from './gpu/device';
import { loadModel, type LoadModelOptions } from './model/load-model';
import type { Quant } from './model/quant';
import type { GenerateResult, Model } from './model/model';
import type { LoadProgress, LoadReport } from './model/load';
import { fromHfConfig, type ModelConfig } from './model/config';
import { planInference, type MemoryPlan } from './model/plan';
import type { DownloadProgress } from './model/download';
import { listCachedModels, removeCachedModel, type CachedModel, type ModelCache } from './model/model-cache';
import type { ModelSource } from './model/sources';
import { runPipeline as runPipelineStages, type PipelineEvent } from './pipeline/pipeline';
import type { PipelineReport } from './pipeline/report';
import { METHODS, type Method } from './pipeline/targets';
import { entropyHistogram } from './score/analysis';
import { analyzeScores, type Bucket, type ScoreReport } from './score/report';
import { scoreDataset, type ScoreRecord } from './score/score';
import { columnTeacher } from './teacher/column';
import { httpTeacher } from './teacher/http';
import { ownTeacher } from './teacher/own';
import { WEBLLM_TEACHERS, webllmTeacher } from './teacher/webllm';
import type { Teacher } from './teacher/teacher';
import type { ChatMessage } from './tokenizer/tokenizer';
import { Trainer, type TrainConfig } from './train/trainer';
import { chatExample, trainLoop, type TrainProgress } from './train/loop';
import { adapterConfigJson, readCheckpointState, tensorsToSafetensors, type FileSink } from './train/checkpoint';
import { readJson } from './storage/json';
import { checkRunId, memoryRunFolders, type RunFolders, type RunStorage } from './storage/runs';
import { planTraining, type TrainMemoryPlan } from './train/plan';

export interface DeviceInfo {
  description: string;
  adapter: string;
  isSoftware: boolean;
  /** The kernel set the launchers use on this device ('software' on CPU adapters). */
  kernels: KernelSet;
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

// ---------------------------------------------------------------------------------------------------
// Run settings and records (plain data: structured-clone safe, JSON on disk)

/** Where the teacher's chains of thought come from. An API key is used for this run only, never stored. */
export type TeacherSettings =
  | { kind: 'http'; url: string; model: string; apiKey?: string }
  | { kind: 'column'; field?: string }
  /** The offline demo's program that works digit chains one operation at a time (src/demo/teacher.ts). */
  | { kind: 'demo' }
  | { kind: 'webllm'; id: string }
  | { kind: 'own'; source: string; quant?: Quant };

/** How the run's model was opened, so that a reopened run can load it again (a picked folder must be picked again). */
export type RunModelSource = { kind: 'hub'; repo: string; revision?: string } | { kind: 'url'; baseUrl: string } | { kind: 'files'; folder: string };

export interface RunSettings {
  id: string;
  model: { name: string; source: RunModelSource; quant?: Quant };
  data: { name: string; testFraction: number; invalid: number };
  prompt: PromptTemplate;
  teacher: TeacherSettings;
  methods: Method[];
  order: 'mix' | 'two-phase';
  quantiles: [number, number];
  /** `mode` 'full': every weight of an unquantised base is trained (absent: LoRA). */
  train: { r: number; alpha: number; lr: number; dropout: number; schedule: 'cosine' | 'constant'; warmupSteps: number; mode?: 'lora' | 'full' };
  /** `pack`: tokens per packed training row (see packExamples); absent: one padded example per row.
   *  `trainTokens`: the same token budget for every method (see PipelineOptions); absent: `epochs`. */
  loop: { epochs: number; batchSize: number; accumulation: number; checkpointEvery: number; maxSteps?: number; pack?: number; trainTokens?: number };
  distill: { retries: number; maxTokens: number };
  eval: { maxNewTokens: number; maxBatch: number };
  scoreBatch: number;
  seed: number;
}

/** created → scored → running → done; running → paused (Pause) | stopped (Stop) | failed. A run left
 *  "running" by a closed tab is resumed like a paused one. */
export type RunStatus = 'created' | 'scored' | 'running' | 'paused' | 'stopped' | 'failed' | 'done';

export interface RunInfo {
  version: 1;
  settings: RunSettings;
  status: RunStatus;
  /** What it was doing last: "score", "teacher", "train pipeline", "eval sft-all", ... */
  phase: string;
  created: string;
  updated: string;
  counts: { train: number; test: number };
  error?: string;
}

/** What step 3 of the page draws: the training questions' entropies, the cut points and the buckets. */
export interface ScoreSummary {
  /** analyzeScores() of the training questions; null when the base named no option for any of them. */
  report: ScoreReport | null;
  /** Normalised entropy (H / Hmax over all training questions, invalid answers included), 20 bins. */
  histogram: { edges: number[]; counts: number[] };
  /** Cut points on H/Hmax, null when nothing could be split (everything is hard). */
  bounds: [number, number] | null;
  hmax: number;
  train: Record<Bucket, number>;
  test: Record<Bucket, number>;
  /** Training questions whose base answer named no option (routed as hard). */
  invalid: number;
  /** Base accuracy on the training questions whose answer was valid. */
  accuracy: number | null;
}

export interface RunList {
  runs: RunInfo[];
  unreadable: { id: string; error: SerializedError }[];
}

export interface RunDetails {
  info: RunInfo;
  score: ScoreSummary | null;
  report: PipelineReport | null;
  /** Loss of every optimizer step so far, per method (from the checkpoints). */
  losses: Partial<Record<Method, number[]>>;
  /** Files that exist, for downloads: "report.json", "pipeline/adapter_model.safetensors", ... */
  files: string[];
}

export type RunEvent =
  | PipelineEvent
  | { phase: 'status'; status: RunStatus; text: string }
  | { phase: 'scored'; summary: ScoreSummary }
  | { phase: 'teacher-load'; text: string; progress: number };

export type RunResult = { status: 'done'; report: PipelineReport } | { status: 'paused' | 'stopped'; text: string };

// ---------------------------------------------------------------------------------------------------
// The interface

export interface Engine {
  device(): Promise<DeviceInfo>;
  /** From config.json alone, before any download. */
  planInference(config: unknown, quant: Quant, batch: number, seqLen: number): Promise<MemoryPlan>;
  /** Training memory from config.json alone (QLoRA over a frozen base). */
  planTraining(config: unknown, o: { quant: Quant; batch: number; seqLen: number; r: number }): Promise<TrainMemoryPlan>;
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

  /** Teachers the page can offer: WebLLM's suggested prebuilt models. */
  teachers(): Promise<{ webllm: string[] }>;
  /** Read a dataset file's text (JSONL, JSON, CSV): every question and every refused row with its line. */
  parseDataset(text: string, fileName: string): Promise<ParsedDataset>;
  /** Rows of a Hugging Face dataset split through the datasets server (the only origin contacted). */
  fetchHfDataset(o: { dataset: string; config: string; split: string; length?: number }, onProgress?: (done: number, total: number | null) => void): Promise<{ questions: Question[]; invalid: InvalidRow[] }>;

  /** Score the run's questions with the loaded model (kept in the run; the pipeline reuses them).
   *  `data` creates the run (or replaces its questions); without it the run must exist. */
  score(settings: RunSettings, data: { train: Question[]; test: Question[] } | null, onEvent?: (e: RunEvent) => void): Promise<ScoreSummary | null>;
  /** score → split → teacher → train every method → evaluate → report, on the loaded model. Running it
   *  again with the same id resumes; stop() pauses (a checkpoint is saved) and it resolves as paused. */
  runPipeline(settings: RunSettings, data: { train: Question[]; test: Question[] } | null, onEvent?: (e: RunEvent) => void): Promise<RunResult>;
  /** Stop what score() or runPipeline() is doing; `stopped` marks the run as not to be offered for resuming. */
  stop(how?: 'pause' | 'stop'): Promise<void>;
  /** Every stored run; one whose run.json cannot be read is listed apart, with its error, so it can be deleted. */
  listRuns(): Promise<RunList>;
  openRun(id: string): Promise<RunDetails | null>;
  /** The run's questions, for a reopened run. */
  runData(id: string): Promise<{ train: Question[]; test: Question[] }>;
  deleteRun(id: string): Promise<void>;
  /** A file of a run as bytes (transferred), e.g. "report.md", "pipeline.train.jsonl", "pipeline/adapter_model.safetensors". */
  readRunFile(id: string, path: string): Promise<Uint8Array | null>;
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

// Run folders are storage's (src/storage/runs.ts); the worker opens OPFS ones.
export { memoryRunFolders, opfsRunFolders, type RunFolders } from './storage/runs';

const dec = new TextDecoder();

/** Files a run may hold (for downloads and the Results step). */
function runFileNames(methods: Method[]): string[] {
  const out = ['report.json', 'report.md', 'train.jsonl', 'test.jsonl'];
  // (adapter_config.json is written after adapter_model.safetensors, and a full model's config.json after
  // its model.safetensors, so each stands for both; the big file is not read to find out.)
  for (const m of methods) out.push(`${m}.train.jsonl`, `${m}/adapter_config.json`, `${m}/config.json`);
  return out;
}

async function readPath(st: RunStorage, path: string): Promise<Uint8Array | null> {
  const parts = path.split('/');
  if (parts.some((p) => !p || p === '.' || p === '..')) throw new EntrotuneError(`'${path}' is not a file of a run`);
  if (parts.length === 1) return st.read(path);
  return (await st.sink(parts.slice(0, -1).join('/'))).read(parts.at(-1)!);
}

/** run.json; null when the folder has none. One that is not JSON, or not a run.json this version reads, is a CorruptFileError. */
async function readRunInfo(st: RunStorage): Promise<RunInfo | null> {
  const hint = 'delete the run (its scores, teacher replies and checkpoints go with it), or restore run.json';
  const info = await readJson<RunInfo>(st, 'run.json', hint);
  if (info && info.version !== 1) throw new CorruptFileError(`${st.where}/run.json`, `version ${String(info.version)}; this entrotune reads version 1`, hint);
  return info;
}

/** The buckets the pipeline will use: the cut points of the training questions; an invalid base answer counts as hard. */
function bucketOf(r: ScoreRecord, hmax: number, bounds: [number, number] | null): Bucket {
  if (r.correct === null || !bounds) return 'hard';
  const h = hmax > 0 ? r.entropy / hmax : 0;
  return h <= bounds[0] ? 'easy' : h <= bounds[1] ? 'medium' : 'hard';
}

export function summarizeScores(train: ScoreRecord[], test: ScoreRecord[], s: Pick<RunSettings, 'quantiles' | 'seed'>): ScoreSummary {
  const anyValid = train.some((r) => r.correct !== null);
  const report = anyValid ? analyzeScores(train, { quantiles: s.quantiles, seed: s.seed }) : null;
  const hmaxAll = Math.max(0, ...train.map((r) => r.entropy));
  const hmax = report ? report.hmax : hmaxAll;
  const bounds = report ? report.bounds : null;
  const count = (rs: ScoreRecord[]) => {
    const c = { easy: 0, medium: 0, hard: 0 } as Record<Bucket, number>;
    for (const r of rs) c[bucketOf(r, hmax, bounds)]++;
    return c;
  };
  const valid = train.filter((r) => r.correct !== null);
  return {
    report,
    histogram: entropyHistogram(train.map((r) => (hmaxAll > 0 ? r.entropy / hmaxAll : 0)), 20, [0, 1]),
    bounds: bounds && hmaxAll > 0 ? [(bounds[0] * hmax) / hmaxAll, (bounds[1] * hmax) / hmaxAll] : bounds,
    hmax: hmaxAll,
    train: count(train),
    test: count(test),
    invalid: train.length - valid.length,
    accuracy: valid.length ? valid.filter((r) => r.correct).length / valid.length : null,
  };
}

// ---------------------------------------------------------------------------------------------------

export class LocalEngine implements Engine {
  private gpu: Promise<Gpu> | null = null;
  private model: Model | null = null;
  private trainer: Trainer | null = null;
  private abort: AbortController | null = null;
  /** The run in progress, and how it was asked to end. */
  private running: { id: string; ctrl: AbortController; how: 'pause' | 'stop' } | null = null;

  constructor(
    private readonly cache: () => Promise<ModelCache | undefined>,
    private readonly sinkFor: (runId: string) => Promise<FileSink>,
    private readonly runs: RunFolders = memoryRunFolders(),
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
    return { description: g.describe(), adapter: g.adapter.name, isSoftware: g.adapter.isSoftware, kernels: g.kernels, features: [...g.features], limits: { ...g.limits } };
  }

  async planInference(config: unknown, quant: Quant, batch: number, seqLen: number): Promise<MemoryPlan> {
    const g = await this.getGpu();
    return planInference(fromHfConfig(config), { quant, batch, seqLen, limits: g.limits });
  }

  async planTraining(config: unknown, o: { quant: Quant; batch: number; seqLen: number; r: number }): Promise<TrainMemoryPlan> {
    const g = await this.getGpu();
    return planTraining(fromHfConfig(config), { ...o, limits: g.limits });
  }

  async loadModel(source: ModelSource | string, options: { quant?: Quant; contextLength?: number }, onProgress?: (p: ProgressEvent) => void): Promise<ModelInfo> {
    if (this.running) throw new EntrotuneError('a run is in progress', 'pause or stop it before loading another model');
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

  // -------------------------------------------------------------------------------------------------
  // Data

  async teachers(): Promise<{ webllm: string[] }> {
    return { webllm: [...WEBLLM_TEACHERS] };
  }

  async parseDataset(text: string, fileName: string): Promise<ParsedDataset> {
    return parseDataset(text, fileName);
  }

  async fetchHfDataset(o: { dataset: string; config: string; split: string; length?: number }, onProgress?: (done: number, total: number | null) => void): Promise<{ questions: Question[]; invalid: InvalidRow[] }> {
    return fetchHfDatasetRows({ ...o, onProgress });
  }

  // -------------------------------------------------------------------------------------------------
  // Runs

  /** Write run.json (storage keeps the writes to one file in order: phase updates may race). */
  private saveInfo(st: RunStorage, info: RunInfo): Promise<void> {
    info.updated = new Date().toISOString();
    return st.write('run.json', JSON.stringify(info, null, 1) + '\n');
  }

  /** The run's info, created (with its questions) when `data` is given. Settings are stored without any API key. */
  private async prepare(settings: RunSettings, data: { train: Question[]; test: Question[] } | null): Promise<{ st: RunStorage; info: RunInfo; train: Question[]; test: Question[] }> {
    const id = checkRunId(settings.id);
    for (const m of settings.methods) if (!METHODS.includes(m)) throw new EntrotuneError(`unknown method '${m}'`, `methods are ${METHODS.join(', ')}`);
    const st = this.runs.open(id);
    const now = new Date().toISOString();
    const old = await readJson<RunInfo>(st, 'run.json');
    const stored = { ...settings, teacher: withoutKey(settings.teacher) };
    let train: Question[], test: Question[];
    if (data) {
      ({ train, test } = data);
      await st.write('train.jsonl', toJsonl(train));
      await st.write('test.jsonl', toJsonl(test));
    } else {
      if (!old) throw new EntrotuneError(`there is no run '${id}'`, 'start a new run from the data step');
      ({ train, test } = await this.runData(id));
    }
    const info: RunInfo = old
      ? { ...old, settings: stored, counts: { train: train.length, test: test.length }, error: undefined }
      : { version: 1, settings: stored, status: 'created', phase: 'created', created: now, updated: now, counts: { train: train.length, test: test.length } };
    await this.saveInfo(st, info);
    return { st, info, train, test };
  }

  private begin(id: string): AbortController {
    if (this.running) throw new EntrotuneError(`run ${this.running.id} is in progress`, 'pause or stop it first');
    const ctrl = new AbortController();
    this.running = { id, ctrl, how: 'pause' };
    return ctrl;
  }

  /** Score every question of the run that is not scored yet; the summary is kept in score.json. */
  private async scoreRun(model: Model, st: RunStorage, s: RunSettings, train: Question[], test: Question[], signal: AbortSignal, emit: (e: RunEvent) => void): Promise<ScoreSummary> {
    const records = await scoreDataset(model, [...train, ...test], {
      prompt: s.prompt, batchSize: s.scoreBatch, store: await st.records<ScoreRecord>('scores.jsonl'), signal,
      onProgress: (p) => emit({ phase: 'score', done: p.done, total: p.total }),
    });
    const byId = new Map(records.map((r) => [r.id, r]));
    const summary = summarizeScores(train.map((q) => byId.get(q.id)!), test.map((q) => byId.get(q.id)!), s);
    await st.write('score.json', JSON.stringify(summary) + '\n');
    emit({ phase: 'scored', summary });
    return summary;
  }

  async score(settings: RunSettings, data: { train: Question[]; test: Question[] } | null, onEvent?: (e: RunEvent) => void): Promise<ScoreSummary | null> {
    const model = this.needModel();
    const ctrl = this.begin(settings.id);
    const emit = (e: RunEvent) => onEvent?.(e);
    try {
      const { st, info, train, test } = await this.prepare(settings, data);
      if (info.status === 'created' || info.status === 'scored') {
        info.phase = 'score';
        await this.saveInfo(st, info);
      }
      try {
        const summary = await this.scoreRun(model, st, info.settings, train, test, ctrl.signal, emit);
        if (info.status === 'created') info.status = 'scored';
        await this.saveInfo(st, info);
        return summary;
      } catch (err) {
        if (ctrl.signal.aborted) {
          emit({ phase: 'status', status: info.status, text: 'scoring was stopped; the questions scored so far are kept' });
          return null;
        }
        throw err;
      }
    } finally {
      this.running = null;
    }
  }

  async runPipeline(settings: RunSettings, data: { train: Question[]; test: Question[] } | null, onEvent?: (e: RunEvent) => void): Promise<RunResult> {
    const model = this.needModel();
    const ctrl = this.begin(settings.id);
    const emit = (e: RunEvent) => onEvent?.(e);
    let teacher: Teacher | null = null;
    let st: RunStorage | null = null;
    let info: RunInfo | null = null;
    /** A phase update of run.json that failed while the pipeline ran: it stops the run, and is the error. */
    let infoFailure: unknown = null;
    try {
      const prepared = await this.prepare(settings, data);
      ({ st, info } = prepared);
      const { train, test } = prepared;
      const s = info.settings;
      const resumed = info.status !== 'created' && info.status !== 'scored';
      info.status = 'running';
      info.phase = 'score';
      await this.saveInfo(st, info);
      emit({ phase: 'status', status: 'running', text: resumed ? `resuming run ${s.id}: what is stored (scores, teacher replies, checkpoints, evaluations) is reused` : `run ${s.id} started` });
      // A model left carrying an adapter (a test's train(), an earlier run stopped mid-way) is reset to the base.
      this.trainer?.dispose();
      this.trainer = null;
      model.setAdapter(null);

      await this.scoreRun(model, st, s, train, test, ctrl.signal, emit);
      teacher = await this.makeTeacher(settings.teacher, s, ctrl.signal, emit);
      const stInfo = info, stRun = st;
      const { trainTokens, ...loop } = s.loop;
      const report = await runPipelineStages(model, {
        train, test, teacher, storage: st, methods: s.methods, prompt: s.prompt, quantiles: s.quantiles, order: s.order,
        trainConfig: { ...s.train }, loop, trainTokens,
        // A teacher that gives the same text every time (a column, the demo's program) is not asked again.
        distill: { ...s.distill, retries: teacher.deterministic ? 0 : s.distill.retries }, eval: s.eval, scoreBatch: s.scoreBatch,
        modelName: s.model.name, seed: s.seed, signal: ctrl.signal,
        onEvent: (e) => {
          const phase = e.phase === 'teacher' ? 'teacher' : e.phase === 'train' ? `train ${e.method}` : e.phase === 'eval' ? `eval ${e.method}` : null;
          if (phase && phase !== stInfo.phase) {
            stInfo.phase = phase;
            this.saveInfo(stRun, stInfo).catch((err: unknown) => {
              infoFailure ??= err;
              ctrl.abort(err);
            });
          }
          emit(e);
        },
      });
      info.status = 'done';
      info.phase = 'done';
      await this.saveInfo(st, info);
      emit({ phase: 'status', status: 'done', text: `run ${s.id} finished in ${report.seconds.toFixed(0)} s` });
      return { status: 'done', report };
    } catch (caught) {
      const err = infoFailure ?? caught;
      if (!infoFailure && ctrl.signal.aborted && st && info) {
        const how = this.running?.how ?? 'pause';
        info.status = how === 'stop' ? 'stopped' : 'paused';
        await this.saveInfo(st, info);
        const text = `${how === 'stop' ? 'stopped' : 'paused'} during ${info.phase}; ${(err as Error).message?.split('\n')[0] ?? ''} (everything made so far is kept: run it again to resume)`;
        emit({ phase: 'status', status: info.status, text });
        return { status: info.status as 'paused' | 'stopped', text };
      }
      console.error(`run failed during ${info?.phase}:`, (err as Error)?.stack ?? err); // the stack stays in the worker's console; the page gets the typed error
      if (st && info) {
        info.status = 'failed';
        info.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        // The run's own error is the one thrown; a run.json that cannot record it is said beside it.
        await this.saveInfo(st, info).catch((e: unknown) => {
          console.error(e);
          emit({ phase: 'status', status: 'failed', text: `the failure could not be recorded in run.json: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` });
        });
      }
      throw err;
    } finally {
      // The pipeline unloads the teacher before training; after a failure or a stop it may still hold memory.
      await teacher?.unload?.().catch(() => undefined);
      try {
        model.setAdapter(null);
      } catch {
        // a lost device: the model is unusable anyway, and the error that matters is on its way
      }
      this.running = null;
    }
  }

  async stop(how: 'pause' | 'stop' = 'pause'): Promise<void> {
    if (!this.running) return;
    this.running.how = how;
    this.running.ctrl.abort();
  }

  private async makeTeacher(t: TeacherSettings, s: RunSettings, signal: AbortSignal, emit: (e: RunEvent) => void): Promise<Teacher> {
    switch (t.kind) {
      case 'http':
        return httpTeacher({ url: t.url, model: t.model, apiKey: t.apiKey });
      case 'column': {
        const field = t.field?.trim() || 'rationale';
        return columnTeacher({ name: field, style: s.prompt.labels });
      }
      case 'demo':
        return new ArithmeticTeacher();
      case 'own': {
        const g = await this.getGpu();
        emit({ phase: 'teacher-load', text: `loading the teacher ${t.source}`, progress: 0 });
        const m = await loadModel(g, t.source, {
          quant: t.quant, cache: await this.cache(), signal,
          onProgress: (p) => emit({ phase: 'teacher-load', text: `teacher ${p.phase}`, progress: p.total ? ('bytes' in p ? p.bytes : p.done) / p.total : 0 }),
        });
        return ownTeacher(m);
      }
      case 'webllm': {
        // web-llm (~6 MB) is loaded only now (webllmTeacher imports it), in its own worker beside this one.
        return webllmTeacher(t.id, { signal, onProgress: (p) => emit({ phase: 'teacher-load', text: p.text, progress: p.progress }) });
      }
    }
  }

  async listRuns(): Promise<RunList> {
    const list: RunList = { runs: [], unreadable: [] };
    for (const id of await this.runs.list()) {
      try {
        const info = await readRunInfo(this.runs.open(id));
        if (info) list.runs.push(info); // folders without run.json belong to train() or older tools
      } catch (err) {
        list.unreadable.push({ id, error: serializeError(err) });
      }
    }
    list.runs.sort((a, b) => (a.updated < b.updated ? 1 : -1));
    return list;
  }

  async openRun(id: string): Promise<RunDetails | null> {
    const st = this.runs.open(checkRunId(id));
    const info = await readRunInfo(st);
    if (!info) return null;
    const losses: RunDetails['losses'] = {};
    for (const m of info.settings.methods) {
      const state = await readCheckpointState(await st.sink(m));
      if (state?.losses) losses[m] = state.losses;
    }
    const files: string[] = [];
    for (const f of runFileNames(info.settings.methods)) {
      if (!(await readPath(st, f))) continue;
      files.push(f);
      if (f.endsWith('/adapter_config.json')) files.push(f.replace('adapter_config.json', 'adapter_model.safetensors'));
      if (f.endsWith('/config.json')) files.push(f.replace('config.json', 'model.safetensors'));
    }
    return { info, score: await readJson<ScoreSummary>(st, 'score.json'), report: await readJson<PipelineReport>(st, 'report.json'), losses, files };
  }

  async runData(id: string): Promise<{ train: Question[]; test: Question[] }> {
    const st = this.runs.open(checkRunId(id));
    const read = async (name: string) => {
      const b = await st.read(name);
      if (!b) throw new EntrotuneError(`run ${id} has no ${name}`, 'start a new run from the data step');
      const { questions, invalid } = parseDataset(dec.decode(b), name, { onInvalid: 'stop' });
      void invalid;
      return questions;
    };
    return { train: await read('train.jsonl'), test: await read('test.jsonl') };
  }

  async deleteRun(id: string): Promise<void> {
    if (this.running?.id === id) throw new EntrotuneError(`run ${id} is in progress`, 'stop it first');
    await this.runs.remove(checkRunId(id));
  }

  async readRunFile(id: string, path: string): Promise<Uint8Array | null> {
    return readPath(this.runs.open(checkRunId(id)), path);
  }
}

function withoutKey(t: TeacherSettings): TeacherSettings {
  if (t.kind !== 'http') return t;
  const { apiKey, ...rest } = t;
  void apiKey;
  return rest;
}

