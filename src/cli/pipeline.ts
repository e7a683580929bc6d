// entrotune pipeline: score → split → teacher → train the pipeline and its baselines → evaluate →
// report, all kept in --out (run it again to resume; no teacher call is ever repeated). It drives the
// engine the page's worker runs (src/cli/engine.ts), with --out as the run's folder.
// entrotune eval: the held-out accuracy of a model (with an adapter) by greedy decoding.

import { basename, join } from 'node:path';
import { splitTrainTest, type Question } from '../data/dataset';
import { PROMPTS } from '../data/prompts';
import { pipelineOptions } from '../engine/local-engine';
import type { RunSettings, TeacherSettings } from '../engine/protocol';
import { EntrotuneError } from '../errors';
import { loadModel } from '../model/load-model';
import { quantName, type Quant } from '../model/quant';
import { evaluate, type EvalRecord } from '../pipeline/eval';
import { accuracyOf, formatPipelineReport } from '../pipeline/report';
import { checkMethods, parseFrontier } from '../pipeline/methods';
import { checkSignal, SIGNALS } from '../score/signals';
import { fileStore } from '../score/store';
import { RUN_DEFAULTS as D } from '../settings/defaults';
import { parseTeacherSpec } from '../teacher/http';
import { cliDevice, describeLoadProgress, num, parse, progressLine, promptStyle, quant, readQuestions } from './args';
import { cliEngine, recordedSource, runProgress } from './engine';
import { defaultCacheDir } from './generate';
import { pair } from './score';

export const PIPELINE_USAGE = `entrotune pipeline --model <folder|URL|repo> --data <file> --teacher <http://host:port/v1#model | own:<model> | column> --out <dir>
  [--test-data <file> | --test-fraction ${D.testFraction}] [--methods ${D.methods.join(',')}[,reverse][,pipeline@f]] [--frontier 0,0.1,0.25,0.5,1] [--order mix|two-phase]
  [--prompt letters|numbers] [--signal ${SIGNALS.join('|')}] [--quantiles ${D.quantiles.join(',')} | --thresholds a,b] [--teacher-budget N] [--quant nf4|int8|none]
  [--full] [--r ${D.train.r}] [--alpha ${D.train.alpha}] [--lr ${D.train.lr}] [--epochs ${D.loop.epochs}] [--batch ${D.loop.batchSize}] [--accum ${D.loop.accumulation}] [--checkpoint-every ${D.loop.checkpointEvery}]
  [--pack N] [--max-steps N] [--train-tokens N] [--include-prompt]
  [--retries ${D.distill.retries}] [--teacher-max-tokens ${D.distill.maxTokens}] [--concurrency ${D.distill.concurrency}] [--api-key-env OPENAI_API_KEY]
  [--max-new-tokens ${D.eval.maxNewTokens}] [--eval-batch ${D.eval.maxBatch}] [--limit N] [--seed ${D.seed}]`;

export const EVAL_USAGE = `entrotune eval --model <folder|URL|repo> [--adapter <dir>] --data <test file> [--out <dir>]
  [--prompt letters|numbers] [--max-new-tokens ${D.eval.maxNewTokens}] [--eval-batch ${D.eval.maxBatch}] [--quant nf4|int8|none]`;

const int = (n: number) => Number.isInteger(n) && n > 0;

const PIPELINE_ARGS = {
  model: { type: 'string' }, data: { type: 'string' }, teacher: { type: 'string' }, out: { type: 'string' },
  'test-data': { type: 'string' }, 'test-fraction': { type: 'string' }, methods: { type: 'string' }, frontier: { type: 'string' }, order: { type: 'string' },
  prompt: { type: 'string' }, signal: { type: 'string' }, quantiles: { type: 'string' }, thresholds: { type: 'string' }, 'teacher-budget': { type: 'string' }, quant: { type: 'string' },
  full: { type: 'boolean' }, r: { type: 'string' }, alpha: { type: 'string' }, lr: { type: 'string' }, epochs: { type: 'string' }, batch: { type: 'string' },
  accum: { type: 'string' }, 'checkpoint-every': { type: 'string' }, pack: { type: 'string' }, 'max-steps': { type: 'string' }, 'train-tokens': { type: 'string' }, 'include-prompt': { type: 'boolean' },
  retries: { type: 'string' }, 'teacher-max-tokens': { type: 'string' }, concurrency: { type: 'string' }, 'api-key-env': { type: 'string' },
  'max-new-tokens': { type: 'string' }, 'eval-batch': { type: 'string' }, limit: { type: 'string' }, seed: { type: 'string' }, 'cache-dir': { type: 'string' },
} as const;

