// attention_forward (causal GQA, online softmax) against the float64 reference: whole sequences and
// decoding with a KV cache (attention-backward.test.ts has the backward).
import { describe, expect, it } from 'vitest';
import { attentionForward } from '../../src/kernels/attention';
import * as ref from '../reference/attention';
import { firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { free, getGpu, poisoned, runAndRead, upload } from './gpu';

describe('attention_forward (causal GQA, online softmax)', () => {
  const cases = [
    { B: 1, Tq: 1, S: 1, NH: 1, NKV: 1, HS: 4, pos0: 0 },
    { B: 2, Tq: 5, S: 5, NH: 4, NKV: 2, HS: 16, pos0: 0 },
    { B: 1, Tq: 70, S: 70, NH: 2, NKV: 1, HS: 24, pos0: 0 }, // more than one 64-key block
    { B: 3, Tq: 3, S: 9, NH: 6, NKV: 2, HS: 8, pos0: 4 }, // decoding with a cache
    { B: 1, Tq: 2, S: 2, NH: 2, NKV: 2, HS: 130, pos0: 0 }, // HS not a multiple of 64 (nor of 4: the software set falls back to the tiled entry)
    { B: 1, Tq: 3, S: 3, NH: 1, NKV: 1, HS: 256, pos0: 0 }, // the largest head
    // the GPU set's tiles (64 rows = (query, head) pairs of one kv head's group, 32 keys): shapes across
    // their edges in rows and keys, every head size class (NU4 = 1 … 4), batch strides, GQA
    { B: 2, Tq: 70, S: 70, NH: 6, NKV: 2, HS: 64, pos0: 0 },
    { B: 2, Tq: 130, S: 130, NH: 6, NKV: 2, HS: 130, pos0: 0 },
    { B: 1, Tq: 130, S: 130, NH: 14, NKV: 2, HS: 64, pos0: 0 }, // Qwen2.5-0.5B's heads: 7 query heads per kv head
    { B: 1, Tq: 40, S: 40, NH: 4, NKV: 2, HS: 96, pos0: 0 },
    { B: 1, Tq: 45, S: 45, NH: 2, NKV: 1, HS: 200, pos0: 0 },
    { B: 1, Tq: 3, S: 3, NH: 80, NKV: 1, HS: 8, pos0: 0 }, // one query's 80 heads straddle two row tiles
    { B: 2, Tq: 1, S: 100, NH: 6, NKV: 2, HS: 64, pos0: 77 }, // decoding one token with a cache across key tiles
    { B: 1, Tq: 5, S: 90, NH: 14, NKV: 2, HS: 64, pos0: 40 }, // a few tokens appended to a cache
  ];
  for (const c of cases) {
    it(JSON.stringify(c), async () => {
      const gpu = await getGpu();
      const { B, Tq, S, NH, NKV, HS, pos0 } = c;
      const q = randomArray(B * Tq * NH * HS, 6, 2), k = randomArray(B * S * NKV * HS, 7, 2), v = randomArray(B * S * NKV * HS, 8);
      const tq = upload(gpu, 'q', q), tk = upload(gpu, 'k', k), tv = upload(gpu, 'v', v);
      const ty = poisoned(gpu, 'y', B * Tq * NH * HS), tl = poisoned(gpu, 'lse', B * NH * Tq);
      const y = await runAndRead(gpu, await attentionForward(gpu, ty, tl, tq, tk, tv, c), ty);
      const want = ref.attentionForward(q, k, v, B, Tq, S, NH, NKV, HS, pos0);
      expect(firstMismatch(y, want.y, 1e-4, 1e-5)).toBeNull();
      expect(firstMismatch(await gpu.read(tl), want.lse, 1e-5, 1e-5)).toBeNull();
      free(gpu, tq, tk, tv, ty, tl);
    });
  }

  it('pos0 patched into the uniform after the launch is built (as an inference plan does) is followed', async () => {
    // The plan builds its launches with pos0 = 0 and writes the cache length into Params.pos0 (field 5)
    // before each run: the grid must not depend on pos0, only the key loop.
    const gpu = await getGpu();
    const [B, S, NH, NKV, HS] = [2, 75, 6, 2, 64];
    const k = randomArray(B * S * NKV * HS, 7, 2), v = randomArray(B * S * NKV * HS, 8);
    const tk = upload(gpu, 'k', k), tv = upload(gpu, 'v', v);
    for (const [Tq, pos0] of [[1, 70], [3, 40]]) {
      const q = randomArray(B * Tq * NH * HS, 6 + Tq, 2);
      const tq = upload(gpu, 'q', q);
      const ty = poisoned(gpu, 'y', B * Tq * NH * HS), tl = poisoned(gpu, 'lse', B * NH * Tq);
      const d = await attentionForward(gpu, ty, tl, tq, tk, tv, { B, Tq, S, NH, NKV, HS, pos0: 0 });
      gpu.device.queue.writeBuffer(d.uniform!, 5 * 4, new Uint32Array([pos0]));
      const y = await runAndRead(gpu, d, ty);
      const want = ref.attentionForward(q, k, v, B, Tq, S, NH, NKV, HS, pos0);
      expect(firstMismatch(y, want.y, 1e-4, 1e-5)).toBeNull();
      expect(firstMismatch(await gpu.read(tl), want.lse, 1e-5, 1e-5)).toBeNull();
      free(gpu, tq, ty, tl);
    }
    free(gpu, tk, tv);
  });
});
