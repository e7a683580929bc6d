import { describe, expect, it } from 'vitest';
import { entropyForward, gatherLabels } from '../../src/kernels/entropy';
import * as ref from '../reference/entropy';
import { randomArray } from '../reference/random';
import { free, getGpu, poisoned, runAndRead, upload } from './gpu';

describe('entropy_forward and gather_labels', () => {
  for (const [P, V, scale] of [[1, 1, 1], [3, 384, 5], [2, 1000, 30], [1, 151936, 8]]) {
    it(`P=${P} V=${V} logit scale ${scale}`, async () => {
      const gpu = await getGpu();
      const x = randomArray(P * V, 21, scale);
      if (V > 10) x[5] = x[7] = 1e3; // a tie at the max: the lowest index wins, and a peaked distribution
      const tx = upload(gpu, 'logits', x), stats = poisoned(gpu, 'stats', P * 4);
      const got = await runAndRead(gpu, await entropyForward(gpu, stats, tx, P, V), stats);
      for (let p = 0; p < P; p++) {
        const want = ref.entropyForward(x.subarray(p * V, (p + 1) * V));
        expect(Math.abs(got[p * 4] - want.H)).toBeLessThanOrEqual(1e-4 * Math.max(1, want.H));
        expect(got[p * 4 + 1]).toBeCloseTo(want.lse, 3);
        expect(got[p * 4 + 2]).toBe(want.argmax);
        expect(got[p * 4 + 3]).toBe(Math.fround(want.max));
      }
      const ids = Uint32Array.from([0, V - 1, Math.floor(V / 2)]);
      const tids = gpu.tensor('ids', [3], 'u32');
      gpu.write(tids, ids);
      const picked = poisoned(gpu, 'picked', P * 3);
      const lab = await runAndRead(gpu, await gatherLabels(gpu, picked, tx, tids, P, V, 3), picked);
      for (let p = 0; p < P; p++) for (let j = 0; j < 3; j++) expect(lab[p * 3 + j]).toBe(x[p * V + ids[j]]);
      free(gpu, tx, stats, tids, picked);
    });
  }
});
