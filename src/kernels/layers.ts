// Launchers for the per-layer kernels of the forward pass: rmsnorm.wgsl, rope.wgsl, swiglu.wgsl,
// attention.wgsl, rows.wgsl. Outputs first, then inputs, then sizes.

import { ShapeError } from '../errors';
import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { entryFor, grid1d, gridPerItem, gridSoftware, needElements, needPositive } from './check';

const max = (gpu: Gpu) => gpu.limits.maxComputeWorkgroupsPerDimension;

/** y[R,W] = x · rstd · w, rstd[R] saved. */
export async function rmsnormForward(gpu: Gpu, y: Tensor, rstd: Tensor, x: Tensor, w: Tensor, R: number, W: number, eps: number): Promise<Dispatch> {
  needPositive('rmsnorm_forward', { R, W });
  needElements('rmsnorm_forward', y, R * W);
  needElements('rmsnorm_forward', x, R * W);
  needElements('rmsnorm_forward', rstd, R);
  needElements('rmsnorm_forward', w, W);
  return makeDispatch(gpu, rmsnormKey(gpu, 'rmsnorm_forward', W), [y, rstd, x, w], [['u32', R], ['u32', W], ['f32', eps], ['u32', 0]], rowGrid(gpu, R));
}

/** GPU set: a workgroup of rowThreads(W) per row; software set: an invocation per row. */
function rmsnormKey(gpu: Gpu, entry: string, W: number) {
  return gpu.kernels === 'software' ? { shader: 'rmsnorm', entry: entryFor(gpu, entry) } : { shader: 'rmsnorm', entry, constants: { WG: rowThreads(W) } };
}

/** Workgroups for R rows: one workgroup per row (GPU set) or one invocation per row (software set). */
export function rowGrid(gpu: Gpu, R: number): [number, number] {
  return gpu.kernels === 'software' ? gridSoftware(max(gpu), R) : gridPerItem(max(gpu), R);
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
  return makeDispatch(gpu, rmsnormKey(gpu, 'rmsnorm_backward', W), [dx, dy, x, w, rstd], [['u32', R], ['u32', W], ['f32', 0], ['u32', accumulate ? 1 : 0]], rowGrid(gpu, R));
}

/** dw[W] += Σ_r dy·x·rstd (the norm's own weight; full fine-tuning). */
export async function rmsnormBackwardWeight(gpu: Gpu, dw: Tensor, dy: Tensor, x: Tensor, rstd: Tensor, R: number, W: number): Promise<Dispatch> {
  needPositive('rmsnorm_backward_weight', { R, W });
  for (const t of [dy, x]) needElements('rmsnorm_backward_weight', t, R * W);
  needElements('rmsnorm_backward_weight', dw, W);
  needElements('rmsnorm_backward_weight', rstd, R);
  return makeDispatch(gpu, { shader: 'rmsnorm', entry: 'rmsnorm_backward_weight' }, [dw, dy, x, rstd], [['u32', R], ['u32', W], ['f32', 0], ['u32', 1]], grid1d(max(gpu), W));
}

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

/** In place on x [rows, H, HS]; rows are b·T + t, position pos0 + t; table from ropeTable(). */
export async function ropeForward(gpu: Gpu, x: Tensor, table: Tensor, rows: number, H: number, HS: number, T: number, pos0 = 0): Promise<Dispatch> {
  needPositive('rope_forward', { rows, H, HS, T });
  if (HS % 2) throw new ShapeError(`rope_forward: head size ${HS} must be even`);
  needElements('rope_forward', x, rows * H * HS);
  needElements('rope_forward', table, (pos0 + Math.min(T, rows)) * HS);
  const params = [['u32', rows], ['u32', H], ['u32', HS], ['u32', T], ['u32', pos0]] as const;
  return makeDispatch(gpu, { shader: 'rope', entry: 'rope_forward' }, [x, table], params, grid1d(max(gpu), (rows * H * HS) / 2));
}

/** In place on the gradient dx [rows, H, HS]: the inverse rotation. */
export async function ropeBackward(gpu: Gpu, dx: Tensor, table: Tensor, rows: number, H: number, HS: number, T: number): Promise<Dispatch> {
  needPositive('rope_backward', { rows, H, HS, T });
  needElements('rope_backward', dx, rows * H * HS);
  needElements('rope_backward', table, Math.min(T, rows) * HS);
  const params = [['u32', rows], ['u32', H], ['u32', HS], ['u32', T], ['u32', 0]] as const;
  return makeDispatch(gpu, { shader: 'rope', entry: 'rope_backward' }, [dx, table], params, grid1d(max(gpu), (rows * H * HS) / 2));
}

/** h[n] = silu(gate) · up */
export async function swigluForward(gpu: Gpu, h: Tensor, gate: Tensor, up: Tensor, n: number): Promise<Dispatch> {
  needPositive('swiglu_forward', { n });
  for (const t of [h, gate, up]) needElements('swiglu_forward', t, n);
  return makeDispatch(gpu, { shader: 'swiglu', entry: 'swiglu_forward' }, [h, gate, up], [['u32', n]], grid1d(max(gpu), n));
}

