// `npm run bench`: measured throughput on this machine's adapter. Numbers are printed, never
// asserted (machines are shared and noisy). Every kernel timed here is also checked once against the
// CPU reference on the same inputs, so a fast wrong kernel cannot look good.

import { createDevice, type Gpu } from '../../src/gpu/device';
import { releaseDispatch, type Dispatch } from '../../src/gpu/dispatch';
import { timeRepeated } from './profile';
import { benchTrainingSets, profileStep, profileTable, trainingTable, type TrainingCase, type TrainingFigure } from './training';
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from '../../src/kernels/matmul';
import { firstMismatch } from '../reference/compare';
import * as ref from '../reference/matmul';
import { randomArray } from '../reference/random';
import type { Tensor } from '../../src/gpu/tensor';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromFiles, formatBytes, parseDataset, scoreDataset, type ModelFiles, type Quant } from '../../src/index';
import { inferencePlanTable } from '../../src/cli/plan';
import { syntheticModelFiles } from './synthetic';
import { trainingPlanTable } from '../../src/train/plan';
import { fromHfConfig } from '../../src/model/config';
import { measurePeak, type Peak } from './peak';
import { PUBLISHED_SIZES, profilePublished, rooflineTable, stepJson } from './roofline';
import { torchCompare, torchMissing, torchStep, type TorchFigure } from './torch-ref';

// dist-node/bench.js runs from the repository's dist-node folder; tests/ is beside it.
const here = join(dirname(fileURLToPath(import.meta.url)), '../tests/bench');

async function benchMatmul(gpu: Gpu, sizes: [number, number, number][]): Promise<void> {
  console.log(`\nmatmul (f32, ${gpu.kernels === 'software' ? 'software set: 4×4 block per invocation, no barriers' : 'GPU set: tiled 64×64×16'}), GFLOP/s = 2·M·N·K / time`);
  console.log('    M      N      K    forward  bwd-input  bwd-weight');
  for (const [M, N, K] of sizes) {
    const X = randomArray(M * K, 1), W = randomArray(N * K, 2), dY = randomArray(M * N, 3);
    const t = {
      X: gpu.tensor('X', [M, K]), W: gpu.tensor('W', [N, K]), dY: gpu.tensor('dY', [M, N]),
      Y: gpu.tensor('Y', [M, N]), dX: gpu.tensor('dX', [M, K]), dW: gpu.tensor('dW', [N, K]),
    };
    gpu.write(t.X, X);
    gpu.write(t.W, W);
    gpu.write(t.dY, dY);
    const cases: [Dispatch, Tensor, () => Float64Array][] = [
      [await matmulForward(gpu, t.Y, t.X, t.W, M, N, K), t.Y, () => ref.matmulForward(X, W, M, N, K)],
      [await matmulBackwardInput(gpu, t.dX, t.dY, t.W, M, N, K), t.dX, () => ref.matmulBackwardInput(dY, W, M, N, K)],
      [await matmulBackwardWeight(gpu, t.dW, t.dY, t.X, M, N, K), t.dW, () => ref.matmulBackwardWeight(dY, X, M, N, K)],
    ];
    const rates: string[] = [];
    for (const [d, out, want] of cases) {
      const secs = await timeRepeated(gpu, d, 400);
      rates.push(((2 * M * N * K) / secs / 1e9).toFixed(2).padStart(10));
      // Every layout writes with `=`, so the timed repetitions leave the plain product behind.
      if (M * N * K <= 2 ** 27) {
        const bad = firstMismatch(await gpu.read(out), want(), 1e-4, 1e-4);
        if (bad) throw new Error(`${d.label} at ${M}×${N}×${K} is wrong: ${JSON.stringify(bad)}`);
      }
      releaseDispatch(gpu, d);
    }
    console.log(`${String(M).padStart(5)}  ${String(N).padStart(5)}  ${String(K).padStart(5)} ${rates.join(' ')}`);
    for (const x of Object.values(t)) gpu.destroyBuffer(x.buffer);
  }
}

