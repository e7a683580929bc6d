// Launcher for shaders/adamw.wgsl. The step's hyper-parameters change every step (learning rate,
// bias corrections, clip factor): the dispatch is built once and its uniform rewritten with
// `adamwParams` before each step.

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

export function adamwParams(n: number, s: AdamwStep): Param[] {
  return [
    ['u32', n], ['f32', s.lr], ['f32', s.beta1], ['f32', s.beta2], ['f32', s.eps], ['f32', s.weightDecay],
    ['f32', 1 - s.beta1 ** s.t], ['f32', 1 - s.beta2 ** s.t], ['f32', s.gradScale],
  ];
}

export async function adamwStep(gpu: Gpu, param: Tensor, m: Tensor, v: Tensor, grad: Tensor, n: number, s: AdamwStep): Promise<Dispatch> {
  needPositive('adamw_step', { n });
  for (const t of [param, m, v, grad]) needElements('adamw_step', t, n);
  return makeDispatch(gpu, { shader: 'adamw', entry: 'adamw_step' }, [param, m, v, grad], adamwParams(n, s), grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, n),
    { flops: 17 * n, bytes: 28 * n }); // p, m, v, grad read; p, m, v written (the shader's 20 bytes/element count p, m, v once)
}

/** Rewrite a built AdamW dispatch's parameters for the next step. */
export function updateAdamw(gpu: Gpu, d: Dispatch, n: number, s: AdamwStep): void {
  gpu.device.queue.writeBuffer(d.uniform!, 0, packParams(adamwParams(n, s)));
}
