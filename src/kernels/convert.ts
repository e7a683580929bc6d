// Launcher for shaders/convert.wgsl: half-precision weights as published (BF16, F16) to f32 at load.

import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { ceilDiv, grid1d, needElements, needPositive } from './check';

/** out[n] (f32) from `words` holding n BF16 or F16 values, two per word. */
export async function convertToF32(gpu: Gpu, out: Tensor, words: Tensor, n: number, from: 'BF16' | 'F16'): Promise<Dispatch> {
  needPositive('convert', { n });
  needElements('convert', out, n);
  needElements('convert', words, ceilDiv(n, 2));
  const entry = from === 'BF16' ? 'bf16_to_f32' : 'f16_to_f32';
  return makeDispatch(gpu, { shader: 'convert', entry }, [out, words], [['u32', n]], grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, ceilDiv(n, 2)), { flops: 0, bytes: 2 * n + 4 * n });
}
