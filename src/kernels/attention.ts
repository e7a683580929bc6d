// Launcher for shaders/attention.wgsl: causal GQA attention forward, over a whole sequence or
// appended to a KV cache (attention-backward.ts has the backward). Outputs first, then inputs, then sizes.

import { ShapeError } from '../errors';
import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { ceilDiv, gridSoftware, needElements, needPositive } from './check';

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
  // Causal (query, key) pairs per (b, h): query i sees pos0 + i + 1 keys. 4·HS FLOPs per pair (the score's
  // dot product and the weighted sum of v) and 5 for its softmax; q, k, v of the keys seen read once,
  // y and lse written. (pos0 as built: a KV cache patches it later, which this does not follow.)
  const pairs = B * NH * (Tq * pos0 + (Tq * (Tq + 1)) / 2);
  const cost = { flops: pairs * (4 * HS + 5), bytes: 4 * (2 * B * Tq * NH * HS + 2 * B * (pos0 + Tq) * NKV * HS + B * NH * Tq) };
  // GPU set: a workgroup of 256 per tile of 64 (query, head) rows of one kv head's group, keys 32 at a
  // time, grid (NKV, B, row tiles) with the longest tiles started first; NU4 = ceil(HS/64) sizes the
  // output accumulators. The grid leaves pos0 out (an inference plan patches it later). Software set: an
  // invocation per (query, head), rows read as vec4 (head sizes that are not a multiple of 4 use the
  // tiled entry).
  if (gpu.kernels === 'software' && HS % 4 === 0) {
    return makeDispatch(gpu, { shader: 'attention', entry: 'attention_forward_sw', constants: { HS4: HS / 4 } }, [y, lse, q, k, v], params, [...gridSoftware(gpu.limits.maxComputeWorkgroupsPerDimension, Tq * NH), B], cost);
  }
  const rowTiles = ceilDiv(Tq * (NH / NKV), 64);
  return makeDispatch(gpu, { shader: 'attention', entry: 'attention_forward', constants: { NU4: ceilDiv(HS, 64) } }, [y, lse, q, k, v], params, [NKV, B, rowTiles], cost);
}
