// The complexity-aware pipeline and its baselines, end to end, from one base model:
//   score → split → teacher (only for the questions some method sends to CoT) → targets →
//   train each method from the same base with the same settings → evaluate on held-out questions →
//   report.
// Every stage keeps what it makes in the run's storage as it goes (scores, teacher replies,
// checkpoints, evaluation records), so a run that is killed or reloaded starts again where it was
// and never pays twice for a teacher call.

import type { Question } from '../data/dataset';
import { PROMPTS, type PromptTemplate } from '../data/prompts';
import { EntrotuneError } from '../errors';
import type { Model } from '../model/model';
import { bucketOf } from '../score/analysis';
import { analyzeScores, BUCKETS, type Bucket, type ScoreReport } from '../score/report';
import { scoreDataset, type ScoreRecord } from '../score/score';
import { distill, type CotTarget, type TeacherAnswer } from '../teacher/cot';
import type { Teacher } from '../teacher/teacher';
import { saveAdapterFiles, trainLoop, type TrainLoopOptions } from '../train/loop';
import { Trainer, type TrainConfig } from '../train/trainer';
import { evaluate, type EvalRecord } from './eval';
import { accuracyOf, bucketAccuracy, formatPipelineReport, type MethodResult, type PipelineReport } from './report';
import type { RunStorage } from './storage';
import { routeExamples, toTrlJsonl, wantsCot, type Method, type RoutedExample } from './targets';

export interface PipelineOptions {
  train: Question[];
  test: Question[];
  teacher: Teacher;
  storage: RunStorage;
  /** Default: pipeline, sft-all, distill-all. */
  methods?: Method[];
  prompt?: PromptTemplate;
  /** Quantiles of normalised entropy for easy|medium|hard (default the paper's 0.25, 0.75) … */
  quantiles?: [number, number];
  /** … or fixed thresholds on H/Hmax. */
  thresholds?: [number, number];
  /** The pipeline's order: 'mix' (default: one shuffled set) or 'two-phase' (direct targets, then CoT targets, as the paper). */
  order?: 'mix' | 'two-phase';
  /** LoRA settings (mode 'full' is refused: every method must start from the same base). */
  trainConfig?: Partial<TrainConfig>;
  loop?: Pick<TrainLoopOptions, 'epochs' | 'batchSize' | 'accumulation' | 'maxSteps' | 'pack' | 'checkpointEvery'>;
  includePrompt?: boolean;
  distill?: { retries?: number; retryTemperature?: number; maxTokens?: number };
  eval?: { maxNewTokens?: number; maxBatch?: number };
  scoreBatch?: number;
  /** Recorded in adapter_config.json and the report. */
  modelName?: string;
  seed?: number;
  signal?: AbortSignal;
  onEvent?: (e: PipelineEvent) => void;
}

export type PipelineEvent =
  | { phase: 'score'; done: number; total: number }
  | { phase: 'split'; report: ScoreReport }
  | { phase: 'teacher'; done: number; total: number; calls: number; cached: number; kept: number; retried: number; fallback: number }
  | { phase: 'train'; method: Method; step: number; totalSteps: number; loss: number; tokensPerSecond: number; eta: number; gpuBytes: number }
  | { phase: 'eval'; method: Method | 'base'; done: number; total: number; correct: number }
  | { phase: 'method-done'; result: MethodResult }
  | { phase: 'log'; text: string };

const DEFAULT_METHODS: Method[] = ['pipeline', 'sft-all', 'distill-all'];

/** Buckets of `records` with the cut points found on the training questions (invalid answers count as hard). */
function bucketsWith(records: ScoreRecord[], hmax: number, bounds: [number, number]): Map<string, Bucket> {
  return new Map(records.map((r) => {
    const b: Bucket = r.correct === null ? 'hard' : bucketOf(hmax > 0 ? r.entropy / hmax : 0, bounds);
    return [r.id, b];
  }));
}

