// entrotune pipeline: score → split → teacher → train the pipeline and its baselines → evaluate →
// report, all kept in --out (run it again to resume; no teacher call is ever repeated).
// entrotune eval: the held-out accuracy of a model (with an adapter) by greedy decoding.

import { join } from 'node:path';
import { splitTrainTest, type Question } from '../data/dataset';
import { PROMPTS, type LabelStyle } from '../data/prompts';
import { EntrotuneError } from '../errors';
import { formatBytes } from '../gpu/memory';
import { loadModel } from '../model/load-model';
import type { Model } from '../model/model';
import { evaluate, type EvalRecord } from '../pipeline/eval';
import { runPipeline, type PipelineEvent, type PipelineOptions } from '../pipeline/pipeline';
import { accuracyOf, formatPipelineReport } from '../pipeline/report';
import { nodeRunStorage } from '../pipeline/storage';
import { METHODS, type Method } from '../pipeline/targets';
import { fileStore } from '../score/store';
import { columnTeacher } from '../teacher/column';
import { httpTeacher, parseTeacherSpec } from '../teacher/http';
import { ownTeacher } from '../teacher/own';
import type { Teacher } from '../teacher/teacher';
import { estimate, seconds } from '../util/format';
import { describeLoadProgress, num, parse, progressLine, promptStyle, quant, readQuestions, cliDevice } from './args';
import { defaultCacheDir } from './generate';
import { pair } from './score';

export const PIPELINE_USAGE = `entrotune pipeline --model <folder|URL|repo> --data <file> --teacher <http://host:port/v1#model | own:<model> | column> --out <dir>
  [--test-data <file> | --test-fraction 0.2] [--methods pipeline,sft-all,distill-all[,reverse]] [--order mix|two-phase]
  [--prompt letters|numbers] [--quantiles 0.25,0.75 | --thresholds a,b] [--quant nf4|int8|none]
  [--full] [--r 8] [--alpha 16] [--lr 2e-4] [--epochs 1] [--batch 4] [--accum 1] [--pack N] [--max-steps N] [--train-tokens N] [--include-prompt]
  [--retries 2] [--teacher-max-tokens 512] [--concurrency 4] [--api-key-env OPENAI_API_KEY]
  [--max-new-tokens 256] [--eval-batch 16] [--limit N] [--seed 0]`;

export const EVAL_USAGE = `entrotune eval --model <folder|URL|repo> [--adapter <dir>] --data <test file> [--out <dir>]
  [--prompt letters|numbers] [--max-new-tokens 256] [--eval-batch 16] [--quant nf4|int8|none]`;

const int = (n: number) => Number.isInteger(n) && n > 0;

async function makeTeacher(spec: string, o: { concurrency: number; apiKeyEnv: string; style: LabelStyle; load: (src: string) => Promise<Model> }): Promise<Teacher> {
  const s = parseTeacherSpec(spec);
  switch (s.kind) {
    case 'http':
      return httpTeacher({ url: s.url, model: s.model, apiKey: process.env[o.apiKeyEnv] || undefined, concurrency: o.concurrency });
    case 'own':
      return ownTeacher(await o.load(s.source));
    case 'column':
      return columnTeacher({ name: s.field, style: o.style });
    case 'webllm':
      throw new EntrotuneError(`the WebLLM teacher (${s.model}) runs in the browser only`, 'in Node use an OpenAI-compatible server (http://…), own:<model> or column');
  }
}

/** Progress lines on stderr for the pipeline's events (the pipeline and demo commands); `whole` names
 *  what the last ETA covers ("run": this pipeline; the demo's covers every seed). */
export function pipelineProgress(line: (text: string, final?: boolean) => void, whole = 'run'): (e: PipelineEvent) => void {
  return (e) => {
    if (e.phase === 'score') line(`scoring ${e.done}/${e.total}`, e.done === e.total);
    else if (e.phase === 'split') line(`split: easy ${e.report.buckets.easy.count}, medium ${e.report.buckets.medium.count}, hard ${e.report.buckets.hard.count}; ROC AUC ${e.report.auc?.auc.toFixed(3) ?? 'n/a'}`, true);
    else if (e.phase === 'teacher') line(`teacher ${e.done}/${e.total}: ${e.calls} calls, ${e.cached} from the cache; kept ${e.kept}, retried ${e.retried}, fallback ${e.fallback}`, e.done === e.total);
    else if (e.phase === 'train') line(`${e.method}: step ${e.step}/${e.totalSteps} loss ${e.loss.toFixed(4)} | tokens/s: ${e.processedTokensPerSecond.toFixed(0)} processed (prompt + target), ${e.tokensPerSecond.toFixed(0)} trained (target) | GPU ${formatBytes(e.gpuBytes)} | ETA ${e.method} training ${seconds(e.eta)}, whole ${whole} ${estimate(e.etaRun)}`, e.step === e.totalSteps);
    else if (e.phase === 'eval') line(`${e.method}: evaluating ${e.done}/${e.total} (${e.correct} right)${e.etaRun ? ` | ETA whole ${whole} ${estimate(e.etaRun)}` : ''}`, e.done === e.total);
    else if (e.phase === 'method-done') line(`${e.result.method}: ${(100 * e.result.accuracy.p).toFixed(1)}% on held-out questions (train ${e.result.trainSeconds.toFixed(0)} s, eval ${e.result.evalSeconds.toFixed(0)} s)`, true);
    else if (e.phase === 'log') process.stderr.write(`${e.text}\n`);
  };
}

