// Backward kernels of the per-layer ops against float64 references, and the references
// themselves against finite differences.
import { describe, expect, it } from 'vitest';
import { rmsnormBackward, rmsnormBackwardWeight, ropeBackward, ropeTable, swigluBackward } from '../../src/kernels/layers';
import * as ref from '../reference/layers';
import { firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { free, getGpu, poisoned, runAndRead, upload } from './gpu';

/** Central difference of f at x[i] in float64. */
function fd(f: (x: Float64Array) => number, x: Float64Array, i: number, h = 1e-6): number {
  const a = Float64Array.from(x), b = Float64Array.from(x);
  a[i] += h;
  b[i] -= h;
  return (f(a) - f(b)) / (2 * h);
}
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);

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

describe('rope_backward', () => {
  it('matches the reference and inverts the forward rotation', async () => {
    const gpu = await getGpu();
    const [rows, H, HS, T] = [6, 3, 16, 3];
    const invFreq = Float64Array.from({ length: HS / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / HS));
    const dy = randomArray(rows * H * HS, 8);
    const tdy = upload(gpu, 'dy', dy), tt = upload(gpu, 'rope', ropeTable(invFreq, T));
    const got = await runAndRead(gpu, await ropeBackward(gpu, tdy, tt, rows, H, HS, T), tdy);
    expect(firstMismatch(got, ref.ropeBackward(dy, invFreq, rows, H, HS, T), 1e-5, 1e-6)).toBeNull();
    // The reference is the transpose: <rope(x), dy> = <x, rope_backward(dy)>
    const x = randomArray(rows * H * HS, 9);
    expect(dot(ref.ropeForward(x, invFreq, rows, H, HS, T), dy)).toBeCloseTo(dot(x, ref.ropeBackward(dy, invFreq, rows, H, HS, T)), 9);
    free(gpu, tdy, tt);
  });
});

describe('swiglu_backward', () => {
  it('matches the reference, which matches finite differences', async () => {
    const gpu = await getGpu();
    const n = 777;
    const g = randomArray(n, 10, 8), u = randomArray(n, 11), dh = randomArray(n, 12);
    const tg = upload(gpu, 'g', g), tu = upload(gpu, 'u', u), tdh = upload(gpu, 'dh', dh), tdg = poisoned(gpu, 'dg', n), tdu = poisoned(gpu, 'du', n);
    const d = await swigluBackward(gpu, tdg, tdu, tdh, tg, tu, n);
    const dg = await runAndRead(gpu, d, tdg);
    const du = await gpu.read(tdu);
    const want = ref.swigluBackward(dh, g, u);
    expect(firstMismatch(dg, want.dgate, 1e-5, 1e-6)).toBeNull();
    expect(firstMismatch(du, want.dup, 1e-5, 1e-6)).toBeNull();
    const G = Float64Array.from(g.subarray(0, 5)), U = Float64Array.from(u.subarray(0, 5)), DH = dh.subarray(0, 5);
    const small = ref.swigluBackward(DH, G, U);
    for (let i = 0; i < 5; i++) {
      expect(small.dgate[i]).toBeCloseTo(fd((gg) => dot(ref.swigluForward(gg, U), DH), G, i), 6);
      expect(small.dup[i]).toBeCloseTo(fd((uu) => dot(ref.swigluForward(G, uu), DH), U, i), 6);
    }
    free(gpu, tg, tu, tdh, tdg, tdu);
  });
});