export async function runPipeline(model: Model, o: PipelineOptions): Promise<PipelineReport> {
  const t0 = performance.now();
  const tok = model.tokenizer;
  if (!tok) throw new EntrotuneError(`${model.name} has no tokenizer.json`, 'the pipeline needs the tokenizer and chat template');
  if (model.lora) throw new EntrotuneError('the model carries an adapter already', 'load the base model without an adapter: every method starts from the same base');
  if (o.trainConfig?.mode === 'full') throw new EntrotuneError('the pipeline trains LoRA adapters', 'full fine-tuning changes the base in place; use mode "lora"');
  if (!o.train.length || !o.test.length) throw new EntrotuneError(`the pipeline needs training and held-out questions (got ${o.train.length} and ${o.test.length})`, 'give a larger dataset or a different test fraction');
  const clash = new Set(o.train.map((q) => q.id));
  const shared = o.test.find((q) => clash.has(q.id));
  if (shared) throw new EntrotuneError(`question ${shared.id} is in both the training and the held-out set`, 'ids must be unique across the split');
  const methods = o.methods ?? DEFAULT_METHODS;
  const prompt = o.prompt ?? PROMPTS.letters;
  const seed = o.seed ?? 0;
  const emit = (e: PipelineEvent) => o.onEvent?.(e);
  const st = o.storage;

  // 1. Score every question (train and held-out) with the base model.
  const all = [...o.train, ...o.test];
  const scores = await scoreDataset(model, all, {
    prompt, batchSize: o.scoreBatch ?? 8, store: await st.records<ScoreRecord>('scores.jsonl'), signal: o.signal,
    onProgress: (p) => emit({ phase: 'score', done: p.done, total: p.total }),
  });
  const byId = new Map(scores.map((r) => [r.id, r]));
  const trainScores = o.train.map((q) => byId.get(q.id)!);
  const testScores = o.test.map((q) => byId.get(q.id)!);

  // 2. Split by entropy on the training questions; held-out questions get the same cut points.
  // A base that names no option for any question (a random or badly prompted model) has nothing to
  // split: every question counts as hard.
  const anyValid = trainScores.some((r) => r.correct !== null);
  if (!anyValid) emit({ phase: 'log', text: 'the base model named no option for any training question: all are routed as hard (check the prompt and chat template)' });
  const split = anyValid
    ? analyzeScores(trainScores, { quantiles: o.quantiles, thresholds: o.thresholds, seed })
    : { auc: null, hmax: 0, bounds: [0, 0] as [number, number] };
  if (anyValid) emit({ phase: 'split', report: split as ScoreReport });
  // (The held-out AUC needs a valid answer of each kind; a few held-out questions may not have them.)
  const testAuc = testScores.some((r) => r.correct === true) && testScores.some((r) => r.correct === false) ? analyzeScores(testScores, { seed }).auc : null;
  const trainBuckets = bucketsWith(trainScores, split.hmax, split.bounds);
  const testBuckets = bucketsWith(testScores, split.hmax, split.bounds);
  const count = (m: Map<string, Bucket>) => Object.fromEntries(BUCKETS.map((b) => [b, [...m.values()].filter((x) => x === b).length])) as Record<Bucket, number>;
  const baseRecords = testScores.map((r) => ({ id: r.id, correct: r.correct === true }));

  // 3. Chains of thought for every question some method routes to CoT; nothing else is asked.
  const needCot = o.train.filter((q) => methods.some((m) => wantsCot(m, trainBuckets.get(q.id)!)));
  let usage = { calls: 0, cached: 0 };
  const cotList: CotTarget[] = needCot.length
    ? await distill(needCot, o.teacher, await st.records<TeacherAnswer>('teacher.jsonl'), {
        style: prompt.labels, seed, signal: o.signal, ...o.distill,
        onProgress: (p) => {
          usage = { calls: p.calls, cached: p.cached };
          emit({ phase: 'teacher', ...p });
        },
      })
    : [];
  await o.teacher.unload?.(); // the student needs the GPU memory now
  const cots = new Map(cotList.map((c) => [c.question, c]));

  // 4–6. Per method: targets → train from the base → evaluate → free the adapter.
  const results: MethodResult[] = [];
  for (const method of methods) {
    const routed = routeExamples(method, o.train, trainBuckets, cots, tok, prompt, o.includePrompt);
    await st.write(`${method}.train.jsonl`, toTrlJsonl(routed));
    const tTrain = performance.now();
    const losses = await trainMethod(model, method, routed, o, (e) => emit(e));
    const trainSeconds = (performance.now() - tTrain) / 1000;
    const tEval = performance.now();
    const records = await evaluate(model, o.test, {
      prompt, maxNewTokens: o.eval?.maxNewTokens, maxBatch: o.eval?.maxBatch, signal: o.signal,
      store: await st.records<EvalRecord>(`${method}.eval.jsonl`),
      onProgress: (p) => emit({ phase: 'eval', method, ...p }),
    });
    const cotUsed = routed.filter((r) => wantsCot(method, r.bucket)).map((r) => cots.get(r.question.id)!);
    const result: MethodResult = {
      method,
      targets: { direct: routed.filter((r) => r.target === 'direct').length, cot: routed.filter((r) => r.target === 'cot').length, fallback: routed.filter((r) => r.target === 'fallback').length },
      targetTokens: routed.reduce((s, r) => s + r.targetTokens, 0),
      teacher: {
        questions: cotUsed.length,
        calls: cotUsed.reduce((s, c) => s + c.attempts, 0),
        completionTokens: cotUsed.reduce((s, c) => s + c.completionTokens, 0),
        kept: cotUsed.filter((c) => c.outcome === 'kept').length,
        retried: cotUsed.filter((c) => c.outcome === 'retried').length,
        fallback: cotUsed.filter((c) => c.outcome === 'fallback').length,
      },
      steps: losses.length,
      loss: { first: losses[0] ?? NaN, last: losses.at(-1) ?? NaN },
      trainSeconds,
      accuracy: accuracyOf(records),
      buckets: bucketAccuracy(records, testBuckets),
      reasoned: records.filter((r) => r.reasoned).length / records.length,
      answerTokens: records.reduce((s, r) => s + r.tokens, 0) / records.length,
      evalSeconds: (performance.now() - tEval) / 1000,
      adapter: method,
    };
    results.push(result);
    emit({ phase: 'method-done', result });
    model.setAdapter(null); // the next method starts from the same base
  }

  const byName = new Map(results.map((r) => [r.method, r]));
  const p = byName.get('pipeline'), d = byName.get('distill-all');
  const report: PipelineReport = {
    version: 1,
    model: o.modelName ?? model.name,
    teacher: o.teacher.id,
    created: new Date().toISOString(),
    settings: { methods, order: o.order ?? 'mix', prompt: prompt.labels, quantiles: o.quantiles ?? (o.thresholds ? null : [0.25, 0.75]), thresholds: o.thresholds ?? null, train: o.trainConfig ?? {}, loop: o.loop ?? {}, includePrompt: !!o.includePrompt, distill: o.distill ?? {}, eval: o.eval ?? {}, seed },
    data: { train: o.train.length, test: o.test.length, invalid: 0 },
    scoring: { auc: split.auc, aucTest: testAuc, hmax: split.hmax, bounds: split.bounds, train: count(trainBuckets), test: count(testBuckets) },
    base: { accuracy: accuracyOf(baseRecords), buckets: bucketAccuracy(baseRecords, testBuckets) },
    methods: results,
    tokenSaving: p && d && d.targetTokens > 0 ? 1 - p.targetTokens / d.targetTokens : null,
    teacherUsage: { ...usage, completionTokens: cotList.reduce((s, c) => s + c.completionTokens, 0) },
    seconds: (performance.now() - t0) / 1000,
  };
  await st.write('report.json', JSON.stringify(report, null, 1) + '\n');
  await st.write('report.md', formatPipelineReport(report));
  return report;
}