const PIPELINE_ARGS = {
  model: { type: 'string' }, data: { type: 'string' }, teacher: { type: 'string' }, out: { type: 'string' },
  'test-data': { type: 'string' }, 'test-fraction': { type: 'string' }, methods: { type: 'string' }, order: { type: 'string' },
  prompt: { type: 'string' }, quantiles: { type: 'string' }, thresholds: { type: 'string' }, quant: { type: 'string' },
  full: { type: 'boolean' }, r: { type: 'string' }, alpha: { type: 'string' }, lr: { type: 'string' }, epochs: { type: 'string' }, batch: { type: 'string' },
  accum: { type: 'string' }, pack: { type: 'string' }, 'max-steps': { type: 'string' }, 'train-tokens': { type: 'string' }, 'include-prompt': { type: 'boolean' },
  retries: { type: 'string' }, 'teacher-max-tokens': { type: 'string' }, concurrency: { type: 'string' }, 'api-key-env': { type: 'string' },
  'max-new-tokens': { type: 'string' }, 'eval-batch': { type: 'string' }, limit: { type: 'string' }, seed: { type: 'string' }, 'cache-dir': { type: 'string' },
} as const;

/** The pipeline's command line: the raw values and the pipeline options they make (nothing is loaded). */
export function parsePipelineArgs(argv: string[]) {
  const a = parse(argv, PIPELINE_ARGS, PIPELINE_USAGE);
  if (!a.model || !a.data || !a.teacher || !a.out) throw new EntrotuneError('--model, --data, --teacher and --out are required', PIPELINE_USAGE);
  const methods = (a.methods ?? 'pipeline,sft-all,distill-all').split(',').map((m) => m.trim()) as Method[];
  for (const m of methods) if (!METHODS.includes(m)) throw new EntrotuneError(`unknown method "${m}"`, `methods are ${METHODS.join(', ')}`);
  const order = (a.order ?? 'mix') as 'mix' | 'two-phase';
  if (order !== 'mix' && order !== 'two-phase') throw new EntrotuneError(`--order must be mix or two-phase, got "${a.order}"`);
  // Full fine-tuning trains the weights themselves: they must be loaded unquantised.
  if (a.full && a.quant !== undefined && a.quant !== 'none') throw new EntrotuneError(`--full trains every weight, which needs --quant none (got --quant ${a.quant})`, 'leave out --quant or give --quant none');
  const style = promptStyle(a.prompt);
  const options = {
    methods, order, prompt: PROMPTS[style],
    quantiles: pair(a.quantiles, 'quantiles'), thresholds: pair(a.thresholds, 'thresholds'),
    trainConfig: { mode: a.full ? 'full' : 'lora', r: num(a.r, 'r', 8, int), alpha: num(a.alpha, 'alpha', 16), lr: num(a.lr, 'lr', 2e-4, (n) => n > 0) },
    loop: {
      epochs: num(a.epochs, 'epochs', 1, int), batchSize: num(a.batch, 'batch', 4, int), accumulation: num(a.accum, 'accum', 1, int),
      pack: a.pack ? num(a.pack, 'pack', 0, int) : undefined, maxSteps: a['max-steps'] ? num(a['max-steps'], 'max-steps', 0, int) : undefined,
    },
    trainTokens: a['train-tokens'] ? num(a['train-tokens'], 'train-tokens', 0, int) : undefined,
    includePrompt: !!a['include-prompt'],
    // Unset: distill()'s default (no retries for a teacher that gives the same text every time, like a column).
    distill: { retries: a.retries === undefined ? undefined : num(a.retries, 'retries', 0, (n) => Number.isInteger(n) && n >= 0), maxTokens: num(a['teacher-max-tokens'], 'teacher-max-tokens', 512, int) },
    eval: { maxNewTokens: num(a['max-new-tokens'], 'max-new-tokens', 256, int), maxBatch: num(a['eval-batch'], 'eval-batch', 16, int) },
    modelName: a.model, seed: num(a.seed, 'seed', 0, Number.isInteger),
  } satisfies Omit<PipelineOptions, 'train' | 'test' | 'teacher' | 'storage'>;
  return { a: { ...a, model: a.model, data: a.data, teacher: a.teacher, out: a.out }, style, quant: a.full ? 'none' as const : quant(a.quant), options };
}

