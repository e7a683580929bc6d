// entrotune demo: the paper's experiment in miniature, offline. The synthetic world of src/demo/, the
// committed demo base model (public/demo/model) and a programmatic teacher: score → split → teacher →
// train the pipeline, sft-all and distill-all from the same base on the same token budget → evaluate
// on held-out questions → the table, with the targets checked honestly (met or not). `--seeds 0,1,2`
// repeats it per seed and prints the mean and the range of every method. `--frontier` trains the
// pipeline at the hard fractions 0, 0.1, 0.25, 0.5 and 1 instead (0 is sft-all, 1 distill-all) and
// prints the routing frontier: held-out accuracy against the teacher's target tokens.
// The training and held-out questions are written to the output folder as JSONL in the schema users
// bring (train.jsonl, test.jsonl), so the same run can be repeated with `entrotune pipeline`.

import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EntrotuneError } from '../errors';
import { loadModel } from '../model/load-model';
import type { Model } from '../model/model';
import { runPipeline, type PipelineEvent } from '../pipeline/pipeline';
import { DEFAULT_FRONTIER, frontierMethod, type Method } from '../pipeline/methods';
import { formatPipelineReport, type PipelineReport } from '../pipeline/report';
import { nodeRunStorage } from '../pipeline/storage';
import { BUCKETS } from '../score/report';
import { DEMO_PROMPT } from '../demo/formats';
import { ArithmeticTeacher } from '../demo/teacher';
import { makeSplits, worldToJsonl } from '../demo/world';
import { DEMO_MEASURED_ON, DEMO_MODEL_DIR, DEMO_MODEL_NAME, DEMO_SETTINGS, DEMO_TRAINING, type DemoMode, type DemoSettings, type DemoSize } from '../demo/settings';
import { num, parse, progressLine, cliDevice } from './args';
import { runProgress } from './engine';

export const DEMO_USAGE = `entrotune demo [--quick] [--frontier] [--seeds 0,1,2 | --seed 0] [--lora] [--train-tokens N] [--train N] [--test N]
  [--out runs/demo-<size>[-lora][-frontier]-seed<seed>] [--model ${DEMO_MODEL_DIR}]
  --frontier: the pipeline at the hard fractions ${DEFAULT_FRONTIER.join(', ')} (0 is sft-all, 1 distill-all) instead of the pipeline and its baselines
  --quick: a smoke run of the machinery (${DEMO_SETTINGS.quick.train} + ${DEMO_SETTINGS.quick.test} questions, ${DEMO_SETTINGS.quick.trainTokens} tokens per method): its targets are not expected to be met`;

/** The repository root (dist-node/cli.js or src/cli/demo.ts → two levels up). */
function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of [join(here, '..'), join(here, '../..')]) if (existsSync(join(up, DEMO_MODEL_DIR, 'config.json'))) return up;
  return process.cwd();
}

export interface DemoArgs {
  size: DemoSize;
  mode: DemoMode;
  seeds: number[];
  /** What every seed trains: the pipeline and its baselines, or (--frontier) the frontier's points. */
  methods: Method[];
  /** The size's settings with --train, --test and --train-tokens applied. */
  settings: DemoSettings;
  model?: string;
  /** The output folder of each seed. */
  outs: string[];
}

/** The demo's command line (nothing is loaded). */
export function parseDemoArgs(argv: string[]): DemoArgs {
  const a = parse(argv, {
    quick: { type: 'boolean' }, lora: { type: 'boolean' }, frontier: { type: 'boolean' }, out: { type: 'string' }, seed: { type: 'string' }, seeds: { type: 'string' },
    model: { type: 'string' }, train: { type: 'string' }, test: { type: 'string' }, 'train-tokens': { type: 'string' },
  }, DEMO_USAGE);
  const size: DemoSize = a.quick ? 'quick' : 'full';
  const mode: DemoMode = a.lora ? 'lora' : 'full';
  const d = DEMO_SETTINGS[size];
  const count = (v: string | undefined, what: string, fallback: number) => num(v, what, fallback, (n) => Number.isInteger(n) && n >= 4);
  const settings: DemoSettings = {
    ...d, train: count(a.train, 'train', d.train), test: count(a.test, 'test', d.test),
    trainTokens: num(a['train-tokens'], 'train-tokens', d.trainTokens, (n) => Number.isInteger(n) && n > 0),
  };
  if (a.seed !== undefined && a.seeds !== undefined) throw new EntrotuneError('give --seed or --seeds, not both', DEMO_USAGE);
  const seedList = a.seeds ?? a.seed ?? '0';
  const seeds = seedList.split(',').map((s) => num(s.trim(), 'seeds', 0, (n) => Number.isInteger(n) && n >= 0));
  if (new Set(seeds).size !== seeds.length) throw new EntrotuneError(`--seeds repeats a seed: ${seedList}`);
  const name = `demo-${size}${mode === 'lora' ? '-lora' : ''}${a.frontier ? '-frontier' : ''}`;
  const outs = seeds.map((s) => (a.out ? (seeds.length > 1 ? join(a.out, `seed${s}`) : a.out) : join('runs', `${name}-seed${s}`)));
  const methods: Method[] = a.frontier ? DEFAULT_FRONTIER.map(frontierMethod) : ['pipeline', 'sft-all', 'distill-all'];
  return { size, mode, seeds, methods, settings, model: a.model, outs };
}

