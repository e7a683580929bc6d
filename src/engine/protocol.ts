// The engine's protocol: everything the page asks of entrotune, as types only. The page imports
// nothing else of the engine (the worker runs it: workers/trainer.worker.ts); the CLI drives the same
// interface in its own thread (src/cli/engine.ts). Every setting and record here is plain data, so it
// crosses the worker boundary as it is; progress comes back through callbacks (Comlink.proxy on the
// page), errors as their own classes (src/rpc.ts).

import type { InvalidRow, Question } from '../data/dataset';
import type { ParsedDataset } from '../data/formats';
import type { PromptTemplate } from '../data/prompts';
import type { SerializedError } from '../errors';
import type { KernelSet } from '../gpu/device';
import type { ModelConfig } from '../model/config';
import type { DownloadProgress } from '../model/download';
import type { LoadProgress, LoadReport } from '../model/load';
import type { GenerateResult } from '../model/model';
import type { CachedModel } from '../model/model-cache';
import type { MemoryPlan } from '../model/plan';
import type { Quant } from '../model/quant';
import type { ModelSource } from '../model/sources';
import type { PipelineEvent } from '../pipeline/pipeline';
import type { PipelineReport } from '../pipeline/report';
import type { Method } from '../pipeline/methods';
import type { Bucket, ScoreReport } from '../score/report';
import type { Signal } from '../score/signals';
import type { ChatMessage } from '../tokenizer/tokenizer';
import type { TrainProgress } from '../train/loop';
import type { TrainMemoryPlan } from '../train/plan';
import type { TrainConfig } from '../train/trainer';

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
  /** `concurrency`: requests in flight (absent: the HTTP teacher's 4). */
  | { kind: 'http'; url: string; model: string; apiKey?: string; concurrency?: number }
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
  /** The fixed methods and frontier points (`pipeline@0.1`: the pipeline with the top 10% of training
   *  questions by the signal sent to the teacher). */
  methods: Method[];
  order: 'mix' | 'two-phase';
  /** The complexity signal that splits and ranks the questions (absent: entropy, the paper's). */
  signal?: Signal;
  quantiles: [number, number];
  /** Fixed cut points on complexity / its largest instead of the quantiles (the CLI's --thresholds); absent: the quantiles. */
  thresholds?: [number, number];
  /** At most this many questions to the teacher: the most complex are the hard bucket (absent: the second quantile or threshold). */
  teacherBudget?: number;
  /** `mode` 'full': every weight of an unquantised base is trained (absent: LoRA). */
  train: { r: number; alpha: number; lr: number; dropout: number; schedule: 'cosine' | 'constant'; warmupSteps: number; mode?: 'lora' | 'full' };
  /** `pack`: tokens per packed training row (see packExamples); absent: one padded example per row.
   *  `trainTokens`: the same token budget for every method (see PipelineOptions); absent: `epochs`. */
  loop: { epochs: number; batchSize: number; accumulation: number; checkpointEvery: number; maxSteps?: number; pack?: number; trainTokens?: number };
  /** Train on the prompt's tokens too, as the paper did (absent: the answer only). */
  includePrompt?: boolean;
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
  /** The signal of the split and the histogram (absent in summaries from before there was a choice: entropy). */
  signal?: Signal;
  /** Normalised complexity (c / its largest over the training questions' valid answers), 20 bins. */
  histogram: { edges: number[]; counts: number[] };
  /** Cut points on normalised complexity, null when nothing could be split (everything is hard). */
  bounds: [number, number] | null;
  /** The largest complexity (nats for the entropies). */
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
  train(conversations: ChatMessage[][], config: Partial<TrainConfig>, loop: EngineTrainLoop, onProgress?: (p: TrainProgress) => void, onLog?: (text: string) => void): Promise<{ losses: number[] }>;
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
  /** Tokens per packed row (see packExamples); absent: one padded example per row. */
  pack?: number;
  /** Stop after this many optimizer steps (absent: every epoch). */
  maxSteps?: number;
  checkpointEvery?: number;
  /** Names the checkpoint folder. */
  runId: string;
  resume?: boolean;
  includePrompt?: boolean;
  /** Where the conversations came from: one the chat template cannot format is then a DatasetError
   *  naming the file and its line (a line of 0: none to name). */
  source?: { file: string; lines: number[] };
}
