import { describe, expect, it } from 'vitest';
import { addForward, axpyForward, scaleForward } from '../../src/kernels/elementwise';
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