/** The targets, each with whether this run met it. */
export function demoTargets(r: PipelineReport): { what: string; value: string; met: boolean }[] {
  const m = new Map(r.methods.map((x) => [x.method, x]));
  const p = m.get('pipeline')!, s = m.get('sft-all')!, d = m.get('distill-all')!;
  const pts = (x: number) => `${(100 * x).toFixed(1)} points`;
  return [
    { what: 'entropy ROC AUC ≥ 0.7 (train)', value: r.scoring.auc ? r.scoring.auc.auc.toFixed(3) : 'n/a', met: (r.scoring.auc?.auc ?? 0) >= 0.7 },
    { what: 'pipeline ≥ sft-all + 10 points', value: pts(p.accuracy.p - s.accuracy.p), met: p.accuracy.p - s.accuracy.p >= 0.1 },
    { what: 'pipeline ≥ distill-all − 2 points', value: pts(p.accuracy.p - d.accuracy.p), met: p.accuracy.p - d.accuracy.p >= -0.02 },
    { what: '≥ 50% fewer target tokens than distill-all', value: `${(100 * (r.tokenSaving ?? 0)).toFixed(1)}%`, met: (r.tokenSaving ?? 0) >= 0.5 },
  ];
}

const targetLine = (met: boolean, what: string, value: string) => `  ${met ? 'met    ' : 'NOT met'}  ${what}: ${value}`;

/** What a smoke run is, said where its numbers are printed. */
const SMOKE = 'a smoke run of the machinery: too few questions and tokens to show the effect, so its targets are not expected to be met; run without --quick for that';

/** Over several seeds: each method's held-out accuracy (overall and per bucket) as mean [min–max],
 *  and each target met or not in every seed. */
export function formatSeedSummary(reports: PipelineReport[], seeds: number[]): string {
  const spread = (xs: number[], f: (x: number) => string) => `${f(xs.reduce((a, b) => a + b, 0) / xs.length)} [${f(Math.min(...xs))}–${f(Math.max(...xs))}]`;
  const pct = (x: number) => (100 * x).toFixed(1);
  const rows = [
    { name: 'base (before training)', accs: reports.map((r) => r.base.accuracy), buckets: reports.map((r) => r.base.buckets) },
    ...reports[0].methods.map((m, i) => ({ name: m.method, accs: reports.map((r) => r.methods[i].accuracy), buckets: reports.map((r) => r.methods[i].buckets) })),
  ];
  const cell = (xs: { p: number; n: number }[]) => (xs.every((x) => x.n) ? spread(xs.map((x) => x.p), pct) : '–');
  const lines = [
    `# ${reports.length} seeds (${seeds.join(', ')}): held-out accuracy in %, mean [min–max]`,
    '',
    '| method | accuracy | easy | medium | hard |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.name} | ${cell(r.accs)} | ${BUCKETS.map((b) => cell(r.buckets.map((x) => x[b]))).join(' | ')} |`),
    '',
    `entropy ROC AUC (train): ${reports.every((r) => r.scoring.auc) ? spread(reports.map((r) => r.scoring.auc!.auc), (x) => x.toFixed(3)) : 'n/a in some seed'}`,
    `target-token saving against distill-all: ${reports.every((r) => r.tokenSaving !== null) ? spread(reports.map((r) => r.tokenSaving!), (x) => `${pct(x)}%`) : 'n/a'}`,
  ];
  if (reports[0].budget) lines.push(`every method of every seed had ${reports[0].budget.trainTokens} tokens (${reports[0].budget.steps} steps)`);
  return lines.join('\n') + '\n';
}

/** The demo's folder holds the settings it was made with: a rerun with the same ones resumes, other ones would mix runs. */
async function claimFolder(out: string, settings: unknown): Promise<void> {
  const file = join(out, 'demo-settings.json');
  const text = JSON.stringify(settings, null, 1) + '\n';
  const old = existsSync(file) ? await readFile(file, 'utf8') : null;
  if (old !== null && old !== text) throw new EntrotuneError(`${out} holds a demo run made with other settings (${file})`, `delete ${out} to start it again, or give --out <another folder>`);
  await mkdir(out, { recursive: true });
  await writeFile(file, text);
}