/** Prefill and decode tokens/s and GPU bytes of a model (synthetic weights of a published shape, or a fixture). */
async function benchModel(gpu: Gpu, name: string, files: ModelFiles, quant: Quant, T: number, decodeTokens: number): Promise<string> {
  process.stderr.write(`  ${name}: loading…\n`);
  const t0 = performance.now();
  gpu.memory.resetPeak();
  const before = gpu.memory.current;
  const model = await loadModelFromFiles(gpu, files, name, { quant, contextLength: T + decodeTokens + 1 });
  const loadS = (performance.now() - t0) / 1000;
  const weights = gpu.memory.current - before;
  process.stderr.write(`  ${name}: loaded in ${loadS.toFixed(1)} s, running…\n`);
  const ids = Array.from({ length: T }, (_, i) => (i * 7919) % model.cfg.V);
  await model.logits([ids], [[0, T - 1]]); // warm-up: builds the plan
  const reps = 3;
  const t1 = performance.now();
  for (let i = 0; i < reps; i++) await model.logits([ids], [[0, T - 1]]);
  const prefill = (reps * T) / ((performance.now() - t1) / 1000);
  const gen = await model.generate(ids.slice(0, 8), { maxNewTokens: decodeTokens, stopTokens: [] });
  const decode = gen.ids.length / gen.decodeSeconds;
  const peak = gpu.memory.peak - before;
  model.dispose();
  return `| ${name} | ${quant} | ${model.report.bytesPerParameter.toFixed(3)} | ${loadS.toFixed(1)} s | ${formatBytes(weights)} | ${formatBytes(peak)} | ${prefill.toFixed(1)} | ${decode.toFixed(1)} |`;
}

async function benchModels(gpu: Gpu, full: boolean): Promise<void> {
  console.log(`\nmodel forward (prefill T=${full ? 512 : 32}, B=1, logits at the last position; greedy decode with the KV cache)`);
  console.log('| model | quant | B/param | load | weights | peak GPU bytes | prefill tok/s | decode tok/s |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const tiny = join(here, '../fixtures/tiny/llama');
  const { nodeDirFiles } = await import('../../src/model/node-files');
  console.log(await benchModel(gpu, 'tiny llama fixture', await nodeDirFiles(tiny), 'none', 32, 16));
  // A software adapter (~0.2 GFLOP/s) would need minutes per token of a 135M model: only --full.
  const configs = full ? ['SmolLM2-135M-Instruct', 'Qwen2.5-0.5B-Instruct', 'Llama-3.2-1B-Instruct'] : [];
  for (const c of configs) {
    const json = JSON.parse(readFileSync(join(here, `../fixtures/configs/${c}.json`), 'utf8'));
    console.log(await benchModel(gpu, `${c} (synthetic weights)`, syntheticModelFiles(json), 'nf4', full ? 512 : 16, full ? 64 : 4));
  }
}

/** Questions/s of entropy scoring (prompt prefill + GPU entropy reduction) on a fixture model. */
async function benchScoring(gpu: Gpu): Promise<void> {
  const { nodeDirFiles } = await import('../../src/model/node-files');
  const model = await loadModelFromFiles(gpu, await nodeDirFiles(join(here, '../fixtures/tiny/llama')), 'tiny llama fixture', { quant: 'none' });
  const { questions } = parseDataset(readFileSync(join(here, '../fixtures/data/arith-sample.jsonl'), 'utf8'), 'arith-sample.jsonl');
  await scoreDataset(model, questions.slice(0, 8), { batchSize: 8 }); // warm-up: plans
  const t0 = performance.now();
  const records = await scoreDataset(model, questions, { batchSize: 8 });
  const secs = (performance.now() - t0) / 1000;
  const tokens = records.reduce((s, r) => s + r.promptTokens, 0);
  console.log(`\nentropy scoring, tiny llama fixture, ${questions.length} questions of the sample dataset, batch 8: ${(questions.length / secs).toFixed(2)} questions/s (${(tokens / secs).toFixed(0)} prompt tokens/s)`);
  model.dispose();
}

/** Training tokens/s under both kernel sets (demo model and tiny fixtures), the per-kernel profile of
 *  a demo-model step under this device's set, and the training memory planner. */
async function benchTraining(gpu: Gpu, json: BenchJson): Promise<void> {
  const { nodeDirFiles } = await import('../../src/model/node-files');
  const demo = () => nodeDirFiles(join(here, '../../public/demo/model'));
  const fixture = (name: string) => () => nodeDirFiles(join(here, `../fixtures/tiny/${name}`));
  const cases: TrainingCase[] = [
    { model: 'demo model', files: demo, quant: 'none', mode: 'full', r: 0, B: 16, T: 64 },
    { model: 'demo model', files: demo, quant: 'none', mode: 'lora', r: 4, B: 16, T: 64 },
    // What keeping every layer's activations (recompute 'auto' on a tiny model) saves:
    { model: 'demo model', files: demo, quant: 'none', mode: 'full', r: 0, B: 16, T: 64, recompute: 'always', sets: [gpu.kernels] },
    { model: 'demo model', files: demo, quant: 'none', mode: 'lora', r: 4, B: 16, T: 64, recompute: 'always', sets: [gpu.kernels] },
    { model: 'tiny llama fixture', files: fixture('llama'), quant: 'none', mode: 'lora', r: 8, B: 4, T: 32 },
    { model: 'tiny qwen3 fixture', files: fixture('qwen3'), quant: 'nf4', mode: 'lora', r: 8, B: 4, T: 32 },
  ];
  console.log('\ntraining steps under both kernel sets (same process, interleaved; tokens/s counts every token of the batch, trained = the half with a loss)');
  json.training = await benchTrainingSets(cases, 3);
  console.log(trainingTable(json.training));
  for (const c of cases.slice(0, 2)) {
    const p = await profileStep(gpu, c);
    console.log(`\nprofile of one ${c.model} ${c.mode === 'full' ? 'full fine-tuning' : `LoRA r=${c.r}`} step (${c.B}×${c.T}), ${gpu.kernels} kernels, ${p.launches} launches, ${p.source}`);
    console.log(profileTable(p.profile));
    json.profile.push(...p.profile.map((k) => ({ model: c.model, mode: c.mode, kernel: k.kernel, share: k.share, launches: k.launches, seconds: k.seconds, flops: k.flops, bytes: k.bytes })));
  }
  const dir = join(here, '../fixtures/configs');
  const configs = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => ({ name: f.replace('.json', ''), cfg: fromHfConfig(JSON.parse(readFileSync(join(dir, f), 'utf8'))) }));
  const GiB = 2 ** 30;
  console.log('\nmemory planner, QLoRA training (nf4, r=16, batch×seq 1×1024, recomputation per layer, adapter limits 2 GiB per binding)');
  console.log(trainingPlanTable(configs, { quant: 'nf4', batch: 1, seqLen: 1024, r: 16, limits: { maxStorageBufferBindingSize: 2 * GiB - 4, maxBufferSize: 2 * GiB - 4, minStorageBufferOffsetAlignment: 256 } }));
}

