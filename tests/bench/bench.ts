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
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromFiles, formatBytes, parseDataset, scoreDataset, type ModelFiles, type Quant } from '../../src/index';
import { inferencePlanTable } from '../../src/cli/plan';
import { syntheticModelFiles } from './synthetic';
import { trainingPlanTable } from '../../src/train/plan';
import { fromHfConfig } from '../../src/model/config';

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
    json.profile.push(...p.profile.map((k) => ({ model: c.model, mode: c.mode, kernel: k.kernel, share: k.share, launches: k.launches })));
  }
  const dir = join(here, '../fixtures/configs');
  const configs = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => ({ name: f.replace('.json', ''), cfg: fromHfConfig(JSON.parse(readFileSync(join(dir, f), 'utf8'))) }));
  const GiB = 2 ** 30;
  console.log('\nmemory planner, QLoRA training (nf4, r=16, batch×seq 1×1024, recomputation per layer, adapter limits 2 GiB per binding)');
  console.log(trainingPlanTable(configs, { quant: 'nf4', batch: 1, seqLen: 1024, r: 16, limits: { maxStorageBufferBindingSize: 2 * GiB - 4, maxBufferSize: 2 * GiB - 4, minStorageBufferOffsetAlignment: 256 } }));
}

/** What `--json FILE` writes: the figures of this run, comparable across runs and machines. */
interface BenchJson {
  adapter: string;
  kernels: string;
  date: string;
  loadAverage: number[];
  training: TrainingFigure[];
  profile: { model: string; mode: string; kernel: string; share: number; launches: number }[];
}

function planTables(): void {
  const dir = join(here, '../fixtures/configs');
  const configs = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => ({ name: f.replace('.json', ''), json: JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown }));
  console.log('\nmemory planner, inference in nf4 from config.json alone (WebGPU default limits: 128 MiB per binding)');
  console.log(inferencePlanTable(configs, 'nf4', 1, 1024, 1024));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const jsonAt = args.indexOf('--json');
  const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : null;
  if (jsonAt >= 0 && !jsonFile) throw new Error('--json needs a file name');
  const gpu = await createDevice();
  const json: BenchJson = { adapter: gpu.adapter.name, kernels: gpu.kernels, date: new Date().toISOString(), loadAverage: loadavg(), training: [], profile: [] };
  console.log(`entrotune bench — ${json.date}, load average ${json.loadAverage.map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`adapter: ${gpu.describe()}`);
  const full = process.argv.includes('--full') || !gpu.adapter.isSoftware;
  const sizes: [number, number, number][] = full
    ? [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [2048, 2048, 2048], [1024, 4864, 896]]
    : [[64, 64, 64], [128, 128, 128], [256, 256, 256], [128, 576, 576]];
  for (const k of ['software', 'gpu'] as const) {
    const g = k === gpu.kernels ? gpu : await createDevice({ kernels: k });
    await benchMatmul(g, sizes);
    if (g !== gpu) g.destroy();
  }
  await benchModels(gpu, full);
  await benchScoring(gpu);
  await benchTraining(gpu, json);
  planTables();
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