/** Train one method's adapter from the base; its checkpoints and adapter go to the folder named after it. */
async function trainMethod(model: Model, method: Method, routed: RoutedExample[], o: PipelineOptions, emit: (e: PipelineEvent) => void): Promise<number[]> {
  const trainer = await Trainer.create(model, { ...o.trainConfig, seed: o.seed ?? 0 });
  const loop = (phase: string): TrainLoopOptions => ({
    epochs: 1, batchSize: 4, ...o.loop, resume: true, signal: o.signal, baseModel: o.modelName ?? model.name,
    onLog: (text) => emit({ phase: 'log', text: `${method}${phase}: ${text}` }),
    onProgress: (p) => emit({ phase: 'train', method, step: p.step, totalSteps: p.totalSteps, loss: p.loss, tokensPerSecond: p.tokensPerSecond, eta: p.eta, gpuBytes: p.gpuBytes }),
  });
  try {
    if (method === 'pipeline' && o.order === 'two-phase') {
      // The paper's order: direct answers first, then the chains of thought, each with its own schedule.
      const first = routed.filter((r) => r.target !== 'cot').map((r) => r.example);
      const second = routed.filter((r) => r.target === 'cot').map((r) => r.example);
      const l1 = first.length ? await trainLoop(trainer, first, { ...loop(' (phase 1)'), sink: await o.storage.sink(`${method}/phase1`) }) : [];
      trainer.step = 0;
      const l2 = second.length ? await trainLoop(trainer, second, { ...loop(' (phase 2)'), sink: await o.storage.sink(`${method}/phase2`) }) : [];
      const out = await o.storage.sink(method);
      await saveAdapterFiles(trainer, out, o.modelName ?? model.name);
      return [...l1, ...l2];
    }
    return await trainLoop(trainer, routed.map((r) => r.example), { ...loop(''), sink: await o.storage.sink(method) });
  } finally {
    trainer.dispose();
  }
}
