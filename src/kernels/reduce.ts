// Launchers for shaders/reduce.wgsl: a two-pass sum / sum of squares / L2 norm into out[0].

import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { ceilDiv, needElements, needPositive } from './check';

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
  const groups = Math.min(MAX_PARTIALS, ceilDiv(n, 1024));
  needElements('reduce', partials, groups);
  const first = await makeDispatch(gpu, { shader: 'reduce', entry: op === 'sum' ? 'reduce_sum' : 'reduce_sumsq' }, [partials, x], [['u32', n]], [groups]);
  const second = await makeDispatch(
    gpu,
    { shader: 'reduce', entry: 'reduce_sum', constants: { FINAL_SQRT: op === 'norm' ? 1 : 0 } },
    [out, partials],
    [['u32', groups]],
    [1],
  );
  return [first, second];
}