/** A size's name: the config's file name in tests/fixtures/configs, or the path given. */
const sizeName = (path: string) => (path.endsWith('/config.json') ? path : basename(path, '.json'));

/** The adapter's ceilings, then a QLoRA step (r = 8) of each published size, per kernel against them;
 *  with `torch`, a plain PyTorch LoRA step of the same shape after each (tests/bench/torch-ref.ts). */
async function benchSteps(gpu: Gpu, json: BenchJson, sizes: string[], B: number, T: number, torch: boolean): Promise<void> {
  console.log(`\nQLoRA steps of published sizes with synthetic NF4 weights, r=8, batch×seq ${B}×${T}: ${sizes.map(sizeName).join(', ')} ` +
    `(choose with --sizes NAME,… or all, and --shape BxT)${gpu.adapter.isSoftware ? '; on a software adapter a step of a 100M-parameter model takes about a minute' : ''}`);
  const peak = await measurePeak(gpu);
  json.peak = peak;
  const noTorch = torch ? torchMissing() : null;
  if (noTorch) console.log(`--torch: no PyTorch comparison in this run: ${noTorch} (the bench carries on without it)`);
  console.log(`the adapter's measured ceilings (shaders/peak.wgsl, ${peak.source}, each result checked on the CPU): ` +
    `f32 FMA ${peak.gflops.toFixed(2)} GFLOP/s (${peak.fma.invocations} invocations × ${peak.fma.iters * 64} FMAs), ` +
    `copy ${peak.gbps.toFixed(2)} GB/s (${(peak.copy.bytes / 2 ** 20).toFixed(0)} MiB moved)`);
  for (const path of sizes) {
    const name = sizeName(path);
    const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const s = await profilePublished(gpu, name, config, B, T, 8);
    console.log(`\nQLoRA step, ${name} (synthetic NF4 weights), batch×seq ${s.batch}, r=${s.r}, ${s.kernels} kernels, ${s.launches} launches, ${s.source}, ` +
      `load average ${loadavg()[0].toFixed(2)}: ${s.msPerStep.toFixed(0)} ms/step, ${s.tokensPerSecond.toFixed(1)} tokens/s (loaded in ${s.loadSeconds.toFixed(1)} s)`);
    console.log(rooflineTable(s.profile, peak));
    const step: BenchJson['steps'][number] = stepJson(s, peak);
    if (torch && noTorch) step.torch = { skipped: noTorch };
    else if (torch) {
      process.stderr.write(`  ${name}: the same step in PyTorch…\n`);
      const { line, figure } = torchCompare(s.tokensPerSecond, torchStep(join(here, 'torch-lora-step.py'), path, B, T));
      console.log(line);
      step.torch = figure;
    }
    json.steps.push(step);
  }
}

