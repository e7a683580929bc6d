// Launchers for shaders/elementwise.wgsl.

import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { grid1d, needElements, needPositive } from './check';

const grid = (gpu: Gpu, n: number) => grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, n);

/** out[i] = a[i] + b[i] */
export async function addForward(gpu: Gpu, out: Tensor, a: Tensor, b: Tensor, n: number): Promise<Dispatch> {
  needPositive('add_forward', { n });
  for (const t of [out, a, b]) needElements('add_forward', t, n);
  return makeDispatch(gpu, { shader: 'elementwise', entry: 'add_forward' }, [out, a, b], [['u32', n], ['f32', 1]], grid(gpu, n), { flops: n, bytes: 12 * n });
}

/** out[i] = alpha · a[i] */
export async function scaleForward(gpu: Gpu, out: Tensor, a: Tensor, alpha: number, n: number): Promise<Dispatch> {
  needPositive('scale_forward', { n });
  for (const t of [out, a]) needElements('scale_forward', t, n);
  return makeDispatch(gpu, { shader: 'elementwise', entry: 'scale_forward' }, [out, a], [['u32', n], ['f32', alpha]], grid(gpu, n), { flops: n, bytes: 8 * n });
}

/** out[i] += alpha · a[i] */
export async function axpyForward(gpu: Gpu, out: Tensor, a: Tensor, alpha: number, n: number): Promise<Dispatch> {
  needPositive('axpy_forward', { n });
  for (const t of [out, a]) needElements('axpy_forward', t, n);
  return makeDispatch(gpu, { shader: 'elementwise', entry: 'axpy_forward' }, [out, a], [['u32', n], ['f32', alpha]], grid(gpu, n), { flops: 2 * n, bytes: 12 * n });
}
