// rope_forward (in place, as inference runs it), rope_forward_out (q read, qr written, as training runs
// it) and rope_backward against the float64 reference (the backward is its transpose).
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors';
import type { Gpu } from '../../src/gpu/device';
import { ropeBackward, ropeForward, ropeTable } from '../../src/kernels/rope';
import * as ref from '../reference/rope';
import { dot, firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { free, getGpu, poisoned, runAndRead, upload } from './gpu';

const invFreqFor = (HS: number) => Float64Array.from({ length: HS / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / HS));

// [rows, H, HS, T, pos0]: T = 1; HS = 130 (65 pairs, an odd count); rows·H·HS/2 above one 256-wide
// workgroup and not a multiple of it; T dividing rows into a batch (rows = B·T) with T prime.
const SHAPES = [[1, 1, 2, 1, 0], [6, 3, 16, 3, 0], [4, 2, 24, 4, 5], [7, 4, 64, 7, 0], [39, 3, 130, 13, 0], [26, 5, 130, 13, 7], [3, 14, 64, 1, 11]];

/** y = rope(x) through the launcher: in place when y is x, else into a NaN-poisoned y. */
async function rotate(gpu: Gpu, x: Float32Array, inPlace: boolean, [rows, H, HS, T, pos0]: number[]) {
  const tx = upload(gpu, 'q', x), tt = upload(gpu, 'rope', ropeTable(invFreqFor(HS), pos0 + T));
  const ty = inPlace ? tx : poisoned(gpu, 'qr', x.length);
  const d = await ropeForward(gpu, ty, tx, tt, rows, H, HS, T, pos0);
  const label = d.label;
  const y = await runAndRead(gpu, d, ty);
  const xAfter = await gpu.read(tx);
  free(gpu, ...new Set([tx, ty, tt]));
  return { y, xAfter, label };
}

for (const inPlace of [true, false]) {
  describe(inPlace ? 'rope_forward (in place)' : 'rope_forward_out', () => {
    for (const shape of SHAPES) {
      const [rows, H, HS, T, pos0] = shape;
      it(`rows=${rows} H=${H} HS=${HS} T=${T} pos0=${pos0}`, async () => {
        const gpu = await getGpu();
        const x = randomArray(rows * H * HS, 3 + rows);
        const { y, xAfter, label } = await rotate(gpu, x, inPlace, shape);
        expect(label).toBe(inPlace ? 'rope:rope_forward' : 'rope:rope_forward_out');
        expect(firstMismatch(y, ref.ropeForward(x, invFreqFor(HS), rows, H, HS, T, pos0), 1e-5, 1e-6)).toBeNull();
        if (!inPlace) expect(xAfter).toEqual(x); // q is only read
      });
    }

    // Inference builds its launches once with pos0 = 0 and writes each run's pos0 into uniform field 4
    // (layer.ts: atPos0(rq, 4)); the field must be pos0 in this entry's Params.
    it('pos0 patched into uniform field 4 after the launch was built', async () => {
      const gpu = await getGpu();
      const [rows, H, HS, T, pos0] = [10, 3, 130, 5, 9];
      const x = randomArray(rows * H * HS, 21);
      const tx = upload(gpu, 'q', x), tt = upload(gpu, 'rope', ropeTable(invFreqFor(HS), pos0 + T));
      const ty = inPlace ? tx : poisoned(gpu, 'qr', x.length);
      const d = await ropeForward(gpu, ty, tx, tt, rows, H, HS, T);
      gpu.device.queue.writeBuffer(d.uniform!, 4 * 4, new Uint32Array([pos0]));
      const y = await runAndRead(gpu, d, ty);
      expect(firstMismatch(y, ref.ropeForward(x, invFreqFor(HS), rows, H, HS, T, pos0), 1e-5, 1e-6)).toBeNull();
      free(gpu, ...new Set([tx, ty, tt]));
    });
  });
}

describe('rope_forward bindings', () => {
  it('refuses two views of one buffer at different offsets (WebGPU would reject the dispatch)', async () => {
    const gpu = await getGpu();
    const [rows, H, HS, T] = [2, 2, 64, 2];
    const tx = gpu.tensor('q', [2 * rows * H * HS]), tt = upload(gpu, 'rope', ropeTable(invFreqFor(HS), T));
    const upper = { ...tx, name: 'q[upper]', offset: 4 * rows * H * HS, bytes: 4 * rows * H * HS };
    await expect(ropeForward(gpu, upper, tx, tt, rows, H, HS, T)).rejects.toThrow(ShapeError);
    free(gpu, tx, tt);
  });
});

describe('rope_backward', () => {
  it('matches the reference and inverts the forward rotation', async () => {
    const gpu = await getGpu();
    const [rows, H, HS, T] = [6, 3, 16, 3];
    const invFreq = invFreqFor(HS);
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
