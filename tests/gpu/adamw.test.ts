// adamw_step against the float64 reference over several steps (bias corrections change with t),
// with weight decay and a gradient scale (the clip factor), the dispatch built once and its uniform
// rewritten each step as the trainer does; the reference itself against cases worked by hand.
// adamw_step_clipped (the trainer's LoRA step: clip factor and NaN/Inf guard found on the GPU) against
// the reference over a flat buffer of views with zero padding between them.
import { describe, expect, it } from 'vitest';
import { releaseDispatch, run, type Dispatch } from '../../src/gpu/dispatch';
import { adamwStep, adamwStepClipped, SUM_STRIDE, updateAdamw, updateAdamwClipped, type AdamwClippedStep, type AdamwStep } from '../../src/kernels/adamw';
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

describe('the clipped AdamW reference', () => {
  const o: AdamwClippedStep = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, t: 1, gradClip: 1, micro: 2 };
  const state = () => ({ p: Float64Array.from([1, -2]), m: new Float64Array(2), v: new Float64Array(2) });

  it('scales by gradClip/norm when the norm (sqrt(Σg²)/micro) is over the threshold, by 1/micro otherwise', () => {
    // Σg² = 36: norm 3 over 2 micro-batches, clip 1/3, so gradScale = 1/6
    expect(ref.adamwClippedStep(state(), [6, 0], o, 36, [1, 1])).toEqual({ ...ref.adamwStep(state(), [6, 0], { ...o, gradScale: 1 / 6 }), skipped: false });
    expect(ref.adamwClippedStep(state(), [6, 0], { ...o, gradClip: 0 }, 36, [1, 1])).toEqual({ ...ref.adamwStep(state(), [6, 0], { ...o, gradScale: 0.5 }), skipped: false });
  });

  it('a non-finite Σg² or loss leaves the state as it was', () => {
    for (const [sumsq, losses] of [[NaN, [1]], [Infinity, [1]], [1, [1, NaN]], [1, [-Infinity]]] as const) {
      expect(ref.adamwClippedStep(state(), [1, 1], o, sumsq, losses)).toEqual({ ...state(), skipped: true });
    }
  });
});

describe('adamw_step_clipped', () => {
  const base = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };
  /** Views of these sizes at 256-byte (64-float) offsets, as the trainer lays out its flat buffers. */
  function layout(sizes: number[]): { n: number; live: boolean[] } {
    const live: boolean[] = [];
    for (const size of sizes) {
      while (live.length % 64) live.push(false);
      for (let i = 0; i < size; i++) live.push(true);
    }
    return { n: live.length, live };
  }
  const masked = (x: Float32Array, live: boolean[]) => x.map((v, i) => (live[i] ? v : 0));
  const f32sum = (xs: number[]) => xs.reduce((a, b) => Math.fround(a + b), 0);

  // Each step: the gradient's scale (so the norm is over or under the threshold), how many
  // segments its Σg² arrives in, the micro-batch losses, and whatever poisons the sum.
  type Step = { gradScale: number; segments: number; losses: number[]; poison?: number };
  const cases: { name: string; sizes: number[]; gradClip: number; steps: Step[] }[] = [
    {
      name: 'clip active (norm over the threshold every step), one segment, 2 micro-batches',
      sizes: [1, 300], gradClip: 0.5, steps: [1, 2, 3].map(() => ({ gradScale: 1, segments: 1, losses: [2, 3] })),
    },
    {
      name: 'clip inactive, then active, 3 segments, padding between views stays 0',
      sizes: [100, 37, 257, 1], gradClip: 20, steps: [{ gradScale: 0.01, segments: 3, losses: [1] }, { gradScale: 3, segments: 3, losses: [1] }, { gradScale: 0.1, segments: 3, losses: [1] }],
    },
    {
      name: 'no clipping (gradClip 0), more than 1,024 workgroups of work, then a NaN norm, an Inf norm and an Inf loss skipped',
      sizes: [70_001, 300_001], gradClip: 0,
      steps: [
        { gradScale: 1, segments: 2, losses: [1, 1, 1] }, { gradScale: 1, segments: 2, losses: [1], poison: NaN },
        { gradScale: 1, segments: 1, losses: [1], poison: Infinity }, { gradScale: 1, segments: 2, losses: [1, Infinity] },
        { gradScale: 2, segments: 2, losses: [0.5] },
      ],
    },
  ];
  for (const { name, sizes, gradClip, steps } of cases) {
    it(name, async () => {
      const gpu = await getGpu();
      const { n, live } = layout(sizes);
      const p0 = masked(randomArray(n, 7), live);
      let want: ref.AdamwState = { p: Float64Array.from(p0), m: new Float64Array(n), v: new Float64Array(n) };
      const tp = upload(gpu, 'p', p0), tm = upload(gpu, 'm', new Float32Array(n)), tv = upload(gpu, 'v', new Float32Array(n));
      const tg = upload(gpu, 'grad', new Float32Array(n));
      const tsums = upload(gpu, 'sums', new Float32Array(3 * SUM_STRIDE)), tlosses = upload(gpu, 'losses', new Float32Array(8));
      let d: Dispatch | null = null;
      let t = 1;
      for (const [k, st] of steps.entries()) {
        const s: AdamwClippedStep = { ...base, t, gradClip, micro: st.losses.length };
        const g = masked(randomArray(n, 40 + k, st.gradScale), live);
        // Σg² split over the segments as the trainer's reduces would leave it, one per SUM_STRIDE slot
        const parts = Array.from({ length: st.segments }, (_, j) => Math.fround(g.reduce((a, x, i) => (i % st.segments === j ? a + x * x : a), 0)));
        if (st.poison !== undefined) parts[0] = st.poison;
        const sums = new Float32Array(3 * SUM_STRIDE);
        parts.forEach((x, j) => (sums[j * SUM_STRIDE] = x));
        gpu.write(tg, g);
        gpu.write(tsums, sums);
        gpu.write(tlosses, Float32Array.from({ length: 8 }, (_, i) => st.losses[i] ?? NaN)); // slots past micro are not looked at
        if (!d) d = await adamwStepClipped(gpu, tp, tm, tv, tg, tsums, tlosses, n, st.segments, s);
        else updateAdamwClipped(gpu, d, n, st.segments, s);
        const before = [await gpu.read(tp), await gpu.read(tm), await gpu.read(tv)];
        await run(gpu, [d]);
        const next = ref.adamwClippedStep(want, g, s, f32sum(parts), st.losses);
        const got = [await gpu.read(tp), await gpu.read(tm), await gpu.read(tv)];
        if (next.skipped) {
          got.forEach((x, i) => expect(firstMismatch(x, before[i], 0, 0), `step ${k + 1} skipped: ${['p', 'm', 'v'][i]} unchanged`).toBeNull());
        } else {
          t++; // the trainer only advances its step on an update
          expect(firstMismatch(got[0], next.p, 1e-5, 1e-6), `p after step ${k + 1}`).toBeNull();
          expect(firstMismatch(got[1], next.m, 1e-5, 1e-7), `m after step ${k + 1}`).toBeNull();
          expect(firstMismatch(got[2], next.v, 2e-5, 1e-9), `v after step ${k + 1}`).toBeNull();
        }
        want = next;
        for (const x of got) expect(x.every((v, i) => live[i] || Object.is(v, 0)), `padding of step ${k + 1}`).toBe(true);
      }
      releaseDispatch(gpu, d!);
      free(gpu, tp, tm, tv, tg, tsums, tlosses);
    });
  }
});
