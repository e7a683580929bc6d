// adamw_step against the float64 reference over several steps (bias corrections change with t),
// with weight decay and a gradient scale (the clip factor), the dispatch built once and its uniform
// rewritten each step as the trainer does; the reference itself against cases worked by hand.
import { describe, expect, it } from 'vitest';
import { releaseDispatch, run, type Dispatch } from '../../src/gpu/dispatch';
import { adamwStep, updateAdamw, type AdamwStep } from '../../src/kernels/adamw';
import * as ref from '../reference/adamw';
import { firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { free, getGpu, upload } from './gpu';

describe('the AdamW reference', () => {
  const base: AdamwStep = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, t: 1, gradScale: 1 };
  const zeros = (n: number) => ({ p: Float64Array.from({ length: n }, (_, i) => i - 1), m: new Float64Array(n), v: new Float64Array(n) });

  it('first step: the bias corrections undo (1 − β), so p moves by lr·g/(|g| + eps)', () => {
    const g = [0.5, -2, 0, 1e-9];
    const s = ref.adamwStep(zeros(4), g, base);
    g.forEach((gi, i) => expect(s.p[i]).toBeCloseTo(i - 1 - (base.lr * gi) / (Math.abs(gi) + base.eps), 14));
    g.forEach((gi, i) => expect(s.m[i]).toBeCloseTo(0.1 * gi, 15));
  });

  it('weight decay is decoupled: with no gradient p shrinks by lr·wd and the moments stay 0', () => {
    const s = ref.adamwStep(zeros(3), [0, 0, 0], { ...base, weightDecay: 0.1 });
    expect(Array.from(s.p)).toEqual([-1, 0, 1].map((p) => p - 1e-3 * p));
    expect(Array.from(s.v)).toEqual([0, 0, 0]);
  });

  it('gradScale scales the gradient before both moments', () => {
    const a = ref.adamwStep(zeros(2), [0.4, -0.2], { ...base, gradScale: 0.5 });
    const b = ref.adamwStep(zeros(2), [0.2, -0.1], base);
    expect(a).toEqual(b);
  });
});

describe('adamw_step', () => {
  const cases: { name: string; o: Omit<AdamwStep, 't' | 'gradScale'>; scales: number[] }[] = [
    { name: 'PyTorch defaults, weight decay 0.1, clipped on steps 2 and 4', o: { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 }, scales: [1, 0.5, 1, 0.25, 1] },
    { name: 'short memories, a large eps, no decay', o: { lr: 3e-3, beta1: 0.5, beta2: 0.9, eps: 1e-2, weightDecay: 0 }, scales: [1, 1, 0.8, 1, 1] },
  ];
  // 1, a partial workgroup, one more than a workgroup, and more than 256 workgroups' worth.
  for (const n of [1, 7, 257, 70_001]) {
    for (const { name, o, scales } of cases) {
      it(`n=${n}: ${name}`, async () => {
        const gpu = await getGpu();
        const p0 = randomArray(n, 81);
        let want: ref.AdamwState = { p: Float64Array.from(p0), m: new Float64Array(n), v: new Float64Array(n) };
        const tp = upload(gpu, 'p', p0), tm = upload(gpu, 'm', new Float32Array(n)), tv = upload(gpu, 'v', new Float32Array(n));
        const tg = upload(gpu, 'grad', new Float32Array(n));
        let d: Dispatch | null = null;
        for (let t = 1; t <= scales.length; t++) {
          const step: AdamwStep = { ...o, t, gradScale: scales[t - 1] };
          // a new gradient each step, some elements exactly 0 (their moments decay, their update is ~0)
          const g = randomArray(n, 90 + t, 2).map((x, i) => (i % 5 === 2 ? 0 : x));
          gpu.write(tg, g);
          if (!d) d = await adamwStep(gpu, tp, tm, tv, tg, n, step);
          else updateAdamw(gpu, d, n, step);
          await run(gpu, [d]);
          want = ref.adamwStep(want, g, step);
          expect(firstMismatch(await gpu.read(tp), want.p, 1e-5, 1e-6), `p after step ${t}`).toBeNull();
          expect(firstMismatch(await gpu.read(tm), want.m, 1e-5, 1e-7), `m after step ${t}`).toBeNull();
          // β2 = 0.999 is 0.99900001 in f32, so the kernel's 1 − β2 is 1.3e-5 (relative) short of the reference's
          expect(firstMismatch(await gpu.read(tv), want.v, 2e-5, 1e-9), `v after step ${t}`).toBeNull();
        }
        releaseDispatch(gpu, d!);
        free(gpu, tp, tm, tv, tg);
      });
    }
  }
});
