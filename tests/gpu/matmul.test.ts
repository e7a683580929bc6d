import { describe, expect, it } from 'vitest';
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from '../../src/kernels/matmul';
import * as ref from '../reference/matmul';
import { firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { free, getGpu, poisoned, runAndRead, upload } from './gpu';

// Shapes: tiny, exactly one tile, off by one around the tile (64) and slab (16), tall and wide, and skinny.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [64, 64, 16],
  [65, 63, 17],
  [130, 70, 33],
  [7, 129, 64],
  [200, 3, 48],
  // LoRA's rank as one side (the GPU set's skinny entries, both orientations), several 64-deep slabs, ragged:
  [130, 8, 200], // forward: u = x·Aᵀ over 8 columns; backward_weight: dA-like, 8 rows of C
  [40, 16, 130], // 16 is the widest skinny side
  [70, 300, 8], //  backward_input / forward with K = 8: du·A-like, dB-like
];

const RTOL = 1e-5;
const ATOL = 1e-5;

describe('matmul (x·Wᵀ, dY·W, dYᵀ·X) against the float64 reference', () => {
  for (const [M, N, K] of SHAPES) {
    it(`forward Y = X·Wᵀ at M=${M} N=${N} K=${K}`, async () => {
      const gpu = await getGpu();
      const X = randomArray(M * K, 1), W = randomArray(N * K, 2);
      const tX = upload(gpu, 'X', X), tW = upload(gpu, 'W', W), tY = poisoned(gpu, 'Y', M * N);
      const got = await runAndRead(gpu, await matmulForward(gpu, tY, tX, tW, M, N, K), tY);
      expect(firstMismatch(got, ref.matmulForward(X, W, M, N, K), RTOL, ATOL)).toBeNull();
      free(gpu, tX, tW, tY);
    });

    it(`backward input dX = dY·W at M=${M} N=${N} K=${K}`, async () => {
      const gpu = await getGpu();
      const dY = randomArray(M * N, 3), W = randomArray(N * K, 4);
      const tdY = upload(gpu, 'dY', dY), tW = upload(gpu, 'W', W), tdX = poisoned(gpu, 'dX', M * K);
      const got = await runAndRead(gpu, await matmulBackwardInput(gpu, tdX, tdY, tW, M, N, K), tdX);
      expect(firstMismatch(got, ref.matmulBackwardInput(dY, W, M, N, K), RTOL, ATOL)).toBeNull();
      free(gpu, tdY, tW, tdX);
    });

    it(`backward weight dW = dYᵀ·X at M=${M} N=${N} K=${K}`, async () => {
      const gpu = await getGpu();
      const dY = randomArray(M * N, 5), X = randomArray(M * K, 6);
      const tdY = upload(gpu, 'dY', dY), tX = upload(gpu, 'X', X), tdW = poisoned(gpu, 'dW', N * K);
      const got = await runAndRead(gpu, await matmulBackwardWeight(gpu, tdW, tdY, tX, M, N, K), tdW);
      expect(firstMismatch(got, ref.matmulBackwardWeight(dY, X, M, N, K), RTOL, ATOL)).toBeNull();
      free(gpu, tdY, tX, tdW);
    });
  }

  // [33, 17, 9]: a skinny dW (9 columns); [70, 40, 30]: 64×64 tiles.
  for (const [M, N, K] of [[33, 17, 9], [70, 40, 30]]) {
    it(`accumulates (+=) with alpha into an existing gradient at M=${M} N=${N} K=${K}`, async () => {
      const gpu = await getGpu();
      const dY = randomArray(M * N, 7), X = randomArray(M * K, 8), dW0 = randomArray(N * K, 9);
      const tdY = upload(gpu, 'dY', dY), tX = upload(gpu, 'X', X), tdW = upload(gpu, 'dW', dW0);
      const got = await runAndRead(gpu, await matmulBackwardWeight(gpu, tdW, tdY, tX, M, N, K, { accumulate: true, alpha: 0.5 }), tdW);
      const want = ref.matmulBackwardWeight(dY, X, M, N, K).map((v, i) => dW0[i] + 0.5 * v);
      expect(firstMismatch(got, want, RTOL, ATOL)).toBeNull();
      free(gpu, tdY, tX, tdW);
    });
  }

  // [3, 5, 70, 20]: skinny (5 rows of C); [2, 70, 33, 20]: 64×64 tiles.
  for (const [B, M, N, K] of [[3, 5, 70, 20], [2, 70, 33, 20]]) {
    it(`runs a batch of independent products along z at B=${B} M=${M} N=${N} K=${K}`, async () => {
      const gpu = await getGpu();
      const X = randomArray(B * M * K, 10), W = randomArray(B * N * K, 11);
      const tX = upload(gpu, 'X', X), tW = upload(gpu, 'W', W), tY = poisoned(gpu, 'Y', B * M * N);
      const got = await runAndRead(gpu, await matmulForward(gpu, tY, tX, tW, M, N, K, { batch: B }), tY);
      const want = new Float64Array(B * M * N);
      for (let b = 0; b < B; b++) want.set(ref.matmulForward(X.subarray(b * M * K), W.subarray(b * N * K), M, N, K), b * M * N);
      expect(firstMismatch(got, want, RTOL, ATOL)).toBeNull();
      free(gpu, tX, tW, tY);
    });
  }

  it('takes strides between batch items: one X for every item (0), and W and Y views with padding between them', async () => {
    const gpu = await getGpu();
    const [B, M, N, K] = [3, 70, 8, 20];
    const sw = N * K + 7, sy = M * N + 5; // padding after each item
    const X = randomArray(M * K, 12), W = randomArray((B - 1) * sw + N * K, 13);
    const tX = upload(gpu, 'X', X), tW = upload(gpu, 'W', W), tY = upload(gpu, 'Y', new Float32Array((B - 1) * sy + M * N).fill(-7));
    const got = await runAndRead(gpu, await matmulForward(gpu, tY, tX, tW, M, N, K, { batch: B, strides: { c: sy, a: 0, b: sw } }), tY);
    for (let b = 0; b < B; b++) {
      const want = ref.matmulForward(X, W.subarray(b * sw), M, N, K);
      expect(firstMismatch(got.subarray(b * sy, b * sy + M * N), want, RTOL, ATOL), `item ${b}`).toBeNull();
      if (b < B - 1) expect([...got.subarray(b * sy + M * N, (b + 1) * sy)]).toEqual(Array(sy - M * N).fill(-7));
    }
    await expect(matmulForward(gpu, tY, tX, tW, M, N, K, { batch: B, strides: { c: M * N - 1, a: 0, b: sw } })).rejects.toThrow(/overlap/);
    free(gpu, tX, tW, tY);
  });

  it('refuses tensors that are too small for the sizes given', async () => {
    const gpu = await getGpu();
    const tX = gpu.tensor('X', [4, 4]), tW = gpu.tensor('W', [4, 4]), tY = gpu.tensor('Y', [4, 3]);
    await expect(matmulForward(gpu, tY, tX, tW, 4, 4, 4)).rejects.toThrow(/Y has 12 elements, needs 16/);
    free(gpu, tX, tW, tY);
  });
});
