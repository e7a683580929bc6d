// Launchers for shaders/dropout.wgsl. The seed changes every micro-batch: dispatches are built
// once and their seed rewritten with setDropoutSeed.

import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { grid1d, needElements, needPositive } from './check';

function params(n: number, p: number, seed: number): [['u32', number], ['u32', number], ['u32', number], ['f32', number]] {
  return [['u32', n], ['u32', seed >>> 0], ['u32', Math.min(0xffffffff, Math.floor(p * 2 ** 32))], ['f32', 1 / (1 - p)]];
}

/** out = x · mask / (1 − p) */
export async function dropoutForward(gpu: Gpu, out: Tensor, x: Tensor, n: number, p: number, seed: number): Promise<Dispatch> {
  needPositive('dropout_forward', { n });
  for (const t of [out, x]) needElements('dropout_forward', t, n);
  return makeDispatch(gpu, { shader: 'dropout', entry: 'dropout_forward' }, [out, x], params(n, p, seed), grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, n), { flops: n, bytes: 8 * n });
}

/** dx += g · mask / (1 − p) (the same mask as dropoutForward with the same seed) */
export async function dropoutBackward(gpu: Gpu, dx: Tensor, g: Tensor, n: number, p: number, seed: number): Promise<Dispatch> {
  needPositive('dropout_backward', { n });
  for (const t of [dx, g]) needElements('dropout_backward', t, n);
  return makeDispatch(gpu, { shader: 'dropout', entry: 'dropout_backward' }, [dx, g], params(n, p, seed), grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, n), { flops: 2 * n, bytes: 12 * n });
}

export function setDropoutSeed(gpu: Gpu, d: Dispatch, seed: number): void {
  gpu.device.queue.writeBuffer(d.uniform!, 4, new Uint32Array([seed >>> 0]));
}
