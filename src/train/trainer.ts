// LoRA training over a frozen (possibly NF4) base: PEFT initialisation, the training plan per batch
// shape, gradients accumulated over micro-batches, global-norm clipping, a NaN/Inf guard that skips
// the step, AdamW with f32 states, warmup + cosine or constant learning rate.
//
// LoRA's parameters, gradients and moments each live in a few flat buffers of views (allocFlat): an
// optimiser step is one Σg² reduce (2 launches) and one AdamW launch per buffer — usually one — that
// clips and guards on the GPU (adamw_step_clipped), recorded with the gradient clear in one
// submission; the host reads the norm and the losses once, afterwards, to report them. Full
// fine-tuning trains the model's own buffers and keeps a reduce and an AdamW launch per tensor,
// clipped from the host.

import { EntrotuneError, GpuError, ShapeError } from '../errors';
import { record, releaseDispatch, run, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { adamwStep, adamwStepClipped, SUM_STRIDE, updateAdamw, updateAdamwClipped, type AdamwClippedStep, type AdamwStep } from '../kernels/adamw';
import { reduceForward } from '../kernels/reduce';
import { LORA_TARGETS, type LoraTarget, type LoraWeights } from '../model/architecture';
import type { Model } from '../model/model';
import { RUN_DEFAULTS } from '../settings/defaults';
import { allocFlat, baseParams, fullGradsOf, loraFrom, loraSpecs, writePeftInit, zerosList, type Named } from './params';
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
  /** LoRA: the flat buffers behind params, grads, m and v, index-aligned (null in full fine-tuning). */
  private readonly flat: { params: Tensor[]; grads: Tensor[]; m: Tensor[]; v: Tensor[] } | null;
  private plans = new Map<string, TrainPlan>();
  /** Σg² of each flat gradient buffer (LoRA) or of each gradient tensor (full), into `sums`. */
  private normScratch: { partials: Tensor; dispatches: Dispatch[] } | null = null;
  /** One AdamW launch per flat buffer (LoRA, clipped on the GPU) or per tensor (full). */
  private adam: { d: Dispatch; n: number }[] = [];
  /** Optimiser steps taken. */
  step = 0;
  /** Micro-batches seen: seeds the dropout masks (set it to replay a mask). */
  dropoutTick = 0;
  private micro = 0;
  /** One small buffer read back once per optimiser step: the Σg² sums, one per SUM_STRIDE floats, then
   *  `lossSlots` — each micro-batch's loss, copied on the GPU into slot `micro`. */
  private scalars!: Tensor;
  private sums!: Tensor;
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
      this.m = zerosList(gpu, this.params, 'adam_m', 'optimizer');
      this.v = zerosList(gpu, this.params, 'adam_v', 'optimizer');
      this.flat = null;
    } else {
      // Continue an adapter the model already carries (copied into the flat buffer), else start one
      // the PEFT way straight in it. New buffers are zero: the gradients and moments need no writes.
      const old = model.lora;
      const specs = loraSpecs(model.cfg, config, old ?? undefined);
      const [p, g, m, v] = ([['lora', 'lora'], ['grad', 'grads'], ['adam_m', 'optimizer'], ['adam_v', 'optimizer']] as const).map(([what, cat]) => allocFlat(gpu, specs, what, cat));
      const meta = old ?? { r: config.r, alpha: config.alpha, scale: config.alpha / config.r, targets: config.targets };
      this.lora = loraFrom(meta, model.cfg.L, specs, p.list.map((x) => x.t));
      if (old) {
        const enc = gpu.device.createCommandEncoder({ label: 'adapter into its flat buffer' });
        specs.forEach((s, i) => {
          const from = old.layers[s.layer][s.target]![s.ab], to = p.list[i].t;
          enc.copyBufferToBuffer(from.buffer, from.offset, to.buffer, to.offset, from.bytes);
        });
        gpu.device.queue.submit([enc.finish()]);
      } else {
        writePeftInit(gpu, this.lora, config.seed);
      }
      // The model owns its adapter: this hands it the views and destroys the old buffers (after the
      // copy above, which the queue has already been given).
      model.setAdapter(this.lora);
      this.loraGrads = loraFrom(meta, model.cfg.L, specs, g.list.map((x) => x.t));
      this.full = null;
      [this.params, this.grads, this.m, this.v] = [p.list, g.list, m.list, v.list];
      this.flat = { params: p.segments, grads: g.segments, m: m.segments, v: v.segments };
    }
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
    // Σ g² of each gradient buffer (LoRA) or tensor (full) into its own 256-byte slot of `sums`.
    const summed = t.flat ? t.flat.grads : t.grads.map((x) => x.t);
    const S = summed.length;
    const view = (offset: number, floats: number, name: string): Tensor => ({ ...t.scalars, name, offset, bytes: 4 * floats, shape: [floats] });
    t.scalars = gpu.tensor('step scalars', [S * SUM_STRIDE + LOSS_SLOTS], 'f32', 'scratch');
    t.sums = view(0, Math.max(1, S * SUM_STRIDE), 'gradient sums of squares');
    t.lossSlots = view(4 * S * SUM_STRIDE, LOSS_SLOTS, 'micro-batch losses');
    const partials = gpu.tensor('gradnorm-partials', [256], 'f32', 'scratch');
    const dispatches: Dispatch[] = [];
    for (const [i, x] of summed.entries()) dispatches.push(...(await reduceForward(gpu, view(4 * i * SUM_STRIDE, 1, `Σg²[${i}]`), partials, x, x.bytes / 4, 'sumsq')));
    t.normScratch = { partials, dispatches };
    const o = { lr: 0, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, t: 1 };
    if (t.flat) {
      const f = t.flat;
      for (let k = 0; k < S; k++) {
        const n = f.params[k].bytes / 4;
        t.adam.push({ d: await adamwStepClipped(gpu, f.params[k], f.m[k], f.v[k], f.grads[k], t.sums, t.lossSlots, n, S, { ...o, gradClip: c.gradClip, micro: 1 }), n });
      }
    } else {
      for (let i = 0; i < t.params.length; i++) {
        const n = t.params[i].t.bytes / 4;
        t.adam.push({ d: await adamwStep(gpu, t.params[i].t, t.m[i].t, t.v[i].t, t.grads[i].t, n, { ...o, gradScale: 1 }), n });
      }
    }
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
    this.clearGrads(enc);
    gpu.device.queue.submit([enc.finish()]);
  }

  /** Record the gradients' clear (whole flat buffers in LoRA, padding included) and start a new step. */
  private clearGrads(enc: GPUCommandEncoder): void {
    for (const t of this.flat ? this.flat.grads : this.grads.map((x) => x.t)) enc.clearBuffer(t.buffer, t.offset, Math.ceil(t.bytes / 4) * 4);
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

  /** Global gradient norm over every trained tensor (one readback of a few floats). */
  async gradNorm(): Promise<number> {
    await run(this.model.gpu, this.normScratch!.dispatches);
    return Math.sqrt(this.sumOfSquares(await this.model.gpu.read(this.sums)));
  }

  /** Σg² from the sums' slots. LoRA: added in f32 in slot order as adamw_step_clipped adds them, so
   *  the host calls a step skipped exactly when the GPU skipped it; full fine-tuning: in f64. */
  private sumOfSquares(scalars: Float32Array): number {
    let total = 0;
    for (let i = 0; i < this.normScratch!.dispatches.length / 2; i++) {
      total += scalars[i * SUM_STRIDE];
      if (this.flat) total = Math.fround(total);
    }
    return total;
  }

  /** Clip, guard against NaN/Inf, and take one AdamW step with the accumulated gradients. */
  async optimizerStep(): Promise<StepResult> {
    if (!this.micro) throw new EntrotuneError('optimizerStep without gradients', 'call accumulate() first');
    return this.flat ? this.flatStep() : this.hostClippedStep();
  }

  /**
   * LoRA: Σg², AdamW (which clips, or skips on a non-finite norm or loss, by itself) and the gradient
   * clear in one submission, then one readback of the sums and losses to report what the GPU did.
   */
  private async flatStep(): Promise<StepResult> {
    const gpu = this.model.gpu;
    gpu.assertAlive();
    const micro = this.micro, tokens = this.pendingTokens;
    const lr = learningRate(this.config, this.step);
    const c = this.config;
    const s: AdamwClippedStep = { lr, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, t: this.step + 1, gradClip: c.gradClip, micro };
    for (const { d, n } of this.adam) updateAdamwClipped(gpu, d, n, this.flat!.grads.length, s);
    gpu.device.pushErrorScope('validation');
    const enc = gpu.device.createCommandEncoder({ label: 'optimiser step' });
    record(enc, [...this.normScratch!.dispatches, ...this.adam.map((a) => a.d)]);
    this.clearGrads(enc);
    gpu.device.queue.submit([enc.finish()]);
    const err = await gpu.device.popErrorScope();
    if (err) throw new GpuError(`optimiser step: ${err.message}`, 'this is a bug in entrotune; please report it');
    const scalars = await gpu.read({ ...this.scalars, bytes: this.lossSlots.offset + 4 * micro });
    const S = this.lossSlots.offset / 4;
    let lossSum = 0;
    for (let i = 0; i < micro; i++) lossSum += scalars[S + i];
    const loss = lossSum / micro;
    const total = this.sumOfSquares(scalars);
    const norm = Math.sqrt(total) / micro;
    // adamw_step_clipped's own test: a non-finite f32 Σg² or loss, and it left p, m and v as they were.
    const skipped = !Number.isFinite(total) || !Number.isFinite(loss);
    if (!skipped) this.step++;
    return { loss, gradNorm: norm, lr, skipped, tokens };
  }

  /** Full fine-tuning: the norm read back first, the clip factor from the host, AdamW per tensor. */
  private async hostClippedStep(): Promise<StepResult> {
    const gpu = this.model.gpu;
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
    }
    // The parameters are the model's (its adapter, or in full fine-tuning its weights): not ours to free.
    const own = this.flat ? [...this.flat.grads, ...this.flat.m, ...this.flat.v] : [this.grads, this.m, this.v].flat().map((x) => x.t);
    for (const t of own) gpu.destroyBuffer(t.buffer);
    if (this.scalars) gpu.destroyBuffer(this.scalars.buffer);
  }
}

/** The trainer for a loaded model (continues its adapter if it has one, else starts a PEFT-initialised one). */
export function createTrainer(model: Model, config: Partial<TrainConfig> = {}): Promise<Trainer> {
  return Trainer.create(model, config);
}
