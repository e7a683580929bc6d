// LoRA training over a frozen (possibly NF4) base: PEFT initialisation, the training plan per batch
// shape, gradients accumulated over micro-batches, global-norm clipping, a NaN/Inf guard that skips
// the step, AdamW with f32 states, warmup + cosine or constant learning rate.

import { EntrotuneError, ShapeError } from '../errors';
import { releaseDispatch, run, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { adamwStep, updateAdamw, type AdamwStep } from '../kernels/adamw';
import { reduceForward } from '../kernels/reduce';
import { LORA_TARGETS, type LoraTarget, type LoraWeights } from '../model/architecture';
import type { Model } from '../model/model';
import { RUN_DEFAULTS } from '../settings/defaults';
import { baseParams, flat, fullGradsOf, initLora, zerosLike, zerosList, type Named } from './params';
import { keepLayersFor, RECOMPUTE_CHOICES, TrainPlan, type FullGrads, type Recompute } from './train-plan';

/** Training defaults, each with its reason; those a person chooses (r, alpha, dropout, lr, the
 *  schedule, the seed) are the run's defaults, with their reasons in src/settings/defaults.ts. */
export const TRAIN_DEFAULTS = {
  r: RUN_DEFAULTS.train.r,
  alpha: RUN_DEFAULTS.train.alpha,
  dropout: RUN_DEFAULTS.train.dropout,
  targets: [...LORA_TARGETS] as LoraTarget[], // every linear layer, as QLoRA recommends
  lr: RUN_DEFAULTS.train.lr,
  weightDecay: 0, //        PEFT/TRL default for LoRA
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  gradClip: 1.0, //         global-norm clipping, TRL's default
  warmupSteps: RUN_DEFAULTS.train.warmupSteps,
  schedule: RUN_DEFAULTS.train.schedule,
  totalSteps: 100,
  minLrRatio: 0, //          cosine decays to lr·minLrRatio
  seed: RUN_DEFAULTS.seed,
  /** 'lora' (default) or 'full': every weight trainable, for small unquantised models (classroom, the demo model). */
  mode: 'lora' as 'lora' | 'full',
  /** Per-layer activation recomputation in the backward pass: 'auto' keeps every layer's activations
   *  when that adds at most RECOMPUTE_BUDGET bytes (small models: the recomputed forward was ~20–25%
   *  of a step), 'always' recomputes (least memory), 'never' keeps them whatever the cost. */
  recompute: 'auto' as Recompute,
};

export type TrainConfig = typeof TRAIN_DEFAULTS;

/** A batch of token sequences with HF-style labels: labels[b][t] is the target at position t
 *  (−100 = not trained); the loss at position t predicts labels[b][t + 1] (HF's shift). */
export interface TrainBatch {
  tokens: number[][];
  labels: number[][];
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  lr: number;
  skipped: boolean;
  tokens: number;
}

const IGNORE = 0xffffffff;
/** Micro-batches one optimizer step can accumulate (their losses wait in one small GPU buffer). */
const LOSS_SLOTS = 1024;

export function learningRate(c: Pick<TrainConfig, 'lr' | 'warmupSteps' | 'schedule' | 'totalSteps' | 'minLrRatio'>, step: number): number {
  if (step < c.warmupSteps) return (c.lr * (step + 1)) / c.warmupSteps;
  if (c.schedule === 'constant') return c.lr;
  const progress = Math.min(1, (step - c.warmupSteps) / Math.max(1, c.totalSteps - c.warmupSteps));
  const min = c.lr * c.minLrRatio;
  return min + (c.lr - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

export class Trainer {
  /** The adapter being trained (null in full fine-tuning). */
  readonly lora: LoraWeights | null;
  private readonly loraGrads: LoraWeights | null;
  private readonly full: FullGrads | null;
  private readonly params: Named[];
  private readonly grads: Named[];
  private readonly m: Named[];
  private readonly v: Named[];
  private plans = new Map<string, TrainPlan>();
  private normScratch: { partials: Tensor; out: Tensor; dispatches: Dispatch[] } | null = null;
  private adam: { d: Dispatch; n: number }[] = [];
  /** Optimiser steps taken. */
  step = 0;
  /** Micro-batches seen: seeds the dropout masks (set it to replay a mask). */
  dropoutTick = 0;
  private micro = 0;
  /** Each micro-batch's loss, copied on the GPU into slot `micro`; read back once per optimizer step. */
  private lossSlots!: Tensor;
  private pendingTokens = 0;

  private constructor(
    readonly model: Model,
    readonly config: TrainConfig,
  ) {
    const gpu = model.gpu;
    if (config.mode === 'full') {
      model.setAdapter(null);
      this.lora = this.loraGrads = null;
      this.params = baseParams(model);
      this.grads = zerosList(gpu, this.params, 'grad', 'grads');
      this.full = fullGradsOf(model, this.grads);
    } else {
      // Continue an adapter the model already carries, else start one the PEFT way.
      this.lora = model.lora ?? initLora(gpu, model, config);
      model.setAdapter(this.lora);
      this.loraGrads = zerosLike(gpu, this.lora, 'grad', 'grads');
      this.full = null;
      this.params = flat(this.lora);
      this.grads = flat(this.loraGrads);
    }
    this.m = zerosList(gpu, this.params, 'adam_m', 'optimizer');
    this.v = zerosList(gpu, this.params, 'adam_v', 'optimizer');
  }

  static async create(model: Model, config: Partial<TrainConfig> = {}): Promise<Trainer> {
    const c = { ...TRAIN_DEFAULTS, ...config };
    if (!(c.dropout >= 0 && c.dropout < 1)) throw new EntrotuneError(`LoRA dropout must be in [0, 1), got ${c.dropout}`);
    if (!RECOMPUTE_CHOICES.includes(c.recompute)) throw new EntrotuneError(`recompute must be auto, always or never, got "${c.recompute}"`);
    if (c.dropout > 0 && c.mode === 'full') throw new EntrotuneError('dropout applies to LoRA adapters only', 'use mode "lora", or dropout 0 for full fine-tuning');
    if (!(c.r >= 1 && Number.isInteger(c.r))) throw new EntrotuneError(`LoRA rank must be a positive integer, got ${c.r}`);
    if (!(c.lr > 0)) throw new EntrotuneError(`learning rate must be positive, got ${c.lr}`);
    const t = new Trainer(model, c);
    const gpu = model.gpu;
    const s: AdamwStep = { lr: 0, beta1: t.config.beta1, beta2: t.config.beta2, eps: t.config.eps, weightDecay: t.config.weightDecay, t: 1, gradScale: 1 };
    for (let i = 0; i < t.params.length; i++) {
      const n = t.params[i].t.bytes / 4;
      t.adam.push({ d: await adamwStep(gpu, t.params[i].t, t.m[i].t, t.v[i].t, t.grads[i].t, n, s), n });
    }
    // Σ g² per tensor into its own 256-byte slot, then one readback of all of them.
    const partials = gpu.tensor('gradnorm-partials', [256], 'f32', 'scratch');
    const out = gpu.tensor('gradnorm-out', [t.grads.length * 64], 'f32', 'scratch');
    const dispatches: Dispatch[] = [];
    for (const [i, x] of t.grads.entries()) {
      const slot: Tensor = { ...out, offset: out.offset + i * 256, bytes: 4, shape: [1] };
      dispatches.push(...(await reduceForward(gpu, slot, partials, x.t, x.t.bytes / 4, 'sumsq')));
    }
    t.normScratch = { partials, out, dispatches };
    t.lossSlots = gpu.tensor('micro-batch losses', [LOSS_SLOTS], 'f32', 'scratch');
    return t;
  }

  /** Flatten a batch: ids [B·T], the rows whose next token is trained, and their targets. */
  private prepare(batch: TrainBatch): { B: number; T: number; ids: Uint32Array; rows: number[]; targets: number[] } {
    const B = batch.tokens.length;
    if (!B || batch.labels.length !== B) throw new ShapeError('training batch: tokens and labels must have the same number of rows');
    const T = Math.max(...batch.tokens.map((s) => s.length));
    if (T > this.model.contextLength) throw new ShapeError(`training batch: ${T} tokens exceed the context length ${this.model.contextLength}`);
    const ids = new Uint32Array(B * T);
    const rows: number[] = [];
    const targets: number[] = [];
    batch.tokens.forEach((s, b) => {
      if (batch.labels[b].length !== s.length) throw new ShapeError(`training batch row ${b}: ${s.length} tokens but ${batch.labels[b].length} labels`);
      ids.set(s, b * T);
      for (let t = 0; t + 1 < s.length; t++) {
        const y = batch.labels[b][t + 1];
        if (y === -100) continue;
        if (!(y >= 0 && y < this.model.cfg.V)) throw new ShapeError(`training batch row ${b}: label ${y} at ${t + 1} is outside the vocabulary`);
        rows.push(b * T + t);
        targets.push(y);
      }
    });
    if (!rows.length) throw new ShapeError('training batch has no trained position (every label is −100)');
    return { B, T, ids, rows, targets };
  }

  private async plan(B: number, T: number, N: number): Promise<TrainPlan> {
    const key = `${B}x${T}x${N}`;
    let p = this.plans.get(key);
    if (!p) {
      if (this.plans.size >= 4) {
        const [k, old] = this.plans.entries().next().value!;
        old.destroy();
        this.plans.delete(k);
      }
      const shape = { B, T, N };
      const keep = keepLayersFor(this.model.cfg, shape, this.lora?.r ?? 0, this.config.dropout, this.config.recompute);
      p = await TrainPlan.build(this.model.gpu, this.model.cfg, this.model.weights, this.lora, this.loraGrads, this.model.ropeTable, shape, this.full, this.config.dropout, keep);
      this.plans.set(key, p);
    }
    return p;
  }

  /** Forward + backward of one micro-batch: gradients added into `grads`, the loss kept on the GPU. */
  async accumulate(batch: TrainBatch): Promise<void> {
    const gpu = this.model.gpu;
    gpu.assertAlive();
    const { plan, trained } = await this.load(batch);
    if (this.micro >= LOSS_SLOTS) throw new EntrotuneError(`more than ${LOSS_SLOTS} micro-batches in one optimizer step`, `use at most ${LOSS_SLOTS} accumulation steps (a larger micro-batch instead)`);
    const enc = gpu.device.createCommandEncoder({ label: 'train step' });
    plan.record(enc);
    // The loss stays on the GPU until the step is taken: no readback (and no wait) per micro-batch.
    enc.copyBufferToBuffer(plan.loss.buffer, plan.loss.offset, this.lossSlots.buffer, this.lossSlots.offset + 4 * this.micro, 4);
    gpu.device.queue.submit([enc.finish()]);
    this.micro++;
    this.pendingTokens += trained;
  }

  /** The mean loss of the micro-batches accumulated since the last step (one readback). */
  private async pendingLoss(): Promise<number> {
    const slots = await this.model.gpu.read({ ...this.lossSlots, bytes: 4 * this.micro, shape: [this.micro] });
    let sum = 0;
    for (let i = 0; i < this.micro; i++) sum += slots[i];
    return sum / this.micro;
  }

  /**
   * Every launch of one training step on `batch`, in order: the micro-batch's forward and backward,
   * the gradient norm and the optimiser (for profiling: `npm run bench` times each one). The batch is
   * written to the plan; nothing is recorded or run.
   */
  async stepDispatches(batch: TrainBatch): Promise<readonly Dispatch[]> {
    const { plan } = await this.load(batch);
    return [...plan.dispatchList, ...this.normScratch!.dispatches, ...this.adam.map((a) => a.d)];
  }

  /** The plan for a batch's padded shape, with the batch written into it; `trained` = positions with a target. */
  private async load(batch: TrainBatch): Promise<{ plan: TrainPlan; trained: number }> {
    const { B, T, ids, rows, targets } = this.prepare(batch);
    // Round T and N up so similar batches share a plan; padded rows repeat row 0 with an ignored target.
    const Tp = Math.ceil(T / 16) * 16 <= this.model.contextLength ? Math.ceil(T / 16) * 16 : T;
    const Np = Math.ceil(rows.length / 16) * 16;
    const idsP = new Uint32Array(B * Tp);
    for (let b = 0; b < B; b++) idsP.set(ids.subarray(b * T, (b + 1) * T), b * Tp);
    const rowsP = new Uint32Array(Np), targetsP = new Uint32Array(Np).fill(IGNORE);
    rows.forEach((r, i) => {
      rowsP[i] = Math.floor(r / T) * Tp + (r % T);
      targetsP[i] = targets[i];
    });
    const plan = await this.plan(B, Tp, Np);
    plan.write(idsP, rowsP, targetsP);
    plan.setDropoutSeed((this.config.seed * 1_000_003 + this.dropoutTick++) >>> 0);
    return { plan, trained: rows.length };
  }

  /** Zero the gradient buffers (done after each optimiser step), on the GPU. */
  zeroGrads(): void {
    const gpu = this.model.gpu;
    const enc = gpu.device.createCommandEncoder({ label: 'zero gradients' });
    for (const { t } of this.grads) enc.clearBuffer(t.buffer, t.offset, Math.ceil(t.bytes / 4) * 4);
    gpu.device.queue.submit([enc.finish()]);
    this.micro = 0;
    this.pendingTokens = 0;
  }

  /** The loss and every LoRA gradient of one batch (PEFT names), for checks. Leaves grads zeroed. */
  async lossAndGradients(batch: TrainBatch): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
    this.zeroGrads();
    await this.accumulate(batch);
    const loss = await this.pendingLoss();
    const grads = new Map<string, Float32Array>();
    for (const { name, t } of this.grads) grads.set(name, await this.model.gpu.read(t));
    this.zeroGrads();
    return { loss, grads };
  }

  /** Global gradient norm over every LoRA tensor (one readback of a few floats). */
  async gradNorm(): Promise<number> {
    const gpu = this.model.gpu;
    const ns = this.normScratch!;
    await run(gpu, ns.dispatches);
    const sums = await gpu.read(ns.out);
    let total = 0;
    for (let i = 0; i < ns.dispatches.length / 2; i++) total += sums[i * 64];
    return Math.sqrt(total);
  }

  /** Clip, guard against NaN/Inf, and take one AdamW step with the accumulated gradients. */
  async optimizerStep(): Promise<StepResult> {
    const gpu = this.model.gpu;
    if (!this.micro) throw new EntrotuneError('optimizerStep without gradients', 'call accumulate() first');
    // Micro-batches each averaged their own loss: average the gradients over them.
    const [gradNorm, loss] = await Promise.all([this.gradNorm(), this.pendingLoss()]);
    const norm = gradNorm / this.micro;
    const tokens = this.pendingTokens;
    const lr = learningRate(this.config, this.step);
    if (!Number.isFinite(norm) || !Number.isFinite(loss)) {
      this.zeroGrads();
      return { loss, gradNorm: norm, lr, skipped: true, tokens };
    }
    const clip = this.config.gradClip > 0 && norm > this.config.gradClip ? this.config.gradClip / norm : 1;
    const s: AdamwStep = { lr, beta1: this.config.beta1, beta2: this.config.beta2, eps: this.config.eps, weightDecay: this.config.weightDecay, t: this.step + 1, gradScale: clip / this.micro };
    for (const { d, n } of this.adam) updateAdamw(gpu, d, n, s);
    await run(gpu, this.adam.map((a) => a.d));
    this.step++;
    this.zeroGrads();
    return { loss, gradNorm: norm, lr, skipped: false, tokens };
  }

  /** One optimiser step on one batch. */
  async trainStep(batch: TrainBatch): Promise<StepResult> {
    await this.accumulate(batch);
    return this.optimizerStep();
  }

  /** Trained tensors: the adapter by PEFT name, or (full fine-tuning) every weight by HF name. */
  tensors(): { name: string; t: Tensor }[] {
    return this.params;
  }

  optimizerTensors(): { m: { name: string; t: Tensor }[]; v: { name: string; t: Tensor }[] } {
    return { m: this.m, v: this.v };
  }

  dispose(): void {
    const gpu = this.model.gpu;
    for (const p of this.plans.values()) p.destroy();
    this.plans.clear();
    for (const { d } of this.adam) releaseDispatch(gpu, d);
    if (this.normScratch) {
      for (const d of this.normScratch.dispatches) releaseDispatch(gpu, d);
      gpu.destroyBuffer(this.normScratch.partials.buffer);
      gpu.destroyBuffer(this.normScratch.out.buffer);
    }
    for (const list of [this.grads, this.m, this.v]) for (const { t } of list) gpu.destroyBuffer(t.buffer);
    if (this.lossSlots) gpu.destroyBuffer(this.lossSlots.buffer);
  }
}

/** The trainer for a loaded model (continues its adapter if it has one, else starts a PEFT-initialised one). */
export function createTrainer(model: Model, config: Partial<TrainConfig> = {}): Promise<Trainer> {
  return Trainer.create(model, config);
}