async function runSeed(model: Model, args: DemoArgs, k: number, onEvent: (e: PipelineEvent) => void): Promise<PipelineReport> {
  const { settings: cfg, mode } = args;
  const seed = args.seeds[k], out = args.outs[k];
  const trainConfig = DEMO_TRAINING[mode];
  // (A run of the default methods keeps the settings file it always had: its folders resume as before.)
  const frontier = args.methods.some((m) => m.startsWith('pipeline@'));
  await claimFolder(out, { model: model.name, seed, mode, trainConfig, ...cfg, ...(frontier ? { methods: args.methods } : {}) });
  const { train, test } = makeSplits({ seed, train: cfg.train, test: cfg.test, mix: cfg.mix });
  await writeFile(join(out, 'train.jsonl'), worldToJsonl(train));
  await writeFile(join(out, 'test.jsonl'), worldToJsonl(test));
  process.stderr.write(`seed ${seed}: ${train.length} training and ${test.length} held-out questions; results in ${out}\n`);
  return runPipeline(model, {
    train, test, teacher: new ArithmeticTeacher(), storage: await nodeRunStorage(out), prompt: DEMO_PROMPT, methods: args.methods,
    trainConfig, loop: cfg.loop, trainTokens: cfg.trainTokens, eval: cfg.eval, modelName: DEMO_MODEL_NAME, seed,
    onEvent,
  });
}

export async function demoCommand(argv: string[]): Promise<void> {
  const args = parseDemoArgs(argv);
  const { size, mode, seeds, settings: cfg } = args;
  const modelDir = args.model ?? join(repoRoot(), DEMO_MODEL_DIR);
  if (!existsSync(join(modelDir, 'config.json'))) throw new EntrotuneError(`no demo model in ${modelDir}`, `run from the repository (${DEMO_MODEL_DIR} is committed), or pass --model <folder>`);
  const t0 = performance.now();
  process.stderr.write(`offline demo (${size}, ${mode === 'full' ? 'full fine-tuning' : 'LoRA'}): ${cfg.train} training and ${cfg.test} held-out questions per seed, ${cfg.trainTokens} training tokens per method, seed${seeds.length > 1 ? 's' : ''} ${seeds.join(', ')}\n`);
  process.stderr.write(`one seed took ${cfg.measured} on ${DEMO_MEASURED_ON}; the progress lines give this run's own time left\n`);
  if (!cfg.showsEffect) process.stderr.write(`--quick is ${SMOKE}\n`);
  const gpu = await cliDevice();
  const model = await loadModel(gpu, { kind: 'dir', path: modelDir }, { quant: 'none' });
  process.stderr.write(`demo model: ${model.report.parameters.toLocaleString('en')} parameters, on ${gpu.adapter.name} (${gpu.kernels} kernel set)\n`);
  const line = progressLine();
  const print = runProgress(line, { whole: seeds.length > 1 ? 'demo (every seed)' : 'demo' });
  const reports: PipelineReport[] = [];
  for (const [k, seed] of seeds.entries()) {
    const tSeed = performance.now();
    // The ETA of the whole demo: this seed's rest, and the seeds after it at this seed's pace.
    const wholeDemo = (e: PipelineEvent): PipelineEvent => {
      if ((e.phase !== 'train' && e.phase !== 'eval') || !e.etaRun) return e;
      const thisSeed = (performance.now() - tSeed) / 1000 + e.etaRun.seconds;
      return { ...e, etaRun: { ...e.etaRun, seconds: e.etaRun.seconds + (seeds.length - 1 - k) * thisSeed } };
    };
    const report = await runSeed(model, args, k, (e) => print(wholeDemo(e)));
    reports.push(report);
    console.log(formatPipelineReport(report, { chart: false }).replace('# entrotune pipeline report', `# offline demo, seed ${seed}`));
    if (report.frontier) {
      // The four targets compare the pipeline with its baselines: a frontier run has the points instead.
      console.log(`the frontier's chart (SVG) is in ${join(args.outs[k], 'report.md')}${cfg.showsEffect ? '' : `; this is ${SMOKE}`}`);
    } else {
      console.log(cfg.showsEffect ? 'targets:' : `targets (${SMOKE}):`);
      for (const t of demoTargets(report)) console.log(targetLine(t.met, t.what, t.value));
    }
    const weights = mode === 'full' ? 'full model folders' : 'PEFT adapters';
    console.log(`\n${weights}: ${report.methods.map((m) => join(args.outs[k], m.adapter)).join(', ')}; report: ${join(args.outs[k], 'report.md')}\n`);
  }
  if (seeds.length > 1) console.log(formatSeedSummary(reports, seeds));
  if (seeds.length > 1 && !reports[0].frontier) {
    console.log(cfg.showsEffect ? 'targets over the seeds (met = met in every seed):' : `targets over the seeds (${SMOKE}):`);
    const per = reports.map(demoTargets);
    per[0].forEach((t, i) => {
      const met = per.filter((ts) => ts[i].met).length;
      console.log(targetLine(met === per.length, t.what, `${met} of ${per.length} seeds (${per.map((ts) => ts[i].value).join('; ')})`));
    });
  }
  console.log(`took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  model.dispose();
  gpu.destroy();
}
