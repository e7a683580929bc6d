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
  it('the reference dh and dW agree with finite differences (float64), ignored rows included', () => {
    const [N, V, C] = [4, 7, 5];
    const h = Float64Array.from(randomArray(N * C, 41, 2)), W = Float64Array.from(randomArray(V * C, 42));
    const targets = [3, lossRef.IGNORE, 0, 6];
    const { dh, dW, count, loss } = lossRef.crossEntropy(h, W, targets, N, V, C);
    expect(count).toBe(3);
    const fh = (x: Float64Array) => lossRef.crossEntropy(x, W, targets, N, V, C).loss;
    for (let i = 0; i < N * C; i++) expect(Math.abs(dh[i] - fd(fh, h, i))).toBeLessThan(1e-8);
    const fW = (x: Float64Array) => lossRef.crossEntropy(h, x, targets, N, V, C).loss;
    for (let i = 0; i < V * C; i++) expect(Math.abs(dW[i] - fd(fW, W, i))).toBeLessThan(1e-8);
    // With W = 0 every logit is 0: the loss is ln V whatever the targets.
    expect(lossRef.crossEntropy(h, new Float64Array(V * C), targets, N, V, C).loss).toBeCloseTo(Math.log(V), 12);
    expect(loss).toBeGreaterThan(0);
  });

  interface Case {
    /** Binding limit that splits the lm_head into row chunks (default: one chunk). */
    maxBinding?: number;
    /** Scale of the random lm_head rows. */
    wScale?: number;
    /** Multiplies rows [lo, hi) of the lm_head: a later pass raising each row's max by a lot. */
    boost?: [number, number, number];
    /** Absolute tolerance of dh and dW (their relative one is 1e-4). */
    atol?: number;
    /** Runs of the same dispatches: dh is written (=) each time, dW accumulated (+=). */
    reps?: number;
    /** Full fine-tuning's flow: dW given (three walks) instead of none (two walks). */
    withDW?: boolean;
  }

  /** The lm_head [V, C] and hidden states [N, C] of a case, rows [lo, hi) of W multiplied by k when boosted. */
  function inputs(N: number, V: number, C: number, wScale: number, boost?: [number, number, number]): { W: Float32Array; h: Float32Array } {
    const W = randomArray(V * C, 43, wScale), h = randomArray(N * C, 44, 2);
    if (boost) for (let i = boost[0] * C; i < boost[1] * C; i++) W[i] *= boost[2];
    return { W, h };
  }

  /** Run crossEntropy on the GPU and compare loss, count, per-row loss, dh (and dW) with the float64 reference. */
  async function check(N: number, V: number, C: number, chunk: number, bits: Bits, targets: Uint32Array, o: Case = {}): Promise<number> {
    const { wScale = 0.5, atol = 1e-6, reps = 2, withDW = false } = o;
    const gpu = await getGpu();
    const scratch = new LoadScratch(gpu);
    const { W, h } = inputs(N, V, C, wScale, o.boost);
    const { weight } = await loadWeight(gpu, scratch, f32Source('lm_head', W), V, C, bits, 'base', o.maxBinding);
    const want = lossRef.crossEntropy(h, loadedWeights(W, bits), targets, N, V, C);
    const dW0 = randomArray(V * C, 45);
    const th = upload(gpu, 'h', h), tdh = poisoned(gpu, 'dh', N * C), tt = uploadU32(gpu, 'targets', targets);
    const tdW = withDW ? upload(gpu, 'dW', dW0, [V, C]) : undefined;
    // Poisoned scratch: whatever the flow reads of it must have been written first.
    const logits = poisoned(gpu, 'ce-logits', N * Math.max(Math.min(chunk, V), C)), stats = poisoned(gpu, 'ce-stats', N * 4);
    const { dispatches, loss, count, rowLoss } = await crossEntropy(gpu, { h: th, W: weight, targets: tt, N, chunk, dh: tdh, dW: tdW, logits, stats });
    for (let rep = 0; rep < reps; rep++) {
      await run(gpu, dispatches);
      const [gotLoss] = await gpu.read(loss);
      const [gotCount, gotInv] = await gpu.read(count);
      expect(gotCount).toBe(want.count);
      expect(gotInv).toBeCloseTo(want.count ? 1 / want.count : 0, 7);
      expect(Math.abs(gotLoss - want.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, want.loss));
      expect(firstMismatch(await gpu.read(rowLoss), want.rowLoss, 1e-5, 1e-5)).toBeNull();
      expect(firstMismatch(await gpu.read(tdh), want.dh, 1e-4, atol)).toBeNull();
      if (tdW) expect(firstMismatch(await gpu.read(tdW), dW0.map((x, i) => x + (rep + 1) * want.dW[i]), 1e-4, atol)).toBeNull();
    }
    dispatches.forEach((d) => releaseDispatch(gpu, d));
    destroyWeight(gpu, weight);
    scratch.destroy();
    free(gpu, th, tdh, tt, logits, loss, count, rowLoss, stats, ...(tdW ? [tdW] : []));
    return weight.chunks.length;
  }

  const I = IGNORE_INDEX;
  // Targets on pass boundaries (99/100, 299/300), at both ends of the vocabulary, and ignored rows.
  // C = 48: a pass of 100 rows starts 256-byte aligned in dW (100·48·4 = 19200 = 75·256).
  const targets384 = Uint32Array.from([0, 383, I, 99, 100, 299, I, 300, 7]);
  for (const withDW of [false, true]) {
    const flow = withDW ? 'with dW (three walks)' : 'without dW (two walks)';
    for (const bits of (withDW ? [32, 4] : [32, 8, 4]) as Bits[]) {
      it(`${flow}: V=384 C=48 chunk 100 (4 passes, last partial), bits=${bits}, one stored chunk`, async () => {
        expect(await check(9, 384, 48, 100, bits, targets384, { withDW })).toBe(1);
      });
      it(`${flow}: V=384 C=48 chunk 100, bits=${bits}, stored chunks of 128 rows (passes span them)`, async () => {
        expect(await check(9, 384, 48, 100, bits, targets384, { withDW, maxBinding: bindingFor(384, 48, bits, 3) })).toBe(3);
      });
    }
    for (const bits of [32, 4] as Bits[]) {
      // Rows 100..199 ×60: the second pass raises every row's max by ~100 or more, so exp(m_old − m_new)
      // underflows to 0 and the first pass's share of dh and s must vanish, not turn NaN. Logits near
      // ±300 carry f32 rounding of ~3e-5 each, hence the looser absolute tolerance of dh and dW.
      it(`${flow}: the second pass raises the max by a lot (rescale underflows to 0), bits=${bits}`, async () => {
        // The premise: on every valid row the second pass's max exceeds the first's by more than 104,
        // where exp(−x) is 0 in f32 (denormals included).
        const { W, h } = inputs(9, 384, 48, 0.5, [100, 200, 60]);
        const Wq = loadedWeights(W, bits);
        const passMax = (n: number, v0: number) => {
          let max = -Infinity;
          for (let v = v0; v < v0 + 100; v++) {
            let x = 0;
            for (let c = 0; c < 48; c++) x += h[n * 48 + c] * Wq[v * 48 + c];
            max = Math.max(max, x);
          }
          return max;
        };
        for (let n = 0; n < 9; n++) if (targets384[n] !== I) expect(passMax(n, 100) - passMax(n, 0)).toBeGreaterThan(104);
        await check(9, 384, 48, 100, bits, targets384, { withDW, boost: [100, 200, 60], atol: 1e-4 });
      });
    }

    it(`${flow}: every target ignored: loss 0, count 0, dh 0`, async () => {
      await check(3, 384, 48, 100, 32, Uint32Array.from([I, I, I]), { withDW });
    });

    it(`${flow}: M=70 rows over two tile rows, chunk larger than V (one pass)`, async () => {
      const targets = Uint32Array.from({ length: 70 }, (_, n) => (n % 5 === 0 ? I : (n * 37) % 200));
      await check(70, 200, 24, 1000, 32, targets, { withDW });
    });

    it(`${flow}: chunk narrower than C (the target rows still fit the planned scratch)`, async () => {
      await check(5, 100, 40, 16, 32, Uint32Array.from([0, 15, 16, I, 99]), { withDW });
    });

    it(`${flow}: V=151936 (Qwen2 vocabulary) C=16 N=3, chunk 20000: 8 passes across 3 stored chunks`, async () => {
      const V = 151936;
      // Flat rows (logits ~ ±3), so every pass carries a good share of the softmax mass and a pass left
      // out of either walk would show. (With |W| ≤ 2 rows peak at logits ~ ±20, and the f32 rounding of
      // those, ulp 2e-6, leaves ~1e-6·|W| of noise in dh after E_softmax[W] − W_target cancels.)
      const chunks = await check(3, V, 16, 20000, 32, Uint32Array.from([V - 1, 0, 80000]), { withDW, maxBinding: 4 << 20, reps: 1 });
      expect(chunks).toBe(3);
    });
  }

  it('the two-walk flow refuses a logits scratch too small for the target rows', async () => {
    const gpu = await getGpu();
    const scratch = new LoadScratch(gpu);
    const { weight } = await loadWeight(gpu, scratch, f32Source('lm_head', randomArray(100 * 40, 43)), 100, 40, 32, 'base');
    const th = gpu.tensor('h', [2, 40]), tdh = gpu.tensor('dh', [2, 40]), tt = uploadU32(gpu, 'targets', Uint32Array.from([1, 2]));
    const logits = gpu.tensor('ce-logits', [2, 16]);
    await expect(crossEntropy(gpu, { h: th, W: weight, targets: tt, N: 2, chunk: 16, dh: tdh, logits })).rejects.toThrow(/cannot hold the 2×40 target rows/);
    destroyWeight(gpu, weight);
    scratch.destroy();
    free(gpu, th, tdh, tt, logits);
  });
});
