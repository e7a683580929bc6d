// Shared helpers for GPU tests: one device per test file, tensors from host arrays, poisoned
// outputs (NaN everywhere, so an element the kernel forgot to write fails the comparison).

import { afterAll } from 'vitest';
import { createDevice, type Gpu, type KernelChoice } from '../../src/gpu/device';
import { run, type Dispatch, releaseDispatch } from '../../src/gpu/dispatch';
import type { Tensor } from '../../src/gpu/tensor';
import type { Bits } from '../../src/kernels/quantize';

let shared: Promise<Gpu> | null = null;

/** The kernel set under test: vitest's projects run the kernel and fixture suites once per set
 *  (ENTROTUNE_KERNELS=gpu|software, see vite.config.ts); everything else gets the adapter's own. */
export const KERNELS = (process.env.ENTROTUNE_KERNELS ?? 'auto') as KernelChoice;

export function getGpu(): Promise<Gpu> {
  if (!shared) {
    shared = createDevice({ kernels: KERNELS });
    afterAll(async () => {
      const gpu = await shared!;
      expectNoUncapturedErrors(gpu);
      gpu.destroy();
      shared = null;
    });
  }
  return shared;
}

function expectNoUncapturedErrors(gpu: Gpu): void {
  if (gpu.uncapturedErrors.length) throw gpu.uncapturedErrors[0];
}

export function upload(gpu: Gpu, name: string, data: Float32Array, shape: number[] = [data.length]): Tensor {
  const t = gpu.tensor(name, shape);
  gpu.write(t, data);
  return t;
}

export function poisoned(gpu: Gpu, name: string, n: number): Tensor {
  return upload(gpu, name, new Float32Array(n).fill(NaN));
}

/** Run dispatches, read one tensor back, release the dispatches' uniforms. */
export async function runAndRead(gpu: Gpu, dispatches: Dispatch | Dispatch[], out: Tensor): Promise<Float32Array> {
  const list = Array.isArray(dispatches) ? dispatches : [dispatches];
  await run(gpu, list);
  const result = await gpu.read(out);
  for (const d of list) releaseDispatch(gpu, d);
  return result;
}

export function free(gpu: Gpu, ...tensors: Tensor[]): void {
  for (const t of tensors) gpu.destroyBuffer(t.buffer);
}

export function uploadU32(gpu: Gpu, name: string, data: Uint32Array): Tensor {
  const t = gpu.tensor(name, [data.length], 'u32');
  gpu.write(t, data);
  return t;
}

/** A binding limit that splits an [N, K] weight at `bits` into about `parts` row chunks. */
export const bindingFor = (N: number, K: number, bits: Bits, parts: number): number => Math.ceil((N * K * bits) / 8 / parts);
