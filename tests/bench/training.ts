// Training-step speed under both kernel sets in one run (so the ratio is measured on the same machine
// at the same moment), and the per-kernel profile of one step.

import { createDevice, type Gpu, type KernelSet } from '../../src/gpu/device';
import { loadModelFromFiles, type ModelFiles, type Quant } from '../../src/index';
import { Trainer, type TrainBatch } from '../../src/train/trainer';
import { byKernel, timeEach, type KernelShare } from './profile';

export interface TrainingCase {
  model: string;
  files: () => Promise<ModelFiles>;
  quant: Quant;
  mode: 'full' | 'lora';
  /** LoRA rank (ignored for full fine-tuning). */
  r: number;
  B: number;
  T: number;
  /** Default 'auto' (tiny models keep every layer's activations). */
  recompute?: 'auto' | 'always' | 'never';
  /** Kernel sets to time (default both). */
  sets?: KernelSet[];
}

export interface TrainingFigure {
  model: string;
  kernels: KernelSet;
  mode: string;
  quant: Quant;
  batch: string;
  /** Every token of the batch (prompt + target) per second of optimiser steps. */
  tokensPerSecond: number;
  /** Tokens with a loss (the second half of each row here) per second. */
  trainedTokensPerSecond: number;
  msPerStep: number;
}

/** A fixed batch: rows of pseudo-random token ids, the first half of each row untrained (a stand-in prompt). */
export function benchBatch(V: number, B: number, T: number): TrainBatch {
  const tokens: number[][] = [];
  const labels: number[][] = [];
  for (let b = 0; b < B; b++) {
    const row = Array.from({ length: T }, (_, t) => (b * 7919 + t * 104729 + 17) % V);
    tokens.push(row);
    labels.push(row.map((id, t) => (t < T / 2 ? -100 : id)));
  }
  return { tokens, labels };
}

export async function withTrainer<R>(gpu: Gpu, c: TrainingCase, f: (t: Trainer, batch: TrainBatch) => Promise<R>): Promise<R> {
  const model = await loadModelFromFiles(gpu, await c.files(), c.model, { quant: c.quant });
  const recompute = c.recompute ?? 'auto';
  const trainer = await Trainer.create(model, c.mode === 'full' ? { mode: 'full', lr: 1e-4, recompute } : { r: c.r, alpha: 2 * c.r, lr: 1e-4, recompute });
  try {
    return await f(trainer, benchBatch(model.cfg.V, c.B, c.T));
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

/** Optimiser steps per second on one batch (a warm-up step builds the plan first). */
async function timeSteps(gpu: Gpu, c: TrainingCase, minSeconds: number): Promise<TrainingFigure> {
  return withTrainer(gpu, c, async (trainer, batch) => {
    await trainer.trainStep(batch); // warm-up: plan, pipelines
    let steps = 0;
    const t0 = performance.now();
    while (steps < 2 || (performance.now() - t0) / 1000 < minSeconds) {
      await trainer.trainStep(batch);
      steps++;
    }
    const secs = (performance.now() - t0) / 1000 / steps;
    const all = c.B * c.T;
    return {
      model: c.model, kernels: gpu.kernels, mode: `${c.mode === 'full' ? 'full' : `lora r=${c.r}`}${c.recompute === 'always' ? ', recompute' : ''}`, quant: c.quant, batch: `${c.B}×${c.T}`,
      tokensPerSecond: all / secs, trainedTokensPerSecond: (c.B * (c.T / 2)) / secs, msPerStep: secs * 1000,
    };
  });
}

/** Per-kernel shares of one training step. */
export async function profileStep(gpu: Gpu, c: TrainingCase): Promise<{ profile: KernelShare[]; source: string; launches: number }> {
  return withTrainer(gpu, c, async (trainer, batch) => {
    await trainer.trainStep(batch);
    const ds = await trainer.stepDispatches(batch);
    const { seconds, source } = await timeEach(gpu, ds);
    return { profile: byKernel(ds, seconds), source, launches: ds.length };
  });
}

/** Every case under both kernel sets, interleaved per case so that machine load hits both alike. */
export async function benchTrainingSets(cases: TrainingCase[], minSeconds: number): Promise<TrainingFigure[]> {
  const devices = { gpu: await createDevice({ kernels: 'gpu' }), software: await createDevice({ kernels: 'software' }) };
  const out: TrainingFigure[] = [];
  try {
    for (const c of cases) {
      for (const k of c.sets ?? (['software', 'gpu'] as const)) {
        process.stderr.write(`  training ${c.model} ${c.mode} under the ${k} kernels…\n`);
        out.push(await timeSteps(devices[k], c, minSeconds));
      }
    }
  } finally {
    devices.gpu.destroy();
    devices.software.destroy();
  }
  return out;
}

export function trainingTable(figs: TrainingFigure[]): string {
  const rows = ['| model | mode | quant | batch | kernels | ms/step | tokens/s (all) | trained tokens/s | vs gpu set |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const f of figs) {
    const twin = figs.find((g) => g.model === f.model && g.mode === f.mode && g.kernels === 'gpu');
    const ratio = twin ? `${(f.tokensPerSecond / twin.tokensPerSecond).toFixed(2)}×` : '';
    rows.push(`| ${f.model} | ${f.mode} | ${f.quant} | ${f.batch} | ${f.kernels} | ${f.msPerStep.toFixed(0)} | ${f.tokensPerSecond.toFixed(0)} | ${f.trainedTokensPerSecond.toFixed(0)} | ${ratio} |`);
  }
  return rows.join('\n');
}

export function profileTable(p: KernelShare[], top = 14): string {
  const rows = ['| kernel | launches | ms | share |', '| --- | --- | --- | --- |'];
  for (const k of p.slice(0, top)) rows.push(`| ${k.kernel} | ${k.launches} | ${(k.seconds * 1000).toFixed(2)} | ${(k.share * 100).toFixed(1)}% |`);
  const rest = p.slice(top);
  if (rest.length) rows.push(`| (${rest.length} others) | ${rest.reduce((s, k) => s + k.launches, 0)} | ${(rest.reduce((s, k) => s + k.seconds, 0) * 1000).toFixed(2)} | ${(rest.reduce((s, k) => s + k.share, 0) * 100).toFixed(1)}% |`);
  return rows.join('\n');
}