/** What `--json FILE` writes: the figures of this run, comparable across runs and machines. */
interface BenchJson {
  adapter: string;
  kernels: string;
  date: string;
  loadAverage: number[];
  training: TrainingFigure[];
  profile: { model: string; mode: string; kernel: string; share: number; launches: number; seconds: number; flops: number; bytes: number }[];
  peak?: Peak;
  /** With --torch, each step's PyTorch reference of the same shape and entrotune/torch tokens/s. */
  steps: (ReturnType<typeof stepJson> & { torch?: TorchFigure })[];
}

const SECTIONS = ['matmul', 'models', 'scoring', 'training', 'steps', 'planner'] as const;

/** The value after `flag`, if the flag is given. */
function flagValue(args: string[], flag: string): string | null {
  const at = args.indexOf(flag);
  if (at < 0) return null;
  const v = args[at + 1];
  if (!v || v.startsWith('--')) throw new Error(`${flag} needs a value`);
  return v;
}

/** --sizes: prefixes of the config names in tests/fixtures/configs (case-insensitive), paths to any
 *  config.json, or `all` (the three published sizes). Returns config.json paths. */
function pickSizes(arg: string | null, all: boolean): string[] {
  const dir = join(here, '../fixtures/configs');
  const names = !arg ? (all ? PUBLISHED_SIZES : PUBLISHED_SIZES.slice(0, 1)) : arg === 'all' ? PUBLISHED_SIZES : arg.split(',');
  const known = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.replace('.json', ''));
  return names.map((want) => {
    if (want.endsWith('.json')) return want;
    const hit = known.find((n) => n.toLowerCase().startsWith(want.toLowerCase()));
    if (!hit) throw new Error(`--sizes: no config named ${want}… in tests/fixtures/configs (there are ${known.join(', ')}), and not a path to a .json`);
    return join(dir, `${hit}.json`);
  });
}

function planTables(): void {
  const dir = join(here, '../fixtures/configs');
  const configs = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => ({ name: f.replace('.json', ''), json: JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown }));
  console.log('\nmemory planner, inference in nf4 from config.json alone (WebGPU default limits: 128 MiB per binding)');
  console.log(inferencePlanTable(configs, 'nf4', 1, 1024, 1024));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const jsonFile = flagValue(args, '--json');
  const only = flagValue(args, '--only')?.split(',') ?? [...SECTIONS];
  for (const o of only) if (!(SECTIONS as readonly string[]).includes(o)) throw new Error(`--only: no section ${o} (there are ${SECTIONS.join(', ')})`);
  const want = (section: (typeof SECTIONS)[number]) => only.includes(section);
  const shape = flagValue(args, '--shape');
  if (shape && !/^\d+x\d+$/.test(shape)) throw new Error(`--shape wants BxT, e.g. 1x64, got ${shape}`);
  const gpu = await createDevice();
  const json: BenchJson = { adapter: gpu.adapter.name, kernels: gpu.kernels, date: new Date().toISOString(), loadAverage: loadavg(), training: [], profile: [], steps: [] };
  console.log(`entrotune bench — ${json.date}, load average ${json.loadAverage.map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`adapter: ${gpu.describe()}`);
  const full = process.argv.includes('--full') || !gpu.adapter.isSoftware;
  // The published-size step: 4×512 (the issue's shape) on a GPU; 1×64 and the smallest size on a software adapter.
  const [B, T] = (shape ?? (full ? '4x512' : '1x64')).split('x').map(Number);
  const sizes = pickSizes(flagValue(args, '--sizes'), full);
  const matmulSizes: [number, number, number][] = full
    ? [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [2048, 2048, 2048], [1024, 4864, 896]]
    : [[64, 64, 64], [128, 128, 128], [256, 256, 256], [128, 576, 576]];
  if (want('matmul')) {
    for (const k of ['software', 'gpu'] as const) {
      const g = k === gpu.kernels ? gpu : await createDevice({ kernels: k });
      await benchMatmul(g, matmulSizes);
      if (g !== gpu) g.destroy();
    }
  }
  if (want('models')) await benchModels(gpu, full);
  if (want('scoring')) await benchScoring(gpu);
  if (want('training')) await benchTraining(gpu, json);
  const torch = args.includes('--torch');
  if (torch && !want('steps')) console.log('--torch compares the steps section only, which --only leaves out here');
  if (want('steps')) await benchSteps(gpu, json, sizes, B, T, torch);
  if (want('planner')) planTables();
  gpu.destroy();
  if (jsonFile) {
    writeFileSync(jsonFile, JSON.stringify(json, null, 1) + '\n');
    console.log(`\nfigures written to ${jsonFile}`);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
