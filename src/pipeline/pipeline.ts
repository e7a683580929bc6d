// The complexity-aware pipeline and its baselines, end to end, from one base model:
//   score → split → teacher (only for the questions some method sends to CoT) → targets →
//   train each method from the same base with the same settings → evaluate on held-out questions →
//   report.
// Each method trains a LoRA adapter over the frozen base, or (mode 'full', small unquantised models)
// every weight of the base in place: then the base is copied on the GPU first and written back before
// each method and at the end, and a method's output is a whole model folder. With a token budget
// (`trainTokens`) every method takes the same number of steps of the same packed-row batches.
// The split uses one complexity signal (entropy by default, src/score/signals.ts) and quantiles,
// thresholds or a teacher budget; the frontier's points (`pipeline@f`, src/pipeline/methods.ts) are
// methods like the others, routed by rank, so a frontier is one run with one teacher cache.
// Every stage keeps what it makes in the run's storage as it goes (scores, teacher replies,
// checkpoints, evaluation records), so a run that is killed or reloaded starts again where it was
// and never pays twice for a teacher call.

import type { Question } from '../data/dataset';
import { PROMPTS, type PromptTemplate } from '../data/prompts';
import { EntrotuneError } from '../errors';
import type { Model } from '../model/model';
import { analyzeScores, BUCKETS, type Bucket, type ScoreReport } from '../score/report';
import { scoreDataset, type ScoreRecord } from '../score/score';
import { DEFAULT_SIGNAL, heldOutBucket, routeBySignal, type Signal } from '../score/signals';
import { distill, type CotTarget, type TeacherAnswer } from '../teacher/cot';
import type { Teacher } from '../teacher/teacher';
import { loopSteps, packExamples, runTrainLoop, saveAdapterFiles, type TrainExample, type TrainLoopOptions, type TrainTokens } from '../train/loop';
import { baseParams } from '../train/params';
import { Trainer, type TrainConfig } from '../train/trainer';
import { RunClock, type RunEta } from './clock';
import { evaluate, type EvalRecord } from './eval';
import { frontierOf } from './frontier';
import { checkMethods, frontierFraction, type Method } from './methods';
import { accuracyOf, bucketAccuracy, formatPipelineReport, type MethodResult, type PipelineReport } from './report';
import type { RunStorage } from './storage';
import { cotIds, routeExamples, toTrlJsonl, type RoutedExample } from './targets';
import { RunTimes, type TimeRecord } from './times';

