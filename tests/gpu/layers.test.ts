import { describe, expect, it } from 'vitest';
import { attentionForward, gatherRows, rmsnormForward, ropeForward, ropeTable, scatterRows, swigluForward } from '../../src/kernels/layers';
import * as ref from '../reference/layers';
import { firstMismatch } from '../reference/compare';
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

describe('attention_forward (causal GQA, online softmax)', () => {
  const cases = [
    { B: 1, Tq: 1, S: 1, NH: 1, NKV: 1, HS: 4, pos0: 0 },
    { B: 2, Tq: 5, S: 5, NH: 4, NKV: 2, HS: 16, pos0: 0 },
    { B: 1, Tq: 70, S: 70, NH: 2, NKV: 1, HS: 24, pos0: 0 }, // more than one 64-key block
    { B: 3, Tq: 3, S: 9, NH: 6, NKV: 2, HS: 8, pos0: 4 }, // decoding with a cache
    { B: 1, Tq: 2, S: 2, NH: 2, NKV: 2, HS: 130, pos0: 0 }, // HS not a multiple of 64 (nor of 4: the software set falls back to the tiled entry)
    { B: 1, Tq: 3, S: 3, NH: 1, NKV: 1, HS: 256, pos0: 0 }, // the largest head
  ];
  for (const c of cases) {
    it(JSON.stringify(c), async () => {
      const gpu = await getGpu();
      const { B, Tq, S, NH, NKV, HS, pos0 } = c;
      const q = randomArray(B * Tq * NH * HS, 6, 2), k = randomArray(B * S * NKV * HS, 7, 2), v = randomArray(B * S * NKV * HS, 8);
      const tq = upload(gpu, 'q', q), tk = upload(gpu, 'k', k), tv = upload(gpu, 'v', v);
      const ty = poisoned(gpu, 'y', B * Tq * NH * HS), tl = poisoned(gpu, 'lse', B * NH * Tq);
      const y = await runAndRead(gpu, await attentionForward(gpu, ty, tl, tq, tk, tv, c), ty);
      const want = ref.attentionForward(q, k, v, B, Tq, S, NH, NKV, HS, pos0);
      expect(firstMismatch(y, want.y, 1e-4, 1e-5)).toBeNull();
      expect(firstMismatch(await gpu.read(tl), want.lse, 1e-5, 1e-5)).toBeNull();
      free(gpu, tq, tk, tv, ty, tl);
    });
  }
});

describe('gather_rows and scatter_rows', () => {
  it('gathers the rows asked for and appends to a cache at pos0', async () => {
    const gpu = await getGpu();
    const W = 5;
    const x = randomArray(6 * W, 9);
    const idx = Uint32Array.from([4, 0, 5]);
    const tx = upload(gpu, 'x', x), out = poisoned(gpu, 'out', 3 * W);
    const ti = gpu.tensor('idx', [3], 'u32');
    gpu.write(ti, idx);
    const got = await runAndRead(gpu, await gatherRows(gpu, out, tx, ti, 3, W), out);
    expect(Array.from(got)).toEqual([...idx].flatMap((r) => Array.from(x.subarray(r * W, (r + 1) * W))));
    // x as [B=2, Tq=3, W] appended at pos0=1 into a cache [2, S=4, W]
    const cache = poisoned(gpu, 'cache', 2 * 4 * W);
    const c = await runAndRead(gpu, await scatterRows(gpu, cache, tx, 2, 3, 4, W, 1), cache);
    for (let b = 0; b < 2; b++) {
      expect(c.subarray((b * 4) * W, (b * 4 + 1) * W).every(Number.isNaN)).toBe(true); // position 0 untouched
      expect(Array.from(c.subarray((b * 4 + 1) * W, (b * 4 + 4) * W))).toEqual(Array.from(x.subarray(b * 3 * W, (b + 1) * 3 * W)));
    }
    free(gpu, tx, out, ti, cache);
  });
});