/** --teacher as the engine's teacher settings; the key is read from the environment, used for this run only. */
function teacherSettings(spec: string, o: { concurrency?: string; apiKeyEnv?: string; quant?: Quant }): TeacherSettings {
  const t = parseTeacherSpec(spec);
  switch (t.kind) {
    case 'http':
      return { kind: 'http', url: t.url, model: t.model, apiKey: process.env[o.apiKeyEnv ?? 'OPENAI_API_KEY'] || undefined, concurrency: num(o.concurrency, 'concurrency', D.distill.concurrency, int) };
    case 'own':
      return { kind: 'own', source: t.source, quant: o.quant };
    case 'column':
      return { kind: 'column', field: t.field };
    case 'webllm':
      throw new EntrotuneError(`the WebLLM teacher (${t.model}) runs in the browser only`, 'in Node use an OpenAI-compatible server (http://…), own:<model> or column');
  }
}

/** The pipeline's command line: the raw values, the run's settings they make (all but its id, model
 *  and data) and what the engine hands the pipeline for them (nothing is loaded). */
export function parsePipelineArgs(argv: string[]) {
  const a = parse(argv, PIPELINE_ARGS, PIPELINE_USAGE);
  if (!a.model || !a.data || !a.teacher || !a.out) throw new EntrotuneError('--model, --data, --teacher and --out are required', PIPELINE_USAGE);
  // --frontier trains the pipeline at each fraction; alone it replaces the default methods (its ends
  // are sft-all's and distill-all's routing), beside --methods it adds to them.
  const frontier = a.frontier === undefined ? [] : parseFrontier(a.frontier);
  const methods = checkMethods([...(a.methods === undefined ? (frontier.length ? [] : D.methods) : a.methods.split(',').map((m) => m.trim())), ...frontier]);
  const order = (a.order ?? D.order) as 'mix' | 'two-phase';
  if (order !== 'mix' && order !== 'two-phase') throw new EntrotuneError(`--order must be mix or two-phase, got "${a.order}"`);
  // Full fine-tuning trains the weights themselves: they must be loaded unquantised.
  if (a.full && a.quant !== undefined && a.quant !== 'none') throw new EntrotuneError(`--full trains every weight, which needs --quant none (got --quant ${a.quant})`, 'leave out --quant or give --quant none');
  const q = a.full ? 'none' as const : quant(a.quant);
  const settings = {
    prompt: PROMPTS[promptStyle(a.prompt)],
    teacher: teacherSettings(a.teacher, { concurrency: a.concurrency, apiKeyEnv: a['api-key-env'], quant: q }),
    methods, order, signal: checkSignal(a.signal ?? D.signal),
    quantiles: pair(a.quantiles, 'quantiles') ?? [...D.quantiles], thresholds: pair(a.thresholds, 'thresholds'),
    teacherBudget: a['teacher-budget'] === undefined ? undefined : num(a['teacher-budget'], 'teacher-budget', 0, (n) => Number.isInteger(n) && n >= 0),
    train: { ...D.train, mode: a.full ? 'full' : 'lora', r: num(a.r, 'r', D.train.r, int), alpha: num(a.alpha, 'alpha', D.train.alpha), lr: num(a.lr, 'lr', D.train.lr, (n) => n > 0) },
    loop: {
      epochs: num(a.epochs, 'epochs', D.loop.epochs, int), batchSize: num(a.batch, 'batch', D.loop.batchSize, int), accumulation: num(a.accum, 'accum', D.loop.accumulation, int),
      checkpointEvery: num(a['checkpoint-every'], 'checkpoint-every', D.loop.checkpointEvery, int),
      pack: a.pack ? num(a.pack, 'pack', 0, int) : undefined, maxSteps: a['max-steps'] ? num(a['max-steps'], 'max-steps', 0, int) : undefined,
      trainTokens: a['train-tokens'] ? num(a['train-tokens'], 'train-tokens', 0, int) : undefined,
    },
    includePrompt: !!a['include-prompt'],
    distill: { retries: num(a.retries, 'retries', D.distill.retries, (n) => Number.isInteger(n) && n >= 0), maxTokens: num(a['teacher-max-tokens'], 'teacher-max-tokens', D.distill.maxTokens, int) },
    eval: { maxNewTokens: num(a['max-new-tokens'], 'max-new-tokens', D.eval.maxNewTokens, int), maxBatch: num(a['eval-batch'], 'eval-batch', D.eval.maxBatch, int) },
    scoreBatch: D.scoreBatch,
    seed: num(a.seed, 'seed', D.seed, Number.isInteger),
  } satisfies Omit<RunSettings, 'id' | 'model' | 'data'>;
  return { a: { ...a, model: a.model, data: a.data, teacher: a.teacher, out: a.out }, quant: q, settings, options: pipelineOptions(settings, a.model) };
}