export async function pipelineCommand(argv: string[]): Promise<void> {
  const { a, style, quant: q, options } = parsePipelineArgs(argv);
  const limit = a.limit ? num(a.limit, 'limit', 0, int) : undefined;

  let train = await readQuestions(a.data, { limit });
  let test: Question[];
  if (a['test-data']) test = await readQuestions(a['test-data']);
  else ({ train, test } = splitTrainTest(train, { testFraction: num(a['test-fraction'], 'test-fraction', 0.2, (n) => n > 0 && n < 1), seed: options.seed }));
  process.stderr.write(`${train.length} training and ${test.length} held-out questions\n`);

  const { nodeDirCache } = await import('../model/node-files');
  const gpu = await cliDevice();
  const line = progressLine();
  const load = (src: string) => loadModel(gpu, src, { quant: q, cache: nodeDirCache(a['cache-dir'] ?? defaultCacheDir()), onProgress: (p) => line(describeLoadProgress(p as never)) });
  const teacher = await makeTeacher(a.teacher, { concurrency: num(a.concurrency, 'concurrency', 4, int), apiKeyEnv: a['api-key-env'] ?? 'OPENAI_API_KEY', style, load });
  const model = await load(a.model);
  line(`${model.name} on ${gpu.adapter.name} (${model.report.quant}); teacher ${teacher.id}`, true);
  const report = await runPipeline(model, { ...options, train, test, teacher, storage: await nodeRunStorage(a.out), onEvent: pipelineProgress(line) });
  console.log(formatPipelineReport(report));
  const outputs = options.trainConfig.mode === 'full' ? 'the trained models (full model folders' : 'the adapters (PEFT';
  console.log(`wrote ${join(a.out, 'report.json')}, report.md, ${outputs}: ${options.methods.map((m) => `${m}/`).join(', ')}) and the routed training sets (<method>.train.jsonl, chat format for TRL)`);
  model.dispose();
  gpu.destroy();
}

export async function evalCommand(argv: string[]): Promise<void> {
  const a = parse(argv, {
    model: { type: 'string' }, adapter: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, prompt: { type: 'string' },
    'max-new-tokens': { type: 'string' }, 'eval-batch': { type: 'string' }, quant: { type: 'string' }, 'cache-dir': { type: 'string' },
  }, EVAL_USAGE);
  if (!a.model || !a.data) throw new EntrotuneError('--model and --data are required', EVAL_USAGE);
  const style = promptStyle(a.prompt);
  const questions = await readQuestions(a.data);
  const { nodeDirCache } = await import('../model/node-files');
  const gpu = await cliDevice();
  const line = progressLine();
  const model = await loadModel(gpu, a.model, { quant: quant(a.quant), adapter: a.adapter ? { kind: 'dir', path: a.adapter } : undefined, cache: nodeDirCache(a['cache-dir'] ?? defaultCacheDir()), onProgress: (p) => line(describeLoadProgress(p as never)) });
  const records = await evaluate(model, questions, {
    prompt: PROMPTS[style], maxNewTokens: num(a['max-new-tokens'], 'max-new-tokens', 256, int), maxBatch: num(a['eval-batch'], 'eval-batch', 16, int),
    store: a.out ? await fileStore<EvalRecord>(join(a.out, 'eval.jsonl')) : undefined,
    onProgress: (p) => line(`evaluating ${p.done}/${p.total} (${p.correct} right)`, p.done === p.total),
  });
  const acc = accuracyOf(records);
  const reasoned = records.filter((r) => r.reasoned).length;
  console.log(`accuracy ${(100 * acc.p).toFixed(1)}% [${(100 * acc.low).toFixed(1)}, ${(100 * acc.high).toFixed(1)}] on ${acc.n} questions (${acc.correct} right); ${reasoned} answers reasoned ([[…]]), ${records.filter((r) => r.pred === null).length} named no option`);
  model.dispose();
  gpu.destroy();
}