export interface PipelineOptions {
  train: Question[];
  test: Question[];
  teacher: Teacher;
  storage: RunStorage;
  /** Default: pipeline, sft-all, distill-all. Frontier points are `pipeline@f` (see methods.ts). */
  methods?: Method[];
  prompt?: PromptTemplate;
  /** The complexity signal that splits and ranks the training questions (default entropy, the paper's;
   *  `signal` is the AbortSignal). */
  complexitySignal?: Signal;
  /** Quantiles of normalised complexity for easy|medium|hard (default the paper's 0.25, 0.75) … */
  quantiles?: [number, number];
  /** … or fixed thresholds on complexity / its largest value … */
  thresholds?: [number, number];
  /** … with at most this many questions to the teacher in the pipeline's hard bucket: the most complex
   *  (answers that named no option first). Replaces the second quantile or threshold. */
  teacherBudget?: number;
  /** The pipeline's order: 'mix' (default: one shuffled set) or 'two-phase' (direct targets, then CoT targets, as the paper). */
  order?: 'mix' | 'two-phase';
  /** Training settings of every method: LoRA (default), or mode 'full' for a small unquantised base
   *  (every weight trained; the base is restored from a GPU copy before each method and at the end). */
  trainConfig?: Partial<TrainConfig>;
  loop?: Pick<TrainLoopOptions, 'epochs' | 'batchSize' | 'accumulation' | 'maxSteps' | 'pack' | 'checkpointEvery'>;
  /**
   * Training budget per method in tokens (prompt + target, in packed rows of `loop.pack` tokens,
   * default 512): every method takes ceil(trainTokens / (batchSize · accumulation · pack)) steps of
   * full batches, cycling its data (reshuffled each epoch) or stopping before its end. Replaces
   * `loop.epochs` and `loop.maxSteps`.
   */
  trainTokens?: number;
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
  /** tokensPerSecond counts trained (target) tokens, processedTokensPerSecond every token of the rows;
   *  eta is this method's training, etaRun the rest of the run (every method's training and evaluation). */
  | { phase: 'train'; method: Method; step: number; totalSteps: number; loss: number; tokensPerSecond: number; processedTokensPerSecond: number; eta: number; etaRun: RunEta; gpuBytes: number }
  | { phase: 'eval'; method: Method | 'base'; done: number; total: number; correct: number; tokens: number; etaRun?: RunEta }
  | { phase: 'method-done'; result: MethodResult }
  | { phase: 'log'; text: string };

const DEFAULT_METHODS: Method[] = ['pipeline', 'sft-all', 'distill-all'];

/** Tokens per packed row under a token budget when `loop.pack` is not given. */
export const BUDGET_PACK = 512;

/** A token budget as steps: the same for every method. */
export interface TrainBudget {
  /** Tokens per method asked for (prompt + target). */
  trainTokens: number;
  /** Packed rows per optimizer step (batch size × accumulation) and tokens per row (at most). */
  rowsPerStep: number;
  pack: number;
  steps: number;
}

export function trainBudget(trainTokens: number, loop: PipelineOptions['loop'] = {}): TrainBudget {
  if (!(Number.isInteger(trainTokens) && trainTokens > 0)) throw new EntrotuneError(`the token budget must be a positive whole number, got ${trainTokens}`);
  const rowsPerStep = Math.max(1, loop.batchSize ?? 4) * Math.max(1, loop.accumulation ?? 1);
  const pack = loop.pack ?? BUDGET_PACK;
  return { trainTokens, rowsPerStep, pack, steps: Math.ceil(trainTokens / (rowsPerStep * pack)) };
}

export async function runPipeline(model: Model, options: PipelineOptions): Promise<PipelineReport> {
  // Packed rows longer than the model's context could not be trained: at most the context.
  const asked = options.loop?.pack ?? (options.trainTokens === undefined ? undefined : BUDGET_PACK);
  const o = asked && asked > model.contextLength ? { ...options, loop: { ...options.loop, pack: model.contextLength } } : options;
  if (o !== options) options.onEvent?.({ phase: 'log', text: `training rows are packed to at most ${model.contextLength} tokens, the model's context length (${asked} asked for)` });
  const tok = model.tokenizer;
  if (!tok) throw new EntrotuneError(`${model.name} has no tokenizer.json`, 'the pipeline needs the tokenizer and chat template');
  if (model.lora) throw new EntrotuneError('the model carries an adapter already', 'load the base model without an adapter: every method starts from the same base');
  if (!o.train.length || !o.test.length) throw new EntrotuneError(`the pipeline needs training and held-out questions (got ${o.train.length} and ${o.test.length})`, 'give a larger dataset or a different test fraction');
  const clash = new Set(o.train.map((q) => q.id));
  const shared = o.test.find((q) => clash.has(q.id));
  if (shared) throw new EntrotuneError(`question ${shared.id} is in both the training and the held-out set`, 'ids must be unique across the split');
  const methods = checkMethods(o.methods ?? DEFAULT_METHODS);
  const prompt = o.prompt ?? PROMPTS.letters;
  const seed = o.seed ?? 0;
  const emit = (e: PipelineEvent) => o.onEvent?.(e);
  const st = o.storage;
  const full = o.trainConfig?.mode === 'full';
  if (full) baseParams(model); // refuses a quantised base before any work is done
  const budget = o.trainTokens === undefined ? null : trainBudget(o.trainTokens, o.loop);
  // Every process that works on this run adds its time to times.jsonl: a resumed run's report counts them all.
  const times = await RunTimes.open(await st.records<TimeRecord>('times.jsonl'));
  times.start('run');
  try {
    return await runStages(model, o, { methods, prompt, seed, emit, st, full, budget, times });
  } catch (err) {
    times.stop('run');
    // The time spent is kept for the resumed run; the run's own error is the one thrown.
    await times.flush().catch((e: unknown) => emit({ phase: 'log', text: `the time this run took could not be saved in ${st.where}/times.jsonl: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` }));
    throw err;
  }
}

interface StageContext {
  methods: Method[];
  prompt: PromptTemplate;
  seed: number;
  emit: (e: PipelineEvent) => void;
  st: RunStorage;
  full: boolean;
  budget: TrainBudget | null;
  times: RunTimes;
}

async function runStages(model: Model, o: PipelineOptions, { methods, prompt, seed, emit, st, full, budget, times }: StageContext): Promise<PipelineReport> {
  const tok = model.tokenizer!;
  // 1. Score every question (train and held-out) with the base model.
  const all = [...o.train, ...o.test];
  const scores = await scoreDataset(model, all, {
    prompt, batchSize: o.scoreBatch ?? 8, store: await st.records<ScoreRecord>('scores.jsonl'), signal: o.signal,
    onProgress: (p) => emit({ phase: 'score', done: p.done, total: p.total }),
  });
  const byId = new Map(scores.map((r) => [r.id, r]));
  const trainScores = o.train.map((q) => byId.get(q.id)!);
  const testScores = o.test.map((q) => byId.get(q.id)!);

  // 2. Split by the complexity signal on the training questions; held-out questions get the same cut
  // points. A base that names no option for any question (a random or badly prompted model) has
  // nothing to split: every question counts as hard.
  const signal = o.complexitySignal ?? DEFAULT_SIGNAL;
  const splitBy = { signal, quantiles: o.quantiles, thresholds: o.thresholds, teacherBudget: o.teacherBudget };
  const anyValid = trainScores.some((r) => r.correct !== null);
  if (!anyValid) emit({ phase: 'log', text: 'the base model named no option for any training question: all are routed as hard (check the prompt and chat template)' });
  const routing = routeBySignal(trainScores, splitBy);
  const split = anyValid ? analyzeScores(trainScores, { ...splitBy, seed }) : null;
  if (split) emit({ phase: 'split', report: split });
  // (The held-out AUC needs a valid answer of each kind; a few held-out questions may not have them.)
  const testAuc = testScores.some((r) => r.correct === true) && testScores.some((r) => r.correct === false) ? analyzeScores(testScores, { seed }).auc : null;
  const trainBuckets = routing.buckets;
  const testBuckets = new Map(testScores.map((r) => [r.id, heldOutBucket(r, routing)]));
  const count = (m: Map<string, Bucket>) => Object.fromEntries(BUCKETS.map((b) => [b, [...m.values()].filter((x) => x === b).length])) as Record<Bucket, number>;
  const baseRecords = testScores.map((r) => ({ id: r.id, correct: r.correct === true }));

  // 3. Chains of thought for every question some method routes to CoT; nothing else is asked.
  const toTeacher = new Map(methods.map((m) => [m, cotIds(m, routing)]));
  const needCot = o.train.filter((q) => methods.some((m) => toTeacher.get(m)!.has(q.id)));
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

  // 4–6. Per method: targets → train from the base → evaluate → back to the base.
  const plans = methods.map((method) => {
    const routed = routeExamples(method, o.train, routing, cots, tok, prompt, o.includePrompt);
    return { method, routed, phases: phasesOf(method, routed, o, budget) };
  });
  const clock = new RunClock(plans.map((p) => p.phases.reduce((s, ph) => s + ph.steps, 0)), o.test.length);
  const results: MethodResult[] = [];
  // Full fine-tuning changes the base in place: a GPU copy of it is written back before every method
  // and at the end (also when the run stops), so each method and whatever runs next start from it.
  const base = full ? snapshotWeights(model) : null;
  try {
    for (const [k, { method, routed, phases }] of plans.entries()) {
      base?.restore();
      await st.write(`${method}.train.jsonl`, toTrlJsonl(routed));
      clock.start();
      const trained = await timed(times, `train ${method}`, () => trainMethod(model, method, phases, o, (e) => {
        clock.step();
        times.background();
        emit({ ...e, etaRun: clock.left(k, { step: e.step }) });
      }, (text) => emit({ phase: 'log', text })));
      clock.start();
      const evalStore = await st.records<EvalRecord>(`${method}.eval.jsonl`);
      const records = await timed(times, `eval ${method}`, () => evaluate(model, o.test, {
        prompt, maxNewTokens: o.eval?.maxNewTokens, maxBatch: o.eval?.maxBatch, signal: o.signal, store: evalStore,
        onProgress: (p) => {
          clock.evaluated(p.done);
          times.background();
          emit({ phase: 'eval', method, ...p, etaRun: clock.left(k, { done: p.done }) });
        },
      }));
      const cotUsed = routed.filter((r) => toTeacher.get(method)!.has(r.question.id)).map((r) => cots.get(r.question.id)!);
      const result: MethodResult = {
        method,
        targets: { direct: routed.filter((r) => r.target === 'direct').length, cot: routed.filter((r) => r.target === 'cot').length, fallback: routed.filter((r) => r.target === 'fallback').length },
        targetTokens: routed.reduce((s, r) => s + r.targetTokens, 0),
        cotTargetTokens: routed.reduce((s, r) => s + (r.target === 'cot' ? r.targetTokens : 0), 0),
        teacher: {
          questions: cotUsed.length,
          calls: cotUsed.reduce((s, c) => s + c.attempts, 0),
          completionTokens: cotUsed.reduce((s, c) => s + c.completionTokens, 0),
          kept: cotUsed.filter((c) => c.outcome === 'kept').length,
          retried: cotUsed.filter((c) => c.outcome === 'retried').length,
          fallback: cotUsed.filter((c) => c.outcome === 'fallback').length,
        },
        steps: trained.losses.length,
        loss: { first: trained.losses[0] ?? NaN, last: trained.losses.at(-1) ?? NaN },
        trainTokens: trained.tokens,
        epochs: trained.epochs,
        trainSeconds: times.total(`train ${method}`),
        accuracy: accuracyOf(records),
        buckets: bucketAccuracy(records, testBuckets),
        reasoned: records.filter((r) => r.reasoned).length / records.length,
        malformed: records.filter((r) => r.malformed).length / records.length,
        answerTokens: records.reduce((s, r) => s + r.tokens, 0) / records.length,
        evalSeconds: times.total(`eval ${method}`),
        adapter: method,
        weights: full ? 'model' : 'adapter',
      };
      results.push(result);
      emit({ phase: 'method-done', result });
      model.setAdapter(null); // (LoRA) the next method starts from the same base
    }
  } finally {
    base?.restore();
    base?.dispose();
  }

  const byName = new Map(results.map((r) => [r.method, r]));
  const p = byName.get('pipeline'), d = byName.get('distill-all');
  const report: PipelineReport = {
    version: 1,
    model: o.modelName ?? model.name,
    teacher: o.teacher.id,
    created: new Date().toISOString(),
    settings: { methods, order: o.order ?? 'mix', prompt: prompt.labels, signal, quantiles: o.quantiles ?? (o.thresholds ? null : [0.25, 0.75]), thresholds: o.thresholds ?? null, teacherBudget: o.teacherBudget ?? null, train: o.trainConfig ?? {}, loop: o.loop ?? {}, trainTokens: o.trainTokens ?? null, includePrompt: !!o.includePrompt, distill: o.distill ?? {}, eval: o.eval ?? {}, seed },
    data: { train: o.train.length, test: o.test.length, invalid: 0 },
    budget,
    scoring: {
      auc: split?.auc ?? null, aucTest: testAuc, signal, signals: split?.signals ?? null, teacherBudget: o.teacherBudget ?? null,
      hmax: routing.cmax, bounds: routing.bounds, train: count(trainBuckets), test: count(testBuckets),
    },
    base: { accuracy: accuracyOf(baseRecords), buckets: bucketAccuracy(baseRecords, testBuckets) },
    methods: results,
    tokenSaving: p && d && d.targetTokens > 0 ? 1 - p.targetTokens / d.targetTokens : null,
    teacherUsage: { ...usage, completionTokens: cotList.reduce((s, c) => s + c.completionTokens, 0) },
    frontier: null,
    seconds: 0,
  };
  report.frontier = frontierOf(report);
  times.stop('run');
  await times.flush();
  report.seconds = times.total('run');
  await st.write('report.json', JSON.stringify(report, null, 1) + '\n');
  await st.write('report.md', formatPipelineReport(report));
  return report;
}

/** `work` timed on `clock`, its time saved when it ends (when it throws, runPipeline saves it). */
async function timed<T>(times: RunTimes, clock: string, work: () => Promise<T>): Promise<T> {
  times.start(clock);
  let result: T;
  try {
    result = await work();
  } finally {
    times.stop(clock);
  }
  await times.flush();
  return result;
}

/** One training loop of a method: its rows, its steps and where its checkpoints go. */
interface Phase {
  label: string;
  folder: string;
  /** Packed rows when `pack` is set (packed here, once), else one example per row. */
  rows: TrainExample[];
  steps: number;
}

/** A method's training loops: one, or (the pipeline in the paper's order) direct targets then CoT
 *  targets, each with its own schedule and, under a budget, a share of the steps by rows. */
function phasesOf(method: Method, routed: RoutedExample[], o: PipelineOptions, budget: TrainBudget | null): Phase[] {
  const pack = budget?.pack ?? o.loop?.pack;
  const rowsOf = (rs: RoutedExample[]) => (pack ? packExamples(rs.map((r) => r.example), pack) : rs.map((r) => r.example));
  const parts = (method === 'pipeline' || frontierFraction(method) !== null) && o.order === 'two-phase'
    ? [{ label: ' (phase 1)', folder: `${method}/phase1`, rows: rowsOf(routed.filter((r) => r.target !== 'cot')) }, { label: ' (phase 2)', folder: `${method}/phase2`, rows: rowsOf(routed.filter((r) => r.target === 'cot')) }].filter((p) => p.rows.length)
    : [{ label: '', folder: method, rows: rowsOf(routed) }];
  if (!budget) return parts.map((p) => ({ ...p, steps: loopSteps(p.rows.length, { batchSize: 4, ...o.loop }) }));
  // The budget's steps shared by rows (each phase at least one step).
  const total = parts.reduce((s, p) => s + p.rows.length, 0);
  let left = Math.max(budget.steps, parts.length);
  return parts.map((p, i) => {
    const steps = i === parts.length - 1 ? left : Math.min(left - (parts.length - 1 - i), Math.max(1, Math.round((budget.steps * p.rows.length) / total)));
    left -= steps;
    return { ...p, steps };
  });
}

/** Train one method from the base (a LoRA adapter, or every weight): its checkpoints and output go to the folder named after it. */
async function trainMethod(model: Model, method: Method, phases: Phase[], o: PipelineOptions, onStep: (e: Omit<Extract<PipelineEvent, { phase: 'train' }>, 'etaRun'>) => void, log: (text: string) => void): Promise<{ losses: number[]; tokens: TrainTokens; epochs: number }> {
  const trainer = await Trainer.create(model, { ...o.trainConfig, seed: o.seed ?? 0 });
  const fixed = o.trainTokens !== undefined;
  try {
    const losses: number[] = [];
    const tokens = { processed: 0, trained: 0 };
    let drawn = 0;
    for (const [i, ph] of phases.entries()) {
      if (i > 0) trainer.step = 0; // a new schedule
      const r = await runTrainLoop(trainer, ph.rows, {
        epochs: 1, batchSize: 4, ...o.loop, pack: undefined, ...(fixed ? { steps: ph.steps } : {}),
        resume: true, signal: o.signal, baseModel: o.modelName ?? model.name, sink: await o.storage.sink(ph.folder),
        onLog: (text) => log(`${method}${ph.label}: ${text}`),
        onProgress: (p) => onStep({ phase: 'train', method, step: p.step, totalSteps: p.totalSteps, loss: p.loss, tokensPerSecond: p.tokensPerSecond, processedTokensPerSecond: p.processedTokensPerSecond, eta: p.eta, gpuBytes: p.gpuBytes }),
      });
      losses.push(...r.losses);
      tokens.processed += r.tokens.processed;
      tokens.trained += r.tokens.trained;
      drawn += r.epochs * ph.rows.length;
    }
    if (phases.length > 1 || phases[0].folder !== method) await saveAdapterFiles(trainer, await o.storage.sink(method), o.modelName ?? model.name);
    return { losses, tokens, epochs: drawn / phases.reduce((s, ph) => s + ph.rows.length, 0) };
  } finally {
    trainer.dispose();
  }
}

/** A GPU-side copy of the base's weights (full fine-tuning trains them in place). */
function snapshotWeights(model: Model): { restore(): void; dispose(): void } {
  const gpu = model.gpu;
  const COPY = 0x0004 /* COPY_SRC */ | 0x0008 /* COPY_DST */;
  const copies = baseParams(model).map(({ name, t }) => ({ t, copy: gpu.createBuffer(`base copy of ${name}`, t.bytes, COPY, 'base') }));
  const copy = (toCopy: boolean) => {
    const enc = gpu.device.createCommandEncoder({ label: toCopy ? 'snapshot the base' : 'restore the base' });
    for (const { t, copy: c } of copies) {
      if (toCopy) enc.copyBufferToBuffer(t.buffer, t.offset, c, 0, t.bytes);
      else enc.copyBufferToBuffer(c, 0, t.buffer, t.offset, t.bytes);
    }
    gpu.device.queue.submit([enc.finish()]);
  };
  copy(true);
  return {
    restore: () => copy(false),
    dispose: () => {
      for (const { copy: c } of copies) gpu.destroyBuffer(c);
    },
  };
}
