// Launchers for shaders/rmsnorm.wgsl: the layer norms and Qwen3's per-head q/k norms, forward and
// backward. Outputs first, then inputs, then sizes.

import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { entryFor, grid1d, needElements, needPositive, rowGrid } from './check';

/** y[R,W] = x · rstd · w, rstd[R] saved. */
export async function rmsnormForward(gpu: Gpu, y: Tensor, rstd: Tensor, x: Tensor, w: Tensor, R: number, W: number, eps: number): Promise<Dispatch> {
  needPositive('rmsnorm_forward', { R, W });
  needElements('rmsnorm_forward', y, R * W);
  needElements('rmsnorm_forward', x, R * W);
  needElements('rmsnorm_forward', rstd, R);
  needElements('rmsnorm_forward', w, W);
  return makeDispatch(gpu, rmsnormKey(gpu, 'rmsnorm_forward', W), [y, rstd, x, w], [['u32', R], ['u32', W], ['f32', eps], ['u32', 0]], rowGrid(gpu, R),
    { flops: 4 * R * W, bytes: 4 * (2 * R * W + W + R) }); // Σ x², then x·rstd·w
}

/** GPU set: a workgroup of rowThreads(W) per row; software set: an invocation per row. */
function rmsnormKey(gpu: Gpu, entry: string, W: number) {
  return gpu.kernels === 'software' ? { shader: 'rmsnorm', entry: entryFor(gpu, entry) } : { shader: 'rmsnorm', entry, constants: { WG: rowThreads(W) } };
}

/** Threads per row for rmsnorm: about one per two elements, a power of two in [32, 256]. */
export function rowThreads(W: number): number {
  return Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(Math.ceil(W / 2)))));
}

/** dx[R,W] (= or +=) from dy, x, w and the saved rstd. */
export async function rmsnormBackward(gpu: Gpu, dx: Tensor, dy: Tensor, x: Tensor, w: Tensor, rstd: Tensor, R: number, W: number, accumulate: boolean): Promise<Dispatch> {
  needPositive('rmsnorm_backward', { R, W });
  for (const t of [dx, dy, x]) needElements('rmsnorm_backward', t, R * W);
  needElements('rmsnorm_backward', w, W);
  needElements('rmsnorm_backward', rstd, R);
  return makeDispatch(gpu, rmsnormKey(gpu, 'rmsnorm_backward', W), [dx, dy, x, w, rstd], [['u32', R], ['u32', W], ['f32', 0], ['u32', accumulate ? 1 : 0]], rowGrid(gpu, R),
    { flops: 7 * R * W, bytes: 4 * ((accumulate ? 4 : 3) * R * W + W + R) }); // Σ w·dy·x, then rstd·(w·dy − x·c) (+ dx)
}

/** dw[W] += Σ_r dy·x·rstd (the norm's own weight; full fine-tuning). */
export async function rmsnormBackwardWeight(gpu: Gpu, dw: Tensor, dy: Tensor, x: Tensor, rstd: Tensor, R: number, W: number): Promise<Dispatch> {
  needPositive('rmsnorm_backward_weight', { R, W });
  for (const t of [dy, x]) needElements('rmsnorm_backward_weight', t, R * W);
  needElements('rmsnorm_backward_weight', dw, W);
  needElements('rmsnorm_backward_weight', rstd, R);
  return makeDispatch(gpu, { shader: 'rmsnorm', entry: 'rmsnorm_backward_weight' }, [dw, dy, x, rstd], [['u32', R], ['u32', W], ['f32', 0], ['u32', 1]], grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, W),
    { flops: 3 * R * W, bytes: 4 * (2 * R * W + R + 2 * W) });
}
