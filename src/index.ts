// entrotune's public API for users of the library: re-exports only (the code itself imports the modules).

export { createDevice, Gpu } from './gpu/device';
export type { CreateDeviceOptions, AdapterSummary } from './gpu/device';
export * from './errors';
export { Model } from './model/model';
export type { GenerateOptions, GenerateResult } from './model/model';
export type { ModelConfig } from './model/config';
export { fromHfConfig, parameterCount, weightShapes } from './model/config';
export type { LoadProgress, LoadReport } from './model/load';
export type { Quant } from './model/quant';
export { loadModel, loadModelFromFiles } from './model/load-model';
export type { AdapterSource, LoadModelOptions } from './model/load-model';
export { parseModelSource } from './model/sources';
export type { ModelSource } from './model/sources';
export { memoryFiles } from './model/model-files';
export type { ModelFiles } from './model/model-files';
export { listCachedModels, removeCachedModel, memoryCache } from './model/model-cache';
export type { ModelCache } from './model/model-cache';
export type { Tokenizer, ChatMessage } from './tokenizer/tokenizer';
export { formatBytes } from './gpu/memory';

// Datasets, prompts and scoring (single-token answer entropy).
export { parseDataset } from './data/formats';
export { fetchHfDatasetRows } from './data/datasets-server';
export { splitTrainTest, toJsonl } from './data/dataset';
export type { Question } from './data/dataset';
export { PROMPTS, promptMessages, encodePrompt, labelTokens } from './data/prompts';
export type { PromptTemplate, LabelStyle } from './data/prompts';
export { scoreDataset } from './score/score';
export type { ScoreRecord, ScoreOptions, ScoreProgress } from './score/score';
export { rocAuc, bootstrapAuc, splitByEntropy, entropyHistogram, accuracyInterval } from './score/analysis';
export { analyzeScores, formatScoreReport } from './score/report';
export type { ScoreReport } from './score/report';
export { memoryStore, opfsStore, fileStore } from './score/store';
export type { RecordStore } from './score/store';

// Training (LoRA over a frozen, possibly NF4 base).
export { Trainer, TRAIN_DEFAULTS, learningRate } from './train/trainer';
export { initLora } from './train/params';
export type { TrainConfig, TrainBatch, StepResult } from './train/trainer';
export { trainLoop, runTrainLoop, loopSteps, chatExample, saveAdapterFiles as saveAdapter, epochOrder } from './train/loop';
export type { TrainExample, TrainLoopOptions, TrainLoopResult, TrainTokens, TrainProgress } from './train/loop';
export { nodeDirSink, opfsSink, adapterConfigJson } from './train/checkpoint';
export type { FileSink } from './train/checkpoint';
export { planTraining } from './train/plan';
export { mergedSafetensors } from './train/merge';
export { planInference } from './model/plan';

export { createTrainer } from './train/trainer';

// Teachers, the pipeline and its evaluation (the WebLLM teacher is browser-only: import it from
// 'src/teacher/webllm' in page code, so Node builds never pull in web-llm).
export type { Teacher, TeacherRequest, TeacherReply } from './teacher/teacher';
export { httpTeacher, parseTeacherSpec, normaliseTeacherUrl } from './teacher/http';
export type { TeacherSpec, HttpTeacherOptions } from './teacher/http';
export { ownTeacher } from './teacher/own';
export { columnTeacher } from './teacher/column';
export { cotMessages, extractBracketed, distill, COT_SYSTEM } from './teacher/cot';
export type { CotTarget, TeacherAnswer, DistillOptions } from './teacher/cot';
export { runPipeline, trainBudget, BUDGET_PACK } from './pipeline/pipeline';
export type { PipelineOptions, PipelineEvent, TrainBudget } from './pipeline/pipeline';
export type { RunEta } from './pipeline/clock';
export { evaluate, answerOf } from './pipeline/eval';
export type { EvalRecord, EvalOptions } from './pipeline/eval';
export { formatPipelineReport, accuracyOf } from './pipeline/report';
export type { PipelineReport, MethodResult } from './pipeline/report';
export { routeExamples, toTrlJsonl } from './pipeline/targets';
export { METHODS, DEFAULT_FRONTIER, PAPER_FRACTION, frontierMethod, frontierFraction, parseFrontier } from './pipeline/methods';
export type { Method, FrontierMethod } from './pipeline/methods';
export { frontierOf, frontierTable, frontierSvg } from './pipeline/frontier';
export type { FrontierPoint } from './pipeline/frontier';
export { SIGNALS, DEFAULT_SIGNAL, complexity, routeBySignal } from './score/signals';
export type { Signal, Routing, RoutingOptions } from './score/signals';
export { nodeRunStorage, opfsRunStorage, memoryRunStorage } from './pipeline/storage';
export type { RunStorage } from './pipeline/storage';
export { greedyBatch } from './model/batch-generate';
export { packExamples } from './train/loop';
