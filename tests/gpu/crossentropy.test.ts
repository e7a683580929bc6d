// The chunked cross-entropy over the lm_head (crossentropy.wgsl with linear.wgsl's row ranges)
// against the float64 reference; the reference itself against finite differences.
import { describe, expect, it } from 'vitest';
import { releaseDispatch, run } from '../../src/gpu/dispatch';
import { crossEntropy, IGNORE_INDEX } from '../../src/kernels/crossentropy';
import type { Bits } from '../../src/kernels/quantize';
import { destroyWeight, f32Source, LoadScratch, loadWeight } from '../../src/model/weights';
import { fd, firstMismatch } from '../reference/compare';
import * as lossRef from '../reference/crossentropy';
import { loadedWeights } from '../reference/quantize';
import { randomArray } from '../reference/random';
import { bindingFor, free, getGpu, poisoned, upload, uploadU32 } from './gpu';

describe('chunked cross-entropy over the lm_head', () => {
  it('the reference dh agrees with finite differences (float64), ignored rows included', () => {
    const [N, V, C] = [4, 7, 5];
    const h = Float64Array.from(randomArray(N * C, 41, 2)), W = randomArray(V * C, 42);
    const targets = [3, lossRef.IGNORE, 0, 6];
    const { dh, count, loss } = lossRef.crossEntropy(h, W, targets, N, V, C);
    expect(count).toBe(3);
    const f = (x: Float64Array) => lossRef.crossEntropy(x, W, targets, N, V, C).loss;
    for (let i = 0; i < N * C; i++) expect(Math.abs(dh[i] - fd(f, h, i))).toBeLessThan(1e-8);
    // With W = 0 every logit is 0: the loss is ln V whatever the targets.
    expect(lossRef.crossEntropy(h, new Float64Array(V * C), targets, N, V, C).loss).toBeCloseTo(Math.log(V), 12);
    expect(loss).toBeGreaterThan(0);
  });

  /** Run crossEntropy on the GPU and compare loss, count, per-row loss and dh with the float64 reference. */
  async function check(N: number, V: number, C: number, chunk: number, bits: Bits, targets: Uint32Array, maxBinding?: number, wScale = 0.5, dhAtol = 1e-6, reps = 2): Promise<number> {
    const gpu = await getGpu();
    const scratch = new LoadScratch(gpu);
    const W = randomArray(V * C, 43, wScale), h = randomArray(N * C, 44, 2);
    const { weight } = await loadWeight(gpu, scratch, f32Source('lm_head', W), V, C, bits, 'base', maxBinding);
    const want = lossRef.crossEntropy(h, loadedWeights(W, bits), targets, N, V, C);
    const th = upload(gpu, 'h', h), tdh = poisoned(gpu, 'dh', N * C), tt = uploadU32(gpu, 'targets', targets);
    const logits = gpu.tensor('ce-logits', [N, Math.min(chunk, V)]);
    const { dispatches, loss, count, rowLoss, stats } = await crossEntropy(gpu, { h: th, W: weight, targets: tt, N, chunk, dh: tdh, logits });
    // Twice by default: the dispatches are reusable and dh is written (=), not accumulated.
    for (let rep = 0; rep < reps; rep++) {
      await run(gpu, dispatches);
      const [gotLoss] = await gpu.read(loss);
      const [gotCount, gotInv] = await gpu.read(count);
      expect(gotCount).toBe(want.count);
      expect(gotInv).toBeCloseTo(want.count ? 1 / want.count : 0, 7);
      expect(Math.abs(gotLoss - want.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, want.loss));
      expect(firstMismatch(await gpu.read(rowLoss), want.rowLoss, 1e-5, 1e-5)).toBeNull();
      expect(firstMismatch(await gpu.read(tdh), want.dh, 1e-4, dhAtol)).toBeNull();
    }
    dispatches.forEach((d) => releaseDispatch(gpu, d));
    destroyWeight(gpu, weight);
    scratch.destroy();
    free(gpu, th, tdh, tt, logits, loss, count, rowLoss, stats);
    return weight.chunks.length;
  }

  const I = IGNORE_INDEX;
  // Targets on pass boundaries (99/100, 299/300), at both ends of the vocabulary, and ignored rows.
  const targets384 = Uint32Array.from([0, 383, I, 99, 100, 299, I, 300, 7]);
  for (const bits of [32, 4] as Bits[]) {
    it(`V=384 C=40 chunk 100 (4 passes, last partial), bits=${bits}, one stored chunk`, async () => {
      expect(await check(9, 384, 40, 100, bits, targets384)).toBe(1);
    });
    it(`V=384 C=40 chunk 100, bits=${bits}, stored chunks of 128 rows (passes span them)`, async () => {
      expect(await check(9, 384, 40, 100, bits, targets384, bindingFor(384, 40, bits, 3))).toBe(3);
    });
  }

  it('every target ignored: loss 0, count 0, dh 0', async () => {
    await check(3, 384, 40, 100, 32, Uint32Array.from([I, I, I]));
  });

  it('M=70 rows over two tile rows, chunk larger than V (one pass)', async () => {
    const targets = Uint32Array.from({ length: 70 }, (_, n) => (n % 5 === 0 ? I : (n * 37) % 200));
    await check(70, 200, 24, 1000, 32, targets);
  });

  it('V=151936 (Qwen2 vocabulary) C=16 N=3, chunk 20000: 8 passes across 3 stored chunks', async () => {
    const V = 151936;
    // Flat rows (logits ~ ±3), so every pass carries a good share of the softmax mass and a pass left
    // out of either walk would show. (With |W| ≤ 2 rows peak at logits ~ ±20, and the f32 rounding of
    // those, ulp 2e-6, leaves ~1e-6·|W| of noise in dh after E_softmax[W] − W_target cancels.)
    const chunks = await check(3, V, 16, 20000, 32, Uint32Array.from([V - 1, 0, 80000]), 4 << 20, 0.5, 1e-6, 1);
    expect(chunks).toBe(3);
  });
});