/** dgate, dup (=) from dh and the saved gate, up. */
export async function swigluBackward(gpu: Gpu, dgate: Tensor, dup: Tensor, dh: Tensor, gate: Tensor, up: Tensor, n: number): Promise<Dispatch> {
  needPositive('swiglu_backward', { n });
  for (const t of [dgate, dup, dh, gate, up]) needElements('swiglu_backward', t, n);
  return makeDispatch(gpu, { shader: 'swiglu', entry: 'swiglu_backward' }, [dgate, dup, dh, gate, up], [['u32', n]], grid1d(max(gpu), n));
}

export interface AttentionSizes {
  B: number;
  Tq: number;
  /** Rows per batch item in k and v (the cache capacity; Tq for a whole sequence). */
  S: number;
  NH: number;
  NKV: number;
  HS: number;
  /** Position of the first query (tokens already in the cache). */
  pos0: number;
}

/** Causal GQA attention: y [B,Tq,NH,HS], lse [B,NH,Tq] from q [B,Tq,NH,HS], k/v [B,S,NKV,HS]. */
export async function attentionForward(gpu: Gpu, y: Tensor, lse: Tensor, q: Tensor, k: Tensor, v: Tensor, s: AttentionSizes): Promise<Dispatch> {
  const { B, Tq, S, NH, NKV, HS, pos0 } = s;
  needPositive('attention_forward', { B, Tq, S, NH, NKV, HS });
  if (HS > 256) throw new ShapeError(`attention_forward: head size ${HS} > 256 is not supported`);
  if (NH % NKV) throw new ShapeError(`attention_forward: ${NH} heads are not a multiple of ${NKV} kv heads`);
  if (pos0 + Tq > S) throw new ShapeError(`attention_forward: positions up to ${pos0 + Tq} exceed the cache of ${S}`);
  needElements('attention_forward', y, B * Tq * NH * HS);
  needElements('attention_forward', q, B * Tq * NH * HS);
  needElements('attention_forward', lse, B * NH * Tq);
  needElements('attention_forward', k, B * S * NKV * HS);
  needElements('attention_forward', v, B * S * NKV * HS);
  const params = [['u32', Tq], ['u32', S], ['u32', NH], ['u32', NKV], ['u32', HS], ['u32', pos0], ['f32', 1 / Math.sqrt(HS)]] as const;
  // GPU set: a workgroup per (query, head); software set: an invocation per (query, head), rows read
  // as vec4 (head sizes that are not a multiple of 4 use the tiled entry).
  if (gpu.kernels === 'software' && HS % 4 === 0) {
    return makeDispatch(gpu, { shader: 'attention', entry: 'attention_forward_sw', constants: { HS4: HS / 4 } }, [y, lse, q, k, v], params, [...gridSoftware(max(gpu), Tq * NH), B]);
  }
  return makeDispatch(gpu, { shader: 'attention', entry: 'attention_forward' }, [y, lse, q, k, v], params, [Tq, NH, B]);
}

/** out[r,:] = x[idx[r],:] for r < R */
export async function gatherRows(gpu: Gpu, out: Tensor, x: Tensor, idx: Tensor, R: number, W: number): Promise<Dispatch> {
  needPositive('gather_rows', { R, W });
  needElements('gather_rows', out, R * W);
  needElements('gather_rows', idx, R);
  return makeDispatch(gpu, { shader: 'rows', entry: 'gather_rows' }, [out, x, idx], [['u32', R], ['u32', W], ['u32', 1], ['u32', 1], ['u32', 0]], grid1d(max(gpu), R * W));
}

/** Append x [B·Tq, W] to a cache [B, S, W] at positions pos0.. */
export async function scatterRows(gpu: Gpu, cache: Tensor, x: Tensor, B: number, Tq: number, S: number, W: number, pos0: number): Promise<Dispatch> {
  needPositive('scatter_rows', { B, Tq, S, W });
  if (pos0 + Tq > S) throw new ShapeError(`scatter_rows: positions up to ${pos0 + Tq} exceed the cache of ${S}`);
  needElements('scatter_rows', cache, B * S * W);
  needElements('scatter_rows', x, B * Tq * W);
  return makeDispatch(gpu, { shader: 'rows', entry: 'scatter_rows' }, [cache, x], [['u32', B * Tq], ['u32', W], ['u32', Tq], ['u32', S], ['u32', pos0]], grid1d(max(gpu), B * Tq * W));
}

/** out[idx[r],:] = x[r,:] for r < R (other rows of out untouched) */
export async function scatterRowsIdx(gpu: Gpu, out: Tensor, x: Tensor, idx: Tensor, R: number, W: number): Promise<Dispatch> {
  needPositive('scatter_rows_idx', { R, W });
  needElements('scatter_rows_idx', x, R * W);
  needElements('scatter_rows_idx', idx, R);
  return makeDispatch(gpu, { shader: 'rows', entry: 'scatter_rows_idx' }, [out, x, idx], [['u32', R], ['u32', W], ['u32', 1], ['u32', 1], ['u32', 0]], grid1d(max(gpu), R * W));
}
