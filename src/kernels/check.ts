// Size checks shared by the launchers: a launcher refuses tensors that are too small for the
// sizes it was given, naming the tensor, before the GPU reads out of bounds (which WebGPU would
// clamp silently).

import { ShapeError } from '../errors';
import type { Gpu } from '../gpu/device';
import { BYTES_PER_ELEMENT, type Tensor } from '../gpu/tensor';

export function needElements(kernel: string, t: Tensor, elements: number): void {
  const have = t.bytes / BYTES_PER_ELEMENT[t.dtype];
  if (have < elements) throw new ShapeError(`${kernel}: ${t.name} has ${have} elements, needs ${elements} (shape [${t.shape}])`);
}

export function needPositive(kernel: string, sizes: Record<string, number>): void {
  for (const [k, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < 1) throw new ShapeError(`${kernel}: ${k} must be a positive integer, got ${v}`);
  }
}

export const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

/** Workgroups for a 1-D launch of 256-wide workgroups whose invocations stride over n items. */
export function grid1d(maxPerDimension: number, n: number): [number] {
  return [Math.max(1, Math.min(ceilDiv(n, 256), maxPerDimension))];
}

/** Workgroups for one workgroup per item, folded into y when x would exceed the limit. */
export function gridPerItem(maxPerDimension: number, n: number): [number, number] {
  const x = Math.min(n, maxPerDimension);
  return [Math.max(1, x), Math.max(1, ceilDiv(n, maxPerDimension))];
}

/**
 * Workgroups of 64 for the software set's one-invocation-per-item kernels: x·y·64 ≥ n, folded into y
 * when x would exceed the limit (the shader's item index is gid.x + gid.y·nwg.x·64).
 */
export function gridSoftware(maxPerDimension: number, n: number): [number, number] {
  const groups = Math.max(1, ceilDiv(n, 64));
  const x = Math.min(groups, maxPerDimension);
  return [x, ceilDiv(groups, x)];
}

/**
 * Workgroups for R rows (rmsnorm, ce_stats): one workgroup per row (GPU set) or one invocation per
 * row (software set).
 */
export function rowGrid(gpu: Gpu, R: number): [number, number] {
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  return gpu.kernels === 'software' ? gridSoftware(max, R) : gridPerItem(max, R);
}

/** Entry point of a kernel in the device's set: the software twin of `name` is `name_sw`. */
export function entryFor(gpu: Gpu, name: string): string {
  return gpu.kernels === 'software' ? `${name}_sw` : name;
}
