// quantize_blocks against the float64 reference: every code, every block's absmax, and the squared
// error and norm the load report sums; on a partial last block and an all-zero block.
// (linear.test.ts checks the same weights through linear_forward after a whole load.)
import { describe, expect, it } from 'vitest';
import { BLOCK, INT8_TABLE, NF4_TABLE, quantizeBlocks, wordsFor } from '../../src/kernels/quantize';
import * as ref from '../reference/quantize';
import { firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { free, getGpu, poisoned, runAndRead, upload } from './gpu';

describe('quantize_blocks', () => {
  for (const bits of [4, 8] as const) {
    for (const n of [1, 64, 200, 70 * 64 + 5]) {
      it(`bits=${bits} n=${n}`, async () => {
        const gpu = await getGpu();
        const w = randomArray(n, 101, 0.5);
        if (n > 128) w.fill(0, 64, 128); // block 1 all zero: scale 0, every code the table's zero
        const nb = Math.ceil(n / BLOCK);
        const tw = upload(gpu, 'w', w), tscale = poisoned(gpu, 'scale', nb), terr2 = poisoned(gpu, 'err2', nb), tnorm2 = poisoned(gpu, 'norm2', nb);
        const tcodes = gpu.tensor('codes', [wordsFor(n, bits)], 'u32');
        const scale = await runAndRead(gpu, await quantizeBlocks(gpu, tcodes, tscale, terr2, tnorm2, tw, n, bits), tscale);
        const want = ref.quantizeDequantize(w, bits === 4 ? NF4_TABLE : INT8_TABLE);
        expect(firstMismatch(scale, want.scale, 0, 0)).toBeNull();
        // element e is in bits [bits·(e mod per), +bits) of word e / per
        const words = new Uint32Array((await gpu.read(tcodes)).buffer);
        const per = 32 / bits;
        const codes = Array.from({ length: n }, (_, e) => (words[Math.floor(e / per)] >>> (bits * (e % per))) & ((1 << bits) - 1));
        expect(codes).toEqual(Array.from(want.codes));
        // the report's sums per block: Σ (w − deq)² and Σ w²
        const err2 = new Float64Array(nb), norm2 = new Float64Array(nb);
        for (let e = 0; e < n; e++) {
          err2[Math.floor(e / BLOCK)] += (w[e] - want.deq[e]) ** 2;
          norm2[Math.floor(e / BLOCK)] += w[e] ** 2;
        }
        expect(firstMismatch(await gpu.read(terr2), err2, 1e-4, 1e-10)).toBeNull();
        expect(firstMismatch(await gpu.read(tnorm2), norm2, 1e-5, 1e-10)).toBeNull();
        free(gpu, tw, tscale, terr2, tnorm2, tcodes);
      });
    }
  }
});
