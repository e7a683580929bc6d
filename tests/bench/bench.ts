// `npm run bench`: measured throughput on this machine's adapter. Numbers are printed, never
// asserted (machines are shared and noisy). Every kernel timed here is also checked once against the
// CPU reference on the same inputs, so a fast wrong kernel cannot look good.

import { createDevice, type Gpu } from '../../src/gpu/device';
import { record, releaseDispatch, run, type Dispatch } from '../../src/gpu/dispatch';
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from '../../src/kernels/matmul';
import { firstMismatch } from '../reference/compare';
import * as ref from '../reference/matmul';
import { randomArray } from '../reference/random';
import type { Tensor } from '../../src/gpu/tensor';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromFiles, formatBytes, parseDataset, scoreDataset, type ModelFiles, type Quant } from '../../src/index';
import { inferencePlanTable } from '../../src/cli/plan';
import { syntheticModelFiles } from './synthetic';
import { Trainer } from '../../src/train/trainer';
import { chatExample, trainLoop } from '../../src/train/loop';
import { trainingPlanTable } from '../../src/train/plan';
import { fromHfConfig } from '../../src/model/config';

// dist-node/bench.js runs from the repository's dist-node folder; tests/ is beside it.
const here = join(dirname(fileURLToPath(import.meta.url)), '../tests/bench');

/** Run `d` repeatedly in one submission until `minMs` have passed; returns seconds per run. */
async function timeDispatch(gpu: Gpu, d: Dispatch, minMs = 400): Promise<number> {
  await run(gpu, [d]); // warm-up: pipeline and caches
  let reps = 1;
  for (;;) {
    const encoder = gpu.device.createCommandEncoder();
    record(encoder, new Array(reps).fill(d));
    const t0 = performance.now();
    gpu.device.queue.submit([encoder.finish()]);
    await gpu.device.queue.onSubmittedWorkDone();
    const ms = performance.now() - t0;
    if (ms >= minMs || reps >= 4096) return ms / 1000 / reps;
    reps = Math.min(4096, Math.max(reps * 2, Math.ceil((reps * minMs) / Math.max(ms, 1))));
  }
}

async function benchMatmul(gpu: Gpu, sizes: [number, number, number][]): Promise<void> {
  console.log('\nmatmul (f32, tiled 64×64×16), GFLOP/s = 2·M·N·K / time');
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
      const secs = await timeDispatch(gpu, d);
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

/** Training tokens/s and measured peak GPU bytes, LoRA on the tiny fixture models. */
async function benchTraining(gpu: Gpu): Promise<void> {
  const { nodeDirFiles } = await import('../../src/model/node-files');
  console.log('\nLoRA training (r=8, all 7 projections, batch 4 chat examples, trained tokens = answer + end of turn)');
  console.log('| model | quant | steps | trained tokens/s | all tokens/s | peak GPU bytes |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [name, quant] of [['llama', 'none'], ['qwen3', 'nf4']] as const) {
    gpu.memory.resetPeak();
    const before = gpu.memory.current;
    const model = await loadModelFromFiles(gpu, await nodeDirFiles(join(here, `../fixtures/tiny/${name}`)), name, { quant });
    const trainer = await Trainer.create(model, { lr: 1e-2 });
    const qa = [['What is 2 + 3?', 'B'], ['What is 7 - 4?', 'C'], ['What is 1 + 1?', 'A'], ['What is 9 - 1?', 'D']];
    const ex = qa.map(([q, a]) => chatExample(model.tokenizer!, [{ role: 'user', content: q }, { role: 'assistant', content: a }]));
    await trainLoop(trainer, ex, { maxSteps: 1, epochs: 1, batchSize: 4 }); // warm-up: plans
    const steps = 5;
    const t0 = performance.now();
    let trained = 0;
    await trainLoop(trainer, ex, { epochs: steps, batchSize: 4, onProgress: () => undefined });
    const secs = (performance.now() - t0) / 1000;
    trained = ex.reduce((s, e) => s + e.labels.filter((l) => l !== -100).length - 1, 0) * steps;
    const all = ex.reduce((s, e) => s + e.tokens.length, 0) * steps;
    console.log(`| tiny ${name} fixture | ${quant} | ${steps} | ${(trained / secs).toFixed(1)} | ${(all / secs).toFixed(0)} | ${formatBytes(gpu.memory.peak - before)} |`);
    trainer.dispose();
    model.dispose();
  }
  const dir = join(here, '../fixtures/configs');
  const configs = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => ({ name: f.replace('.json', ''), cfg: fromHfConfig(JSON.parse(readFileSync(join(dir, f), 'utf8'))) }));
  const GiB = 2 ** 30;
  console.log('\nmemory planner, QLoRA training (nf4, r=16, batch×seq 1×1024, recomputation per layer, adapter limits 2 GiB per binding)');
  console.log(trainingPlanTable(configs, { quant: 'nf4', batch: 1, seqLen: 1024, r: 16, limits: { maxStorageBufferBindingSize: 2 * GiB - 4, maxBufferSize: 2 * GiB - 4, minStorageBufferOffsetAlignment: 256 } }));
}

function planTables(): void {
  const dir = join(here, '../fixtures/configs');
  const configs = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => ({ name: f.replace('.json', ''), json: JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown }));
  console.log('\nmemory planner, inference in nf4 from config.json alone (WebGPU default limits: 128 MiB per binding)');
  console.log(inferencePlanTable(configs, 'nf4', 1, 1024, 1024));
}

async function main(): Promise<void> {
  const gpu = await createDevice();
  console.log(`entrotune bench — ${new Date().toISOString()}`);
  console.log(`adapter: ${gpu.describe()}`);
  const full = process.argv.includes('--full') || !gpu.adapter.isSoftware;
  const sizes: [number, number, number][] = full
    ? [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [2048, 2048, 2048], [1024, 4864, 896]]
    : [[64, 64, 64], [128, 128, 128], [256, 256, 256], [128, 576, 576]];
  await benchMatmul(gpu, sizes);
  await benchModels(gpu, full);
  await benchScoring(gpu);
  await benchTraining(gpu);
  planTables();
  gpu.destroy();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
