// Launchers for shaders/swiglu.wgsl: the gated MLP activation, forward and backward.
// Outputs first, then inputs, then sizes.

import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { grid1d, needElements, needPositive } from './check';

/** h[n] = silu(gate) · up */
export async function swigluForward(gpu: Gpu, h: Tensor, gate: Tensor, up: Tensor, n: number): Promise<Dispatch> {
  needPositive('swiglu_forward', { n });
  for (const t of [h, gate, up]) needElements('swiglu_forward', t, n);
  return makeDispatch(gpu, { shader: 'swiglu', entry: 'swiglu_forward' }, [h, gate, up], [['u32', n]], grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, n), { flops: 5 * n, bytes: 12 * n }); // σ: exp, add, divide; two multiplies
}

/** dgate, dup (=) from dh and the saved gate, up. */
export async function swigluBackward(gpu: Gpu, dgate: Tensor, dup: Tensor, dh: Tensor, gate: Tensor, up: Tensor, n: number): Promise<Dispatch> {
  needPositive('swiglu_backward', { n });
  for (const t of [dgate, dup, dh, gate, up]) needElements('swiglu_backward', t, n);
  return makeDispatch(gpu, { shader: 'swiglu', entry: 'swiglu_backward' }, [dgate, dup, dh, gate, up], [['u32', n]], grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, n), { flops: 11 * n, bytes: 20 * n }); // σ (3), then 8 for the two products
}
