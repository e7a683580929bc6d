// Launcher for attention-backward.wgsl: the backward pass of causal GQA attention over a whole
// sequence (pos0 = 0, S = T), rebuilding the probabilities from the forward's saved lse.
// Outputs first, then inputs, then sizes.

import { ShapeError } from '../errors';
import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { PipelineKey } from '../gpu/pipelines';
import type { Tensor } from '../gpu/tensor';
import { ceilDiv, gridSoftware, needElements, needPositive } from './check';

export interface AttentionBackwardSizes {
  B: number;
  T: number;
  NH: number;
  NKV: number;
  HS: number;
}

/**
 * dq [B,T,NH,HS], dk/dv [B,T,NKV,HS] (all =) and the scratch D [B,NH,T] (= Σ_d dy·y) from
 * dy, y [B,T,NH,HS], lse [B,NH,T], q [B,T,NH,HS], k/v [B,T,NKV,HS].
 * Two dispatches, to be recorded in this order: dkv reads the D that dq writes.
 */
export async function attentionBackward(
  gpu: Gpu, dq: Tensor, dk: Tensor, dv: Tensor, D: Tensor,
  dy: Tensor, y: Tensor, lse: Tensor, q: Tensor, k: Tensor, v: Tensor,
  sizes: AttentionBackwardSizes,
): Promise<Dispatch[]> {
  const { B, T, NH, NKV, HS } = sizes;
  needPositive('attention_backward', { B, T, NH, NKV, HS });
  if (HS > 256) throw new ShapeError(`attention_backward: head size ${HS} > 256 is not supported`);
  if (NH % NKV) throw new ShapeError(`attention_backward: ${NH} heads are not a multiple of ${NKV} kv heads`);
  for (const t of [dq, dy, y, q]) needElements('attention_backward', t, B * T * NH * HS);
  for (const t of [dk, dv, k, v]) needElements('attention_backward', t, B * T * NKV * HS);
  for (const t of [D, lse]) needElements('attention_backward', t, B * NH * T);
  const params = [['u32', T], ['u32', NH], ['u32', NKV], ['u32', HS], ['f32', 1 / Math.sqrt(HS)]] as const;
  const key = { shader: 'attention-backward' };
  // GPU set: workgroups of 256 over tiles, dq per 64 (query, head) rows of a kv head's group, dkv per 32
  // keys; software set: an invocation per row, 64 to a workgroup, rows read as vec4 (head sizes that are
  // not a multiple of 4 use the tiled entries).
  const software = gpu.kernels === 'software' && HS % 4 === 0;
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  const dqGrid: [number, number, number] = software ? [...gridSoftware(max, T * NH), B] : [NKV, B, ceilDiv(T * (NH / NKV), 64)];
  const dkvGrid: [number, number, number] = software ? [...gridSoftware(max, T * NKV), B] : [NKV, B, ceilDiv(T, 32)];
  // Per causal (query, key, head) triple, B·NH·T(T+1)/2 of them (the shader's napkin maths): dq 6·HS
  // FLOPs (s, dP, dq) and dkv 8·HS (s, dP, dk, dv), each plus 3 for P = exp(s − lse) and dS.
  // Bytes: every operand read once, every output written once.
  const triples = (B * NH * T * (T + 1)) / 2;
  const qSize = B * T * NH * HS, kvSize = B * T * NKV * HS, rowSize = B * NH * T;
  const dqCost = { flops: triples * (6 * HS + 3), bytes: 4 * (3 * qSize + 2 * kvSize + rowSize + qSize + rowSize) }; //  dy, y, q, k, v, lse → dq, D
  const dkvCost = { flops: triples * (8 * HS + 3), bytes: 4 * (2 * qSize + 2 * kvSize + 2 * rowSize + 2 * kvSize) }; // dy, q, k, v, D, lse → dk, dv
  const k4 = (entry: string): PipelineKey =>
    software ? { ...key, entry: `${entry}_sw`, constants: { HS4: HS / 4 } } : { ...key, entry, constants: { NU4: ceilDiv(HS, 64) } };
  return [
    await makeDispatch(gpu, k4('attention_backward_dq'), [dq, D, dy, y, lse, q, k, v], params, dqGrid, dqCost),
    await makeDispatch(gpu, k4('attention_backward_dkv'), [dk, dv, dy, D, lse, q, k, v], params, dkvGrid, dkvCost),
  ];
}
