// dropout_forward and dropout_backward against the CPU reference, which rebuilds the counter-based
// mask from the shader's hash: the same (seed, element) must give the same decision in both passes,
// and a rewritten seed (setDropoutSeed, once per micro-batch) a new mask.
import { describe, expect, it } from 'vitest';
import { releaseDispatch, run } from '../../src/gpu/dispatch';
import { dropoutBackward, dropoutForward, setDropoutSeed } from '../../src/kernels/dropout';
import * as ref from '../reference/dropout';
import { firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { free, getGpu, poisoned, runAndRead, upload } from './gpu';

describe('the reference mask', () => {
  it('drops about p of the elements, differently for another seed, none for p = 0', () => {
    const n = 100_000;
    const dropped = (seed: number, p: number) => Array.from({ length: n }, (_, i) => !ref.dropoutKeep(seed, i, p));
    for (const p of [0.1, 0.5]) {
      const a = dropped(7, p), b = dropped(8, p);
      expect(Math.abs(a.filter(Boolean).length / n - p)).toBeLessThan(0.01);
      // independent masks agree on about p² + (1 − p)² of the elements, not on all of them
      const agree = a.filter((d, i) => d === b[i]).length / n;
      expect(Math.abs(agree - (p * p + (1 - p) * (1 - p)))).toBeLessThan(0.01);
    }
    expect(dropped(7, 0).some(Boolean)).toBe(false);
  });
});

describe('dropout_forward and dropout_backward', () => {
  // 1, a partial workgroup, one more than a workgroup, and more than 256 workgroups' worth.
  for (const n of [1, 7, 257, 70_001]) {
    for (const p of [0, 0.1, 0.5]) {
      it(`n=${n} p=${p}`, async () => {
        const gpu = await getGpu();
        const seed = 0x9e3779b9;
        const x = randomArray(n, 71), g = randomArray(n, 72), dx0 = randomArray(n, 73);
        const tx = upload(gpu, 'x', x), tout = poisoned(gpu, 'out', n);
        const fwd = await dropoutForward(gpu, tout, tx, n, p, seed);
        expect(firstMismatch(await runAndRead(gpu, fwd, tout), ref.dropoutForward(x, p, seed), 1e-6, 0)).toBeNull();

        // the backward adds (+=) the gradient through the same mask
        const tg = upload(gpu, 'g', g), tdx = upload(gpu, 'dx', dx0);
        const bwd = await dropoutBackward(gpu, tdx, tg, n, p, seed);
        await run(gpu, [bwd]);
        expect(firstMismatch(await gpu.read(tdx), ref.dropoutBackward(dx0, g, p, seed), 1e-6, 1e-7)).toBeNull();

        // a built pair with its seed rewritten: the new seed's mask, in both passes
        const fwd2 = await dropoutForward(gpu, tout, tx, n, p, seed);
        setDropoutSeed(gpu, fwd2, 12345);
        setDropoutSeed(gpu, bwd, 12345);
        gpu.write(tdx, dx0);
        expect(firstMismatch(await runAndRead(gpu, fwd2, tout), ref.dropoutForward(x, p, 12345), 1e-6, 0)).toBeNull();
        expect(firstMismatch(await runAndRead(gpu, bwd, tdx), ref.dropoutBackward(dx0, g, p, 12345), 1e-6, 1e-7)).toBeNull();
        releaseDispatch(gpu, fwd);
        free(gpu, tx, tout, tg, tdx);
      });
    }
  }
});
