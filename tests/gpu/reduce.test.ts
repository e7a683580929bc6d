import { describe, expect, it } from 'vitest';
import { reduceForward } from '../../src/kernels/reduce';
import * as ref from '../reference/reduce';
import { randomArray } from '../reference/random';
import { free, getGpu, poisoned, runAndRead, upload } from './gpu';

// 1, a partial workgroup, one more than a workgroup, more than 256 workgroups' worth, and more than
// the first pass's 256 workgroups of 1024 elements.
const SIZES = [1, 7, 257, 1000, 70_001, 262_145];

describe('reduce (sum, sum of squares, L2 norm) against the float64 reference', () => {
  for (const n of SIZES) {
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
