// Launchers for shaders/rope.wgsl: rotary position embedding on q and k (in place, or into another
// tensor), the cos/sin table it reads, and the inverse rotation in place for the backward pass.
// Outputs first, then inputs, then sizes.

import { ShapeError } from '../errors';
import type { Gpu } from '../gpu/device';
import { makeDispatch, type Cost, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { grid1d, needElements, needPositive } from './check';

/** cos/sin table [P, HS]: row p = [cos(p·f_0) … cos(p·f_{HS/2−1}), sin(p·f_0) …], in float64 then f32. */
export function ropeTable(invFreq: ArrayLike<number>, P: number): Float32Array {
  const half = invFreq.length;
  const t = new Float32Array(P * 2 * half);
  for (let p = 0; p < P; p++) {
    for (let i = 0; i < half; i++) {
      t[p * 2 * half + i] = Math.cos(p * invFreq[i]);
      t[p * 2 * half + half + i] = Math.sin(p * invFreq[i]);
    }
  }
  return t;
}

/**
 * y = rope(x) on [rows, H, HS]; rows are b·T + t, position pos0 + t; table from ropeTable(). In place
 * (rope_forward) when y is x, as inference runs it; otherwise read from x and written to y
 * (rope_forward_out), which must then be separate buffers. pos0 is uniform field 4 either way.
 */
export async function ropeForward(gpu: Gpu, y: Tensor, x: Tensor, table: Tensor, rows: number, H: number, HS: number, T: number, pos0 = 0): Promise<Dispatch> {
  needPositive('rope_forward', { rows, H, HS, T });
  if (HS % 2) throw new ShapeError(`rope_forward: head size ${HS} must be even`);
  needElements('rope_forward', y, rows * H * HS);
  needElements('rope_forward', x, rows * H * HS);
  needElements('rope_forward', table, (pos0 + Math.min(T, rows)) * HS);
  const inPlace = y.buffer === x.buffer && y.offset === x.offset;
  if (!inPlace && y.buffer === x.buffer) throw new ShapeError(`rope_forward: ${y.name} and ${x.name} share a buffer at different offsets (a read_write binding may not alias another): pass the same tensor twice to rotate in place`);
  const params = [['u32', rows], ['u32', H], ['u32', HS], ['u32', T], ['u32', pos0]] as const;
  const [entry, tensors] = inPlace ? ['rope_forward', [y, table]] : ['rope_forward_out', [y, table, x]];
  return makeDispatch(gpu, { shader: 'rope', entry }, tensors, params, grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, (rows * H * HS) / 2), ropeCost(rows, H, HS, T));
}

/** In place on the gradient dx [rows, H, HS]: the inverse rotation. */
export async function ropeBackward(gpu: Gpu, dx: Tensor, table: Tensor, rows: number, H: number, HS: number, T: number): Promise<Dispatch> {
  needPositive('rope_backward', { rows, H, HS, T });
  needElements('rope_backward', dx, rows * H * HS);
  needElements('rope_backward', table, Math.min(T, rows) * HS);
  const params = [['u32', rows], ['u32', H], ['u32', HS], ['u32', T], ['u32', 0]] as const;
  return makeDispatch(gpu, { shader: 'rope', entry: 'rope_backward' }, [dx, table], params, grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, (rows * H * HS) / 2), ropeCost(rows, H, HS, T));
}

/** A rotation of each (x0, x1) pair: 4 multiplies and 2 adds; x read and y written once (in place or not), the table's rows read once. */
function ropeCost(rows: number, H: number, HS: number, T: number): Cost {
  return { flops: 3 * rows * H * HS, bytes: 4 * (2 * rows * H * HS + Math.min(T, rows) * HS) };
}
