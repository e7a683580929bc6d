// swiglu_forward and swiglu_backward against the float64 reference, and the reference's gradients
// against finite differences.
import { describe, expect, it } from 'vitest';
import { swigluBackward, swigluForward } from '../../src/kernels/swiglu';
import * as ref from '../reference/swiglu';
import { dot, fd, firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { free, getGpu, poisoned, runAndRead, upload } from './gpu';

describe('swiglu_forward', () => {
  it('matches silu(gate)·up, including large |gate|', async () => {
    const gpu = await getGpu();
    const n = 1000;
    const gate = randomArray(n, 4, 30), up = randomArray(n, 5);
    const tg = upload(gpu, 'gate', gate), tu = upload(gpu, 'up', up), th = poisoned(gpu, 'h', n);
    const got = await runAndRead(gpu, await swigluForward(gpu, th, tg, tu, n), th);
    expect(firstMismatch(got, ref.swigluForward(gate, up), 1e-5, 1e-6)).toBeNull();
    free(gpu, tg, tu, th);
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
