// gather_rows, scatter_rows (into a KV cache) and scatter_rows_idx against the float64 reference.
import { describe, expect, it } from 'vitest';
import { gatherRows, scatterRows, scatterRowsIdx } from '../../src/kernels/rows';
import * as ref from '../reference/rows';
import { firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { free, getGpu, poisoned, runAndRead, upload, uploadU32 } from './gpu';

describe('gather_rows and scatter_rows', () => {
  it('gathers the rows asked for and appends to a cache at pos0', async () => {
    const gpu = await getGpu();
    const W = 5;
    const x = randomArray(6 * W, 9);
    const idx = Uint32Array.from([4, 0, 5]);
    const tx = upload(gpu, 'x', x), out = poisoned(gpu, 'out', 3 * W);
    const ti = uploadU32(gpu, 'idx', idx);
    const got = await runAndRead(gpu, await gatherRows(gpu, out, tx, ti, 3, W), out);
    expect(Array.from(got)).toEqual([...idx].flatMap((r) => Array.from(x.subarray(r * W, (r + 1) * W))));
    expect(firstMismatch(got, ref.gatherRows(x, idx, W), 0, 0)).toBeNull();
    // x as [B=2, Tq=3, W] appended at pos0=1 into a cache [2, S=4, W]
    const cache = poisoned(gpu, 'cache', 2 * 4 * W);
    const c = await runAndRead(gpu, await scatterRows(gpu, cache, tx, 2, 3, 4, W, 1), cache);
    for (let b = 0; b < 2; b++) {
      expect(c.subarray((b * 4) * W, (b * 4 + 1) * W).every(Number.isNaN)).toBe(true); // position 0 untouched
      expect(Array.from(c.subarray((b * 4 + 1) * W, (b * 4 + 4) * W))).toEqual(Array.from(x.subarray(b * 3 * W, (b + 1) * 3 * W)));
    }
    // and the whole cache as the reference says (toEqual takes NaN for NaN: the untouched rows)
    expect(Array.from(c)).toEqual(Array.from(ref.scatterRows(new Float32Array(2 * 4 * W).fill(NaN), x, 2, 3, 4, W, 1)));
    free(gpu, tx, out, ti, cache);
  });
});

describe('scatter_rows_idx (gradients of gathered rows back into place)', () => {
  // Rows in any order, the first and last of out among them; R·W past one 256-wide workgroup.
  for (const [W, idx] of [[1, [0]], [5, [7, 0, 8, 3]], [300, [2, 9, 0]]] as [number, number[]][]) {
    it(`W=${W} rows ${idx.join(',')} of 10`, async () => {
      const gpu = await getGpu();
      const R = idx.length;
      const out0 = randomArray(10 * W, 61), x = randomArray(R * W, 62);
      const tout = upload(gpu, 'out', out0), tx = upload(gpu, 'x', x), ti = uploadU32(gpu, 'idx', Uint32Array.from(idx));
      const got = await runAndRead(gpu, await scatterRowsIdx(gpu, tout, tx, ti, R, W), tout);
      // the rows named are x's, every other row keeps its value
      expect(firstMismatch(got, ref.scatterRowsIdx(out0, x, idx, W), 0, 0)).toBeNull();
      free(gpu, tout, tx, ti);
    });
  }
});