export async function pipelineCommand(argv: string[]): Promise<void> {
  const { a, quant: q, settings } = parsePipelineArgs(argv);
  const limit = a.limit ? num(a.limit, 'limit', 0, int) : undefined;
  const testFraction = num(a['test-fraction'], 'test-fraction', D.testFraction, (n) => n > 0 && n < 1);

  const data = await readQuestions(a.data, { limit });
  let train = data.questions;
  let test: Question[];
  if (a['test-data']) test = (await readQuestions(a['test-data'])).questions;
  else ({ train, test } = splitTrainTest(train, { testFraction, seed: settings.seed }));
  process.stderr.write(`${train.length} training and ${test.length} held-out questions\n`);

  const { engine, id, close } = await cliEngine({ out: a.out, cacheDir: a['cache-dir'] });
  try {
    const line = progressLine();
    const info = await engine.loadModel(a.model, { quant: q }, (p) => line(describeLoadProgress(p)));
    line(`${info.name} on ${(await engine.device()).adapter} (weights in ${quantName(info.report.quant)}); teacher ${a.teacher}`, true);
    const run: RunSettings = { ...settings, id, model: { name: a.model, source: recordedSource(a.model), quant: q }, data: { name: basename(a.data), testFraction, invalid: data.invalid } };
    const result = await engine.runPipeline(run, { train, test }, runProgress(line, { scores: join(a.out, 'scores.jsonl') }));
    if (result.status !== 'done') throw new EntrotuneError(result.text, 'run the same command again to resume');
    console.log(formatPipelineReport(result.report, { chart: false }));
    const outputs = settings.train.mode === 'full' ? 'the trained models (full model folders' : 'the adapters (PEFT';
    console.log(`wrote ${join(a.out, 'report.json')}, report.md, ${outputs}: ${settings.methods.map((m) => `${m}/`).join(', ')}) and the routed training sets (<method>.train.jsonl, chat format for TRL)`);
  } finally {
    await close();
  }
}

export async function evalCommand(argv: string[]): Promise<void> {
  const a = parse(argv, {
    model: { type: 'string' }, adapter: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, prompt: { type: 'string' },
    'max-new-tokens': { type: 'string' }, 'eval-batch': { type: 'string' }, quant: { type: 'string' }, 'cache-dir': { type: 'string' },
  }, EVAL_USAGE);
  if (!a.model || !a.data) throw new EntrotuneError('--model and --data are required', EVAL_USAGE);
  const style = promptStyle(a.prompt);
  const { questions } = await readQuestions(a.data);
  const { nodeDirCache } = await import('../model/node-files');
  const gpu = await cliDevice();
  const line = progressLine();
  const model = await loadModel(gpu, a.model, { quant: quant(a.quant), adapter: a.adapter ? { kind: 'dir', path: a.adapter } : undefined, cache: nodeDirCache(a['cache-dir'] ?? defaultCacheDir()), onProgress: (p) => line(describeLoadProgress(p)) });
  const records = await evaluate(model, questions, {
    prompt: PROMPTS[style], maxNewTokens: num(a['max-new-tokens'], 'max-new-tokens', D.eval.maxNewTokens, int), maxBatch: num(a['eval-batch'], 'eval-batch', D.eval.maxBatch, int),
    store: a.out ? await fileStore<EvalRecord>(join(a.out, 'eval.jsonl')) : undefined,
    onProgress: (p) => line(`evaluating ${p.done}/${p.total} answered, ${p.tokens} tokens written (${p.correct} right so far)`, p.done === p.total),
  });
  const acc = accuracyOf(records);
  const count = (f: (r: EvalRecord) => boolean) => records.filter(f).length;
  console.log(`accuracy ${(100 * acc.p).toFixed(1)}% [${(100 * acc.low).toFixed(1)}, ${(100 * acc.high).toFixed(1)}] on ${acc.n} questions (${acc.correct} right); ${count((r) => r.reasoned)} answers reasoned (text, then a final [[X]]), ${count((r) => r.malformed)} malformed, ${count((r) => r.pred === null)} named no option`);
  model.dispose();
  gpu.destroy();
}
