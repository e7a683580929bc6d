// attention_backward_dq / attention_backward_dkv against the float64 reference (fed the GPU forward's
// y and lse, as in training), and the reference itself against finite differences.
import { describe, expect, it } from 'vitest';
import { attentionBackward } from '../../src/kernels/attention-backward';
import { attentionForward } from '../../src/kernels/attention';
import * as ref from '../reference/attention-backward';
import { attentionForward as refForward } from '../reference/attention';
import { firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { free, getGpu, poisoned, runAndRead, upload } from './gpu';

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, x) => Math.max(m, Math.abs(x)), 0);

/** Every element within 1e-4 of the largest |want| (NaN, an unwritten poisoned element, fails). */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>): void {
  expect(firstMismatch(got, want, 0, 1e-4 * Math.max(maxAbs(want), 1e-6))).toBeNull();
}

describe('attention_backward (causal GQA, recomputed from lse)', () => {
  const cases = [
    { B: 1, T: 1, NH: 1, NKV: 1, HS: 4 }, // one query, one key: dq = dk = 0, dv = dy
    { B: 1, T: 5, NH: 4, NKV: 2, HS: 16 },
    { B: 1, T: 70, NH: 2, NKV: 1, HS: 24 }, // more than one 64-row block on both sides
    { B: 2, T: 6, NH: 3, NKV: 1, HS: 8 }, // batch stride; three heads per kv head
    { B: 1, T: 3, NH: 2, NKV: 2, HS: 6 }, // HS not a multiple of 4: the software set falls back to the tiled entries
    { B: 1, T: 2, NH: 1, NKV: 1, HS: 256 }, // the largest head
    { B: 1, T: 3, NH: 2, NKV: 2, HS: 130 }, // HS not a multiple of 64
    // the GPU set's tiles (dq: 64 rows = (query, head) pairs of one kv head's group × 32 keys; dkv: 32 keys
    // × 64 rows at a time): shapes across their edges, every head size class (NU4 = 1 … 4), GQA, batches
    { B: 2, T: 70, NH: 6, NKV: 2, HS: 64 },
    { B: 2, T: 130, NH: 6, NKV: 2, HS: 130 },
    { B: 1, T: 130, NH: 14, NKV: 2, HS: 64 }, // Qwen2.5-0.5B's heads: 7 query heads per kv head
    { B: 1, T: 40, NH: 4, NKV: 2, HS: 96 },
    { B: 1, T: 45, NH: 2, NKV: 1, HS: 200 },
    { B: 1, T: 33, NH: 80, NKV: 1, HS: 8 }, // one query's 80 heads straddle two row tiles
  ];
  for (const c of cases) {
    it(JSON.stringify(c), async () => {
      const gpu = await getGpu();
      const { B, T, NH, NKV, HS } = c;
      const nq = B * T * NH * HS, nk = B * T * NKV * HS;
      const q = randomArray(nq, 11, 2), k = randomArray(nk, 12, 2), v = randomArray(nk, 13), dy = randomArray(nq, 14);
      const tq = upload(gpu, 'q', q), tk = upload(gpu, 'k', k), tv = upload(gpu, 'v', v), tdy = upload(gpu, 'dy', dy);
      // the GPU forward gives y and lse, as the training step would
      const ty = poisoned(gpu, 'y', nq), tl = poisoned(gpu, 'lse', B * NH * T);
      await runAndRead(gpu, await attentionForward(gpu, ty, tl, tq, tk, tv, { B, Tq: T, S: T, NH, NKV, HS, pos0: 0 }), ty);
      const tdq = poisoned(gpu, 'dq', nq), tdk = poisoned(gpu, 'dk', nk), tdv = poisoned(gpu, 'dv', nk), tD = poisoned(gpu, 'D', B * NH * T);
      const dispatches = await attentionBackward(gpu, tdq, tdk, tdv, tD, tdy, ty, tl, tq, tk, tv, c);
      const dq = await runAndRead(gpu, dispatches, tdq);
      const want = ref.attentionBackward(dy, q, k, v, B, T, NH, NKV, HS);
      expectClose(dq, want.dq);
      expectClose(await gpu.read(tdk), want.dk);
      expectClose(await gpu.read(tdv), want.dv);
      // D[b,h,i] = dy·y from the float64 forward
      const y = refForward(q, k, v, B, T, T, NH, NKV, HS).y;
      const wantD = new Float64Array(B * NH * T);
      for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) for (let h = 0; h < NH; h++) {
        for (let d = 0; d < HS; d++) wantD[(b * NH + h) * T + i] += dy[((b * T + i) * NH + h) * HS + d] * y[((b * T + i) * NH + h) * HS + d];
      }
      expectClose(await gpu.read(tD), wantD);
      free(gpu, tq, tk, tv, tdy, ty, tl, tdq, tdk, tdv, tD);
    });
  }

  it('launcher refuses bad sizes', async () => {
    const gpu = await getGpu();
    const t = poisoned(gpu, 't', 4 * 300);
    const s = [t, t, t, t, t, t, t, t, t, t] as const;
    await expect(attentionBackward(gpu, ...s, { B: 1, T: 1, NH: 1, NKV: 1, HS: 300 })).rejects.toThrow(/head size 300/);
    await expect(attentionBackward(gpu, ...s, { B: 1, T: 1, NH: 3, NKV: 2, HS: 4 })).rejects.toThrow(/not a multiple/);
    await expect(attentionBackward(gpu, ...s, { B: 1, T: 0, NH: 1, NKV: 1, HS: 4 })).rejects.toThrow(/T must be a positive/);
    await expect(attentionBackward(gpu, ...s, { B: 2, T: 100, NH: 1, NKV: 1, HS: 8 })).rejects.toThrow(/has 1200 elements, needs 1600/);
    free(gpu, t);
  });

  it('the reference agrees with finite differences of L = Σ dy·y', () => {
    // tiny float64 case with GQA (2 heads per kv head) and two batch items; every input element checked
    const [B, T, NH, NKV, HS] = [2, 4, 4, 2, 3];
    const f64 = (a: Float32Array) => Float64Array.from(a);
    const q = f64(randomArray(B * T * NH * HS, 21, 2)), k = f64(randomArray(B * T * NKV * HS, 22, 2));
    const v = f64(randomArray(B * T * NKV * HS, 23)), dy = f64(randomArray(B * T * NH * HS, 24));
    const loss = (qq: Float64Array, kk: Float64Array, vv: Float64Array) => {
      const y = refForward(qq, kk, vv, B, T, T, NH, NKV, HS).y;
      let s = 0;
      for (let n = 0; n < y.length; n++) s += dy[n] * y[n];
      return s;
    };
    const g = ref.attentionBackward(dy, q, k, v, B, T, NH, NKV, HS);
    const h = 1e-6;
    // central difference on x[n], the other two inputs fixed; L is smooth, so the error is ~h² + 1e-16/h
    const check = (x: Float64Array, grad: Float64Array, L: (x: Float64Array) => number) => {
      for (let n = 0; n < x.length; n++) {
        const a = Float64Array.from(x), b = Float64Array.from(x);
        a[n] += h;
        b[n] -= h;
        const fd = (L(a) - L(b)) / (2 * h);
        expect(Math.abs(fd - grad[n])).toBeLessThan(1e-7 + 1e-6 * Math.abs(grad[n]));
      }
    };
    check(q, g.dq, (x) => loss(x, k, v));
    check(k, g.dk, (x) => loss(q, x, v));
    check(v, g.dv, (x) => loss(q, k, x));
    // the check is not vacuous: k's first row gets gradient from later queries
    expect(maxAbs(g.dk)).toBeGreaterThan(1e-2);
  });
});
