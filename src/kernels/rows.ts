// Launchers for shaders/rows.wgsl: whole rows moved by index (the positions whose logits are asked
// for, and their gradients back) or appended to a KV cache. Outputs first, then inputs, then sizes.

import { ShapeError } from '../errors';
import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { grid1d, needElements, needPositive } from './check';

/** out[r,:] = x[idx[r],:] for r < R */
export async function gatherRows(gpu: Gpu, out: Tensor, x: Tensor, idx: Tensor, R: number, W: number): Promise<Dispatch> {
  needPositive('gather_rows', { R, W });
  needElements('gather_rows', out, R * W);
  needElements('gather_rows', idx, R);
  return makeDispatch(gpu, { shader: 'rows', entry: 'gather_rows' }, [out, x, idx], [['u32', R], ['u32', W], ['u32', 1], ['u32', 1], ['u32', 0]], grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, R * W), { flops: 0, bytes: 4 * (2 * R * W + R) });
}

/** Append x [B·Tq, W] to a cache [B, S, W] at positions pos0.. */
export async function scatterRows(gpu: Gpu, cache: Tensor, x: Tensor, B: number, Tq: number, S: number, W: number, pos0: number): Promise<Dispatch> {
  needPositive('scatter_rows', { B, Tq, S, W });
  if (pos0 + Tq > S) throw new ShapeError(`scatter_rows: positions up to ${pos0 + Tq} exceed the cache of ${S}`);
  needElements('scatter_rows', cache, B * S * W);
  needElements('scatter_rows', x, B * Tq * W);
  return makeDispatch(gpu, { shader: 'rows', entry: 'scatter_rows' }, [cache, x], [['u32', B * Tq], ['u32', W], ['u32', Tq], ['u32', S], ['u32', pos0]], grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, B * Tq * W), { flops: 0, bytes: 8 * B * Tq * W });
}

/** out[idx[r],:] = x[r,:] for r < R (other rows of out untouched) */
export async function scatterRowsIdx(gpu: Gpu, out: Tensor, x: Tensor, idx: Tensor, R: number, W: number): Promise<Dispatch> {
  needPositive('scatter_rows_idx', { R, W });
  needElements('scatter_rows_idx', x, R * W);
  needElements('scatter_rows_idx', idx, R);
  return makeDispatch(gpu, { shader: 'rows', entry: 'scatter_rows_idx' }, [out, x, idx], [['u32', R], ['u32', W], ['u32', 1], ['u32', 1], ['u32', 0]], grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, R * W), { flops: 0, bytes: 4 * (2 * R * W + R) });
}
