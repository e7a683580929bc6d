// linear_forward over weights loaded as f32, NF4 and int8 in row chunks (quantize_blocks's reported
// error checked on the way), and linear_backward_input / linear_forward_rows over chunked, quantised
// weights and row ranges, against float64 references on the dequantised weights.
import { describe, expect, it } from 'vitest';
import { linearBackwardInput, linearForward, linearForwardRows } from '../../src/kernels/linear';
import type { Bits } from '../../src/kernels/quantize';
import { destroyWeight, f32Source, LoadScratch, loadWeight } from '../../src/model/weights';
import * as ref from '../reference/linear';
import * as matmulRef from '../reference/matmul';
import { loadedWeights } from '../reference/quantize';
import { firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { bindingFor, free, getGpu, poisoned, runAndRead, upload } from './gpu';

describe('linear_forward over loaded weights: NF4/int8 quantisation, row chunks', () => {
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
        const deq = loadedWeights(W, bits);
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
});

describe('linear_backward_input and linear_forward_rows over chunked, quantised weights', () => {
  for (const bits of [32, 4, 8] as Bits[]) {
    // K = 136 and 72: whole words decoded (NF4, int8) over several 16-deep slabs, the last one partial; 150: one
    // element at a time. 130 rows and 136 columns of dX: three 64-wide tiles with a ragged edge each way.
    for (const [M, N, K] of [[1, 130, 72], [70, 200, 40], [5, 96, 150], [130, 70, 136]]) {
      it(`bits=${bits} M=${M} N=${N} K=${K}, several chunks`, async () => {
        const gpu = await getGpu();
        const scratch = new LoadScratch(gpu);
        const W = randomArray(N * K, 31, 0.5), dY = randomArray(M * N, 32), dX0 = randomArray(M * K, 33);
        const { weight } = await loadWeight(gpu, scratch, f32Source('w', W), N, K, bits, 'base', bindingFor(N, K, bits, 3));
        expect(weight.chunks.length).toBeGreaterThan(2);
        const deq = loadedWeights(W, bits);
        const want = ref.linearBackwardInput(dY, deq, M, N, K);

        // dX = dY·W over the whole weight (the first chunk writes, the others add).
        const tdY = upload(gpu, 'dY', dY), tdX = poisoned(gpu, 'dX', M * K);
        const got = await runAndRead(gpu, await linearBackwardInput(gpu, tdX, tdY, weight, M), tdX);
        expect(firstMismatch(got, want, 1e-5, 1e-5)).toBeNull();

        // dX += dY·W with dY a window of a wider matrix: rows ldy = N + 7 wide, columns from 3.
        const ldy = N + 7;
        const wide = new Float32Array(M * ldy).fill(NaN);
        for (let m = 0; m < M; m++) wide.set(dY.subarray(m * N, (m + 1) * N), m * ldy + 3);
        const twide = upload(gpu, 'dY-wide', wide), tacc = upload(gpu, 'dX-acc', dX0);
        const acc = await runAndRead(gpu, await linearBackwardInput(gpu, tacc, twide, weight, M, { ldy, yCol0: 3, accumulate: true }), tacc);
        expect(firstMismatch(acc, want.map((v, i) => v + dX0[i]), 1e-5, 1e-5)).toBeNull();

        // Row ranges: one across chunk boundaries, one inside the first chunk.
        const c0 = weight.chunks[0].rows;
        for (const [row0, rows] of [[5, N - 9], [1, Math.min(3, c0 - 1)]]) {
          const sub = deq.subarray(row0 * K, (row0 + rows) * K);
          const tdYr = upload(gpu, 'dY-rows', dY.subarray(0, M * rows)), tdXr = poisoned(gpu, 'dX-rows', M * K);
          const gotB = await runAndRead(gpu, await linearBackwardInput(gpu, tdXr, tdYr, weight, M, { row0, rows }), tdXr);
          expect(firstMismatch(gotB, ref.linearBackwardInput(dY.subarray(0, M * rows), sub, M, rows, K), 1e-5, 1e-5)).toBeNull();
          const X = randomArray(M * K, 34), tX = upload(gpu, 'X', X), tY = poisoned(gpu, 'Y', M * rows);
          const gotF = await runAndRead(gpu, await linearForwardRows(gpu, tY, tX, weight, M, { row0, rows }), tY);
          expect(firstMismatch(gotF, ref.linearForward(X, sub, null, M, rows, K), 1e-5, 1e-5)).toBeNull();
          free(gpu, tdYr, tdXr, tX, tY);
        }
        destroyWeight(gpu, weight);
        scratch.destroy();
        free(gpu, tdY, tdX, twide, tacc);
      });
    }
  }
});

describe("a LoRA adapter's second product in the same launch", () => {
  // y (=|+=) x·deq(W)ᵀ + s·u·Bᵀ and dX (=|+=) dY·deq(W) + s·du·A. r = 8 is one half-empty slab; r = 20 two, the
  // second ragged. The chunked weight checks that each chunk adds the adapter's rows of B for its own columns
  // and that dX gets du·A once, not once per chunk.
  for (const [bits, M, N, K, r, chunks] of [[4, 70, 130, 72, 8, 1], [32, 5, 96, 150, 20, 3], [8, 130, 70, 136, 3, 3]] as [Bits, number, number, number, number, number][]) {
    it(`bits=${bits} M=${M} N=${N} K=${K} r=${r}, ${chunks} chunk(s)`, async () => {
      const gpu = await getGpu();
      const scratch = new LoadScratch(gpu);
      const Wf = randomArray(N * K, 41, 0.5), X = randomArray(M * K, 42), u = randomArray(M * r, 43), B = randomArray(N * r, 44);
      const dY = randomArray(M * N, 45), du = randomArray(M * r, 46), A = randomArray(r * K, 47), Y0 = randomArray(M * N, 48);
      const { weight } = await loadWeight(gpu, scratch, f32Source('w', Wf), N, K, bits, 'base', chunks > 1 ? bindingFor(N, K, bits, chunks) : 1 << 24);
      if (chunks > 1) expect(weight.chunks.length).toBeGreaterThan(1);
      const deq = loadedWeights(Wf, bits);
      const s = 2.5;
      const tX = upload(gpu, 'X', X), tu = upload(gpu, 'u', u), tB = upload(gpu, 'B', B), tY = upload(gpu, 'Y', Y0);
      const y = await runAndRead(gpu, await linearForward(gpu, tY, tX, weight, M, { accumulate: true, adapter: { a: tu, b: tB, r, scale: s } }), tY);
      const base = ref.linearForward(X, deq, null, M, N, K), lora = matmulRef.matmulForward(u, B, M, N, r);
      expect(firstMismatch(y, base.map((v, i) => Y0[i] + v + s * lora[i]), 1e-5, 1e-5)).toBeNull();

      const tdY = upload(gpu, 'dY', dY), tdu = upload(gpu, 'du', du), tA = upload(gpu, 'A', A), tdX = poisoned(gpu, 'dX', M * K);
      const dx = await runAndRead(gpu, await linearBackwardInput(gpu, tdX, tdY, weight, M, { adapter: { a: tdu, b: tA, r, scale: 1 } }), tdX);
      const dbase = ref.linearBackwardInput(dY, deq, M, N, K), dlora = matmulRef.matmulBackwardInput(du, A, M, r, K);
      expect(firstMismatch(dx, dbase.map((v, i) => v + dlora[i]), 1e-5, 1e-5)).toBeNull();
      destroyWeight(gpu, weight);
      scratch.destroy();
      free(gpu, tX, tu, tB, tY, tdY, tdu, tA, tdX);
    });
  }
});

describe('a residual stream added in the forward launch (o_proj, down_proj)', () => {
  for (const [bits, M, N, K, chunks] of [[4, 70, 130, 72, 1], [32, 5, 96, 150, 3]] as [Bits, number, number, number, number][]) {
    it(`Y = R + X·deq(W)ᵀ + s·u·Bᵀ, bits=${bits} M=${M} N=${N} K=${K}, ${chunks} chunk(s)`, async () => {
      const gpu = await getGpu();
      const scratch = new LoadScratch(gpu);
      const r = 4, s = 0.5;
      const Wf = randomArray(N * K, 51, 0.5), X = randomArray(M * K, 52), R = randomArray(M * N, 53), u = randomArray(M * r, 54), B = randomArray(N * r, 55);
      const { weight } = await loadWeight(gpu, scratch, f32Source('w', Wf), N, K, bits, 'base', chunks > 1 ? bindingFor(N, K, bits, chunks) : 1 << 24);
      const tX = upload(gpu, 'X', X), tR = upload(gpu, 'R', R), tu = upload(gpu, 'u', u), tB = upload(gpu, 'B', B), tY = poisoned(gpu, 'Y', M * N);
      const y = await runAndRead(gpu, await linearForward(gpu, tY, tX, weight, M, { residual: tR, adapter: { a: tu, b: tB, r, scale: s } }), tY);
      const base = ref.linearForward(X, loadedWeights(Wf, bits), null, M, N, K), lora = matmulRef.matmulForward(u, B, M, N, r);
      expect(firstMismatch(y, base.map((v, i) => R[i] + v + s * lora[i]), 1e-5, 1e-5)).toBeNull();
      expect((await gpu.read(tR)).every((v, i) => v === Math.fround(R[i]))).toBe(true); // the residual is only read
      await expect(linearForward(gpu, tY, tX, weight, M, { residual: tY })).rejects.toThrow(/share a buffer/);
      await expect(linearForward(gpu, tY, tX, weight, M, { residual: tR, accumulate: true })).rejects.toThrow(/pass one/);
      destroyWeight(gpu, weight);
      scratch.destroy();
      free(gpu, tX, tR, tu, tB, tY);
    });
  }
});
