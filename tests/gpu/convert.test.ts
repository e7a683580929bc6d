// bf16_to_f32 and f16_to_f32 through the weight loader: every value as the reference encoder says
// the stored bytes stand for, including signed zero, the f16 maximum and an f16 subnormal.
import { describe, expect, it } from 'vitest';
import { destroyWeight, LoadScratch, loadWeight, type WeightSource } from '../../src/model/weights';
import { writeHalves } from '../reference/convert';
import { randomArray } from '../reference/random';
import { getGpu } from './gpu';

describe('convert (BF16/F16 → f32 on the GPU at load)', () => {
  for (const dtype of ['BF16', 'F16'] as const) {
    it(`converts ${dtype} weights exactly as stored (odd element count)`, async () => {
      const gpu = await getGpu();
      const scratch = new LoadScratch(gpu);
      const [N, K] = [3, 7];
      const W = randomArray(N * K, 13, 4);
      W[0] = 0; W[1] = -0; W[2] = 65504; W[3] = 6e-8; // zero, negative zero, f16 max, f16 subnormal
      const { bytes, values } = writeHalves(W, dtype);
      const src: WeightSource = { name: 'h', dtype, read: async (o, c) => bytes.subarray(o * 2, (o + c) * 2) };
      const { weight } = await loadWeight(gpu, scratch, src, N, K, 32);
      const back = new Float32Array(await gpu.readback.read(weight.chunks[0].words.buffer, weight.chunks[0].words.offset, N * K * 4));
      expect(Array.from(back)).toEqual(Array.from(values));
      destroyWeight(gpu, weight);
      scratch.destroy();
    });
  }
});
