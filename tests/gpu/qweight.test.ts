import { describe, expect, it } from 'vitest';
import { embeddingForward, INT8_TABLE, linearForward, NF4_TABLE, type Bits } from '../../src/kernels/qweight';
import { destroyWeight, f32Source, LoadScratch, loadWeight, type WeightSource } from '../../src/model/weights';
import * as ref from '../reference/layers';
import { firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { writeHalves } from '../reference/halves';
import { free, getGpu, poisoned, runAndRead, upload } from './gpu';
import { releaseDispatch, run } from '../../src/gpu/dispatch';

/** The weights the GPU should hold after loading: exact for f32, dequantised for NF4/int8. */
function expected(W: Float32Array, bits: Bits): Float64Array {
  if (bits === 32) return Float64Array.from(W);
  return ref.quantizeDequantize(W, bits === 4 ? NF4_TABLE : INT8_TABLE).deq;
}

describe('loading weights: BF16/F16 conversion on the GPU, NF4/int8 quantisation, row chunks', () => {
  for (const bits of [32, 4, 8] as Bits[]) {
    for (const [M, N, K, maxBinding] of [[3, 10, 64, 1 << 20], [5, 130, 72, 4096], [70, 33, 160, 2048]]) {
      it(`linear_forward bits=${bits} M=${M} N=${N} K=${K} (binding ≤ ${maxBinding} B)`, async () => {
        const gpu = await getGpu();
        const scratch = new LoadScratch(gpu);
        const W = randomArray(N * K, 11, 0.5), X = randomArray(M * K, 12);
        const { weight, stats } = await loadWeight(gpu, scratch, f32Source('w', W), N, K, bits, 'base', maxBinding);
        if (maxBinding < (N * K * bits) / 8) expect(weight.chunks.length).toBeGreaterThan(1);
        const tX = upload(gpu, 'X', X), tY = poisoned(gpu, 'Y', M * N);
        const Y = await runAndRead(gpu, await linearForward(gpu, tY, tX, weight, M), tY);
        const deq = expected(W, bits);
        expect(firstMismatch(Y, ref.linearForward(X, deq, null, M, N, K), 1e-5, 1e-5)).toBeNull();
        if (bits !== 32) {
          // The reported error is the real one.
          const err2 = deq.reduce((s, v, i) => s + (v - W[i]) ** 2, 0);
          const norm2 = W.reduce((s, v) => s + v * v, 0);
          expect(stats.err2).toBeCloseTo(err2, 3);
          expect(stats.norm2 / norm2).toBeCloseTo(1, 5);
          // NF4 keeps ~10% relative error on uniform data; int8 under 1%.
          expect(Math.sqrt(stats.err2 / stats.norm2)).toBeLessThan(bits === 4 ? 0.15 : 0.01);
        }
        destroyWeight(gpu, weight);
        scratch.destroy();
        free(gpu, tX, tY);
      });
    }
  }

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

  for (const bits of [32, 4] as Bits[]) {
    it(`embedding_forward bits=${bits} over several chunks`, async () => {
      const gpu = await getGpu();
      const scratch = new LoadScratch(gpu);
      const [V, C] = [300, 16];
      const E = randomArray(V * C, 14);
      const { weight } = await loadWeight(gpu, scratch, f32Source('E', E), V, C, bits, 'base', 1024);
      expect(weight.chunks.length).toBeGreaterThan(1);
      const ids = Uint32Array.from([0, 299, 64, 65, 7, 128, 255]);
      const tIds = gpu.tensor('ids', [ids.length], 'u32');
      gpu.write(tIds, ids);
      const tx = poisoned(gpu, 'x', ids.length * C);
      const ds = await embeddingForward(gpu, tx, tIds, weight, ids.length);
      await run(gpu, ds);
      const x = await gpu.read(tx);
      ds.forEach((d) => releaseDispatch(gpu, d));
      expect(firstMismatch(x, ref.embeddingForward(expected(E, bits), ids, C), 1e-6, 1e-7)).toBeNull();
      destroyWeight(gpu, weight);
      scratch.destroy();
      free(gpu, tIds, tx);
    });
  }
});
