import { describe, expect, it } from 'vitest';
import { addForward, axpyForward, scaleForward } from '../../src/kernels/elementwise';
import { reduceForward } from '../../src/kernels/reduce';
import * as ref from '../reference/elementwise';
import { firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { free, getGpu, poisoned, runAndRead, upload } from './gpu';

// 1, a partial workgroup, one more than a workgroup, and more than 256 workgroups' worth.
const SIZES = [1, 7, 257, 1000, 70_001];

describe('elementwise kernels against the float64 reference', () => {
  for (const n of SIZES) {
    it(`add, scale and axpy at n=${n}`, async () => {
      const gpu = await getGpu();
      const a = randomArray(n, 1), b = randomArray(n, 2);
      const ta = upload(gpu, 'a', a), tb = upload(gpu, 'b', b), out = poisoned(gpu, 'out', n);
      expect(firstMismatch(await runAndRead(gpu, await addForward(gpu, out, ta, tb, n), out), ref.addForward(a, b), 1e-6, 1e-7)).toBeNull();
      const out2 = poisoned(gpu, 'out2', n);
      expect(firstMismatch(await runAndRead(gpu, await scaleForward(gpu, out2, ta, -2.5, n), out2), ref.scaleForward(a, -2.5), 1e-6, 1e-7)).toBeNull();
      expect(firstMismatch(await runAndRead(gpu, await axpyForward(gpu, tb, ta, 0.25, n), tb), ref.axpyForward(b, a, 0.25), 1e-6, 1e-7)).toBeNull();
      free(gpu, ta, tb, out, out2);
    });
  }
});

describe('reduce (sum, sum of squares, L2 norm) against the float64 reference', () => {
  for (const n of SIZES.concat([262_145])) {
    for (const op of ['sum', 'sumsq', 'norm'] as const) {
      it(`${op} at n=${n}`, async () => {
        const gpu = await getGpu();
        const x = randomArray(n, 3);
        const tx = upload(gpu, 'x', x), out = poisoned(gpu, 'out', 1), partials = poisoned(gpu, 'partials', 256);
        const [got] = await runAndRead(gpu, await reduceForward(gpu, out, partials, tx, n, op), out);
        const want = ref.reduceForward(x, op);
        // f32 accumulation over up to 262k terms: relative to the sum of magnitudes.
        const scale = op === 'sum' ? ref.reduceForward(x.map(Math.abs), 'sum') : Math.abs(want);
        expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-5 * scale + 1e-6);
        free(gpu, tx, out, partials);
      });
    }
  }
});
