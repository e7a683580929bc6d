// The memory planner for LoRA training, from config.json and the training settings alone: the
// bytes of every arena (frozen base, LoRA, gradients, optimizer, activations with per-layer
// recomputation, scratch), the same tensor lists the trainer allocates. It refuses a plan that
// cannot fit, naming the setting to lower.

import { LimitTooLowError } from '../errors';
import { planArena } from '../gpu/arena';
import { formatBytes } from '../gpu/memory';
import { quantName, type Quant } from '../model/quant';
import { parameterCount, type ModelConfig } from '../model/config';
import { LORA_TARGETS, projectionShape, type LoraTarget } from '../model/architecture';
import { baseWeightBytes, DEFAULT_LIMITS, type DeviceLimitsLike } from '../model/plan';
import { keepLayersFor, trainActivationSpecs, type Recompute } from './train-plan';

export interface TrainPlanOptions {
  quant: Quant;
  batch: number;
  seqLen: number;
  r: number;
  targets?: LoraTarget[];
  limits?: DeviceLimitsLike;
  /** Refuse plans above this many bytes (e.g. what the adapter reports, or a user budget). */
  budgetBytes?: number;
  /** As the trainer's option (default 'auto': every layer's activations kept when that adds ≤ 256 MiB). */
  recompute?: Recompute;
}

export interface TrainMemoryPlan {
  parameters: number;
  trainable: number;
  arenas: { name: string; bytes: number }[];
  total: number;
}

const align = (n: number) => Math.ceil(n / 256) * 256;

export function planTraining(cfg: ModelConfig, o: TrainPlanOptions): TrainMemoryPlan {
  const limits = o.limits ?? DEFAULT_LIMITS;
  const targets = o.targets ?? [...LORA_TARGETS];
  let lora = 0, trainable = 0;
  for (const t of targets) {
    const { out, in: K } = projectionShape(cfg, t);
    lora += cfg.L * (align(o.r * K * 4) + align(out * o.r * 4));
    trainable += cfg.L * o.r * (K + out);
  }
  const BT = o.batch * o.seqLen;
  let acts;
  let keep = false;
  try {
    const shape = { B: o.batch, T: o.seqLen, N: BT };
    keep = keepLayersFor(cfg, shape, o.r, 0, o.recompute ?? 'auto');
    acts = planArena('activations', trainActivationSpecs(cfg, shape, o.r, 0, keep), limits);
  } catch (e) {
    if (e instanceof LimitTooLowError) throw new LimitTooLowError(e.limit, e.needed, e.available, 'lower the batch size or the sequence length');
    throw e;
  }
  const arenas = [
    { name: `base weights (${quantName(o.quant)})`, bytes: baseWeightBytes(cfg, o.quant, limits).bytes },
    { name: `LoRA r=${o.r}`, bytes: lora },
    { name: 'LoRA gradients', bytes: lora },
    { name: 'AdamW moments', bytes: 2 * lora },
    { name: `activations ${o.batch}×${o.seqLen} (${keep ? 'every layer kept' : 'recomputed per layer'})`, bytes: acts.totalBytes },
    { name: 'rope table', bytes: align(o.seqLen * cfg.HS * 4) },
    { name: 'scratch (load slices, grad-norm slots, readback)', bytes: 8 * 2 ** 20 * 2 + align(2 * targets.length * cfg.L * 256) },
  ];
  const total = arenas.reduce((s, a) => s + a.bytes, 0);
  if (o.budgetBytes && total > o.budgetBytes) {
    const biggest = arenas.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    const what = biggest.name.startsWith('activations') ? 'the batch size or the sequence length' : biggest.name.startsWith('base') ? 'the model size (or use nf4)' : 'the LoRA rank';
    throw new LimitTooLowError('GPU memory', total, o.budgetBytes, `the plan needs ${formatBytes(total)}, mostly ${biggest.name} (${formatBytes(biggest.bytes)}): lower ${what}`);
  }
  return { parameters: parameterCount(cfg), trainable, arenas, total };
}

export function trainingPlanTable(configs: { name: string; cfg: ModelConfig }[], o: Omit<TrainPlanOptions, 'budgetBytes'>): string {
  const rows = [`| model | trainable (r=${o.r}) | base (${quantName(o.quant)}) | LoRA + grads + AdamW | activations ${o.batch}×${o.seqLen} | total |`, '| --- | --- | --- | --- | --- | --- |'];
  for (const { name, cfg } of configs) {
    const p = planTraining(cfg, o);
    const get = (prefix: string) => p.arenas.filter((a) => a.name.startsWith(prefix)).reduce((s, a) => s + a.bytes, 0);
    rows.push(`| ${name} | ${(p.trainable / 1e6).toFixed(2)}M | ${formatBytes(get('base'))} | ${formatBytes(get('LoRA') + get('AdamW'))} | ${formatBytes(get('activations'))} | ${formatBytes(p.total)} |`);
  }
  return rows.join('\n');
}
