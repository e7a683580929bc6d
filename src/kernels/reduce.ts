// Launchers for shaders/reduce.wgsl: a two-pass sum / sum of squares / L2 norm into out[0].

import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { ceilDiv, entryFor, needElements, needPositive } from './check';

/** Workgroups of the first pass: enough to fill a GPU, and at most 256 so one workgroup finishes. */
const MAX_PARTIALS = 256;

export type ReduceOp = 'sum' | 'sumsq' | 'norm';

/**
 * out[0] = Σ x (sum), Σ x² (sumsq) or sqrt(Σ x²) (norm) over x[0..n). `partials` is scratch of at
 * least 256 floats. Returns the two dispatches, to be recorded in order.
 */
export async function reduceForward(gpu: Gpu, out: Tensor, partials: Tensor, x: Tensor, n: number, op: ReduceOp): Promise<Dispatch[]> {
  needPositive('reduce', { n });
  needElements('reduce', x, n);
  needElements('reduce', out, 1);
  // GPU set: G ≤ 256 workgroups of 256 leave G partials, one workgroup sums them. Software set: 4
  // workgroups of 64 invocations leave 256 strided partials, one invocation sums them (no barriers).
  const software = gpu.kernels === 'software';
  const groups = software ? 4 : Math.min(MAX_PARTIALS, ceilDiv(n, 1024));
  const partialCount = software ? 256 : groups;
  needElements('reduce', partials, partialCount);
  const first = await makeDispatch(gpu, { shader: 'reduce', entry: entryFor(gpu, op === 'sum' ? 'reduce_sum' : 'reduce_sumsq') }, [partials, x], [['u32', n]], [groups], { flops: (op === 'sum' ? 1 : 2) * n, bytes: 4 * (n + partialCount) });
  const second = await makeDispatch(
    gpu,
    { shader: 'reduce', entry: software ? 'reduce_final_sw' : 'reduce_sum', constants: { FINAL_SQRT: op === 'norm' ? 1 : 0 } },
    [out, partials],
    [['u32', partialCount]],
    [1],
    { flops: partialCount, bytes: 4 * (partialCount + 1) },
  );
  return [first, second];
}
