// rmsnorm_forward, rmsnorm_backward and rmsnorm_backward_weight against the float64 reference, and
// the reference's gradients against finite differences.
import { describe, expect, it } from 'vitest';
import { rmsnormBackward, rmsnormBackwardWeight, rmsnormForward } from '../../src/kernels/rmsnorm';
import * as ref from '../reference/rmsnorm';
import { dot, fd, firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { free, getGpu, poisoned, runAndRead, upload } from './gpu';

describe('rmsnorm_forward', () => {
  for (const [R, W] of [[1, 1], [3, 64], [5, 300], [2, 1000]]) {
    it(`R=${R} W=${W}`, async () => {
      const gpu = await getGpu();
      const x = randomArray(R * W, 1, 3), w = randomArray(W, 2);
      const tx = upload(gpu, 'x', x), tw = upload(gpu, 'w', w), ty = poisoned(gpu, 'y', R * W), tr = poisoned(gpu, 'rstd', R);
      const d = await rmsnormForward(gpu, ty, tr, tx, tw, R, W, 1e-6);
      const y = await runAndRead(gpu, d, ty);
      const want = ref.rmsnormForward(x, w, R, W, 1e-6);
      expect(firstMismatch(y, want.y, 1e-5, 1e-6)).toBeNull();
      expect(firstMismatch(await gpu.read(tr), want.rstd, 1e-5, 1e-6)).toBeNull();
      free(gpu, tx, tw, ty, tr);
    });
  }
});

describe('rmsnorm_backward (+ weight)', () => {
  for (const [R, W] of [[1, 1], [3, 64], [5, 300]]) {
    for (const accumulate of [false, true]) {
      it(`R=${R} W=${W} accumulate=${accumulate}`, async () => {
        const gpu = await getGpu();
        const x = randomArray(R * W, 1, 2), w = randomArray(W, 2), dy = randomArray(R * W, 3), dx0 = randomArray(R * W, 4);
        const want = ref.rmsnormBackward(dy, x, w, R, W, 1e-6);
        const rstd = Float32Array.from(ref.rmsnormForward(x, w, R, W, 1e-6).rstd);
        const tx = upload(gpu, 'x', x), tw = upload(gpu, 'w', w), tdy = upload(gpu, 'dy', dy), tr = upload(gpu, 'rstd', rstd);
        const tdx = accumulate ? upload(gpu, 'dx', dx0) : poisoned(gpu, 'dx', R * W);
        const got = await runAndRead(gpu, await rmsnormBackward(gpu, tdx, tdy, tx, tw, tr, R, W, accumulate), tdx);
        expect(firstMismatch(got, want.dx.map((v, i) => v + (accumulate ? dx0[i] : 0)), 1e-4, 1e-5)).toBeNull();
        const tdw = upload(gpu, 'dw', new Float32Array(W));
        const dw = await runAndRead(gpu, await rmsnormBackwardWeight(gpu, tdw, tdy, tx, tr, R, W), tdw);
        expect(firstMismatch(dw, want.dw, 1e-4, 1e-5)).toBeNull();
        free(gpu, tx, tw, tdy, tr, tdx, tdw);
      });
    }
  }

  it('the reference agrees with finite differences', () => {
    const [R, W] = [2, 5];
    const x = Float64Array.from(randomArray(R * W, 5)), w = Float64Array.from(randomArray(W, 6)), dy = randomArray(R * W, 7);
    const { dx, dw } = ref.rmsnormBackward(dy, x, w, R, W, 1e-6);
    for (let i = 0; i < R * W; i++) expect(dx[i]).toBeCloseTo(fd((xx) => dot(ref.rmsnormForward(xx, w, R, W, 1e-6).y, dy), x, i), 6);
    for (let i = 0; i < W; i++) expect(dw[i]).toBeCloseTo(fd((ww) => dot(ref.rmsnormForward(x, ww, R, W, 1e-6).y, dy), w, i), 6);
  });
});
