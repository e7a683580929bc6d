// Launchers for shaders/entropy.wgsl: next-token entropy, log-sum-exp, argmax and label logits
// for rows of logits that stay on the GPU.

import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { ceilDiv, entryFor, needElements, needPositive } from './check';

/** stats [P, 4] = (entropy in nats, log-sum-exp, argmax, max) of each row of logits [P, V]. */
export async function entropyForward(gpu: Gpu, stats: Tensor, logits: Tensor, P: number, V: number): Promise<Dispatch> {
  needPositive('entropy_forward', { P, V });
  needElements('entropy_forward', stats, P * 4);
  needElements('entropy_forward', logits, P * V);
  // GPU set: a 256-wide workgroup per row; software set: an invocation per row.
  const grid = gpu.kernels === 'software' ? [ceilDiv(P, 64)] as const : [P] as const;
  return makeDispatch(gpu, { shader: 'entropy', entry: entryFor(gpu, 'entropy_forward') }, [stats, logits], [['u32', P], ['u32', V], ['u32', 0]], grid, { flops: 5 * P * V, bytes: 4 * (P * V + 4 * P) }); // max, exp, Σ, Σ p·x per logit
}

/** picked [P, J] = logits[p, ids[j]] */
export async function gatherLabels(gpu: Gpu, picked: Tensor, logits: Tensor, ids: Tensor, P: number, V: number, J: number): Promise<Dispatch> {
  needPositive('gather_labels', { P, V, J });
  needElements('gather_labels', picked, P * J);
  needElements('gather_labels', logits, P * V);
  needElements('gather_labels', ids, J);
  return makeDispatch(gpu, { shader: 'entropy', entry: 'gather_labels' }, [picked, logits, ids], [['u32', P], ['u32', V], ['u32', J]], [ceilDiv(P * J, 256)], { flops: 0, bytes: 4 * (2 * P * J + J) });
}
