// Launcher for shaders/adamw.wgsl. The step's hyper-parameters change every step (learning rate,
// bias corrections, clip factor): the dispatch is built once and its uniform rewritten with
// `updateAdamw` / `updateAdamwClipped` before each step.

import type { Gpu } from '../gpu/device';
import { makeDispatch, packParams, type Dispatch, type Param } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { grid1d, needElements, needPositive } from './check';

export interface AdamwStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number, for the bias corrections. */
  t: number;
  /** Multiplier on the gradient (global-norm clipping; 1 = none). */
  gradScale: number;
}

/** adamw_step_clipped's step: the gradient scale is found on the GPU from Σg² and the micro-batch count. */
export interface AdamwClippedStep extends Omit<AdamwStep, 'gradScale'> {
  /** Global-norm threshold (0 = no clipping). */
  gradClip: number;
  /** Micro-batches accumulated into the gradient; also how many loss slots are checked. */
  micro: number;
}

/** Distance between the partial sums of squares adamw_step_clipped reads (one 256-byte slot each). */
export const SUM_STRIDE = 64;
/** The clipped kernel's grid cap: each invocation reads the sums and loss slots once before its stride loop. */
const CLIPPED_MAX_GROUPS = 1024;

function params(n: number, s: Omit<AdamwStep, 'gradScale'>, gradScale: number, gradClip: number, micro: number, segments: number): Param[] {
  return [
    ['u32', n], ['f32', s.lr], ['f32', s.beta1], ['f32', s.beta2], ['f32', s.eps], ['f32', s.weightDecay],
    ['f32', 1 - s.beta1 ** s.t], ['f32', 1 - s.beta2 ** s.t], ['f32', gradScale], ['f32', gradClip], ['u32', micro], ['u32', segments],
  ];
}

export function adamwParams(n: number, s: AdamwStep): Param[] {
  return params(n, s, s.gradScale, 0, 0, 0);
}

export function adamwClippedParams(n: number, segments: number, s: AdamwClippedStep): Param[] {
  return params(n, s, 0, s.gradClip, s.micro, segments);
}

// p, m, v, grad read; p, m, v written (the shader's 20 bytes/element count p, m, v once)
const cost = (n: number) => ({ flops: 17 * n, bytes: 28 * n });

export async function adamwStep(gpu: Gpu, param: Tensor, m: Tensor, v: Tensor, grad: Tensor, n: number, s: AdamwStep): Promise<Dispatch> {
  needPositive('adamw_step', { n });
  for (const t of [param, m, v, grad]) needElements('adamw_step', t, n);
  return makeDispatch(gpu, { shader: 'adamw', entry: 'adamw_step' }, [param, m, v, grad], adamwParams(n, s), grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, n), cost(n));
}

/**
 * AdamW with the global-norm clip and the NaN/Inf guard on the GPU: `sums` holds Σg² of `segments`
 * gradient buffers at SUM_STRIDE-float strides (reduce outputs), `losses` the micro-batch losses
 * (every slot a step may use: the check below sees s.micro of them).
 */
export async function adamwStepClipped(gpu: Gpu, param: Tensor, m: Tensor, v: Tensor, grad: Tensor, sums: Tensor, losses: Tensor, n: number, segments: number, s: AdamwClippedStep): Promise<Dispatch> {
  needPositive('adamw_step_clipped', { n, segments, micro: s.micro });
  for (const t of [param, m, v, grad]) needElements('adamw_step_clipped', t, n);
  needElements('adamw_step_clipped', sums, SUM_STRIDE * (segments - 1) + 1);
  needElements('adamw_step_clipped', losses, s.micro);
  const groups = grid1d(Math.min(gpu.limits.maxComputeWorkgroupsPerDimension, CLIPPED_MAX_GROUPS), n);
  const c = cost(n);
  return makeDispatch(gpu, { shader: 'adamw', entry: 'adamw_step_clipped' }, [param, m, v, grad, sums, losses], adamwClippedParams(n, segments, s), groups,
    { flops: c.flops, bytes: c.bytes + 4 * (segments + s.micro) });
}

/** Rewrite a built AdamW dispatch's parameters for the next step. */
export function updateAdamw(gpu: Gpu, d: Dispatch, n: number, s: AdamwStep): void {
  gpu.device.queue.writeBuffer(d.uniform!, 0, packParams(adamwParams(n, s)));
}

/** Rewrite a built adamw_step_clipped dispatch's parameters for the next step; s.micro must not
 *  exceed the loss slots it was built with (the trainer caps micro-batches at its slot count). */
export function updateAdamwClipped(gpu: Gpu, d: Dispatch, n: number, segments: number, s: AdamwClippedStep): void {
  needPositive('adamw_step_clipped', { micro: s.micro });
  gpu.device.queue.writeBuffer(d.uniform!, 0, packParams(adamwClippedParams(n, segments, s)));
}
