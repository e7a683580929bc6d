// rope_forward and rope_backward against the float64 reference (the backward is its transpose).
import { describe, expect, it } from 'vitest';
import { ropeBackward, ropeForward, ropeTable } from '../../src/kernels/rope';
import * as ref from '../reference/rope';
import { dot, firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { free, getGpu, runAndRead, upload } from './gpu';

describe('rope_forward', () => {
  for (const [rows, H, HS, T, pos0] of [[1, 1, 2, 1, 0], [6, 3, 16, 3, 0], [4, 2, 24, 4, 5], [7, 4, 64, 7, 0]]) {
    it(`rows=${rows} H=${H} HS=${HS} T=${T} pos0=${pos0}`, async () => {
      const gpu = await getGpu();
      const x = randomArray(rows * H * HS, 3);
      const invFreq = Float32Array.from({ length: HS / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / HS));
      const tx = upload(gpu, 'x', x), tf = upload(gpu, 'rope', ropeTable(invFreq, pos0 + T));
      const got = await runAndRead(gpu, await ropeForward(gpu, tx, tf, rows, H, HS, T, pos0), tx);
      expect(firstMismatch(got, ref.ropeForward(x, invFreq, rows, H, HS, T, pos0), 1e-5, 1e-6)).toBeNull();
      free(gpu, tx, tf);
    });
  }
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
