// embedding_forward over loaded tables in row chunks, and embedding_backward (the CSR scatter-add of
// full fine-tuning) against float64 references.
import { describe, expect, it } from 'vitest';
import { releaseDispatch, run } from '../../src/gpu/dispatch';
import { embeddingBackward, embeddingForward } from '../../src/kernels/embedding';
import type { Bits } from '../../src/kernels/quantize';
import { destroyWeight, f32Source, LoadScratch, loadWeight } from '../../src/model/weights';
import * as ref from '../reference/embedding';
import { loadedWeights } from '../reference/quantize';
import { firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';
import { free, getGpu, poisoned, runAndRead, upload, uploadU32 } from './gpu';

describe('embedding_forward', () => {
  for (const bits of [32, 4] as Bits[]) {
    it(`embedding_forward bits=${bits} over several chunks`, async () => {
      const gpu = await getGpu();
      const scratch = new LoadScratch(gpu);
      const [V, C] = [300, 16];
      const E = randomArray(V * C, 14);
      const { weight } = await loadWeight(gpu, scratch, f32Source('E', E), V, C, bits, 'base', 1024);
      expect(weight.chunks.length).toBeGreaterThan(1);
      const ids = Uint32Array.from([0, 299, 64, 65, 7, 128, 255]);
      const tIds = gpu.tensor('ids', [ids.length], 'u32');
      gpu.write(tIds, ids);
      const tx = poisoned(gpu, 'x', ids.length * C);
      const ds = await embeddingForward(gpu, tx, tIds, weight, ids.length);
      await run(gpu, ds);
      const x = await gpu.read(tx);
      ds.forEach((d) => releaseDispatch(gpu, d));
      expect(firstMismatch(x, ref.embeddingForward(loadedWeights(E, bits), ids, C), 1e-6, 1e-7)).toBeNull();
      destroyWeight(gpu, weight);
      scratch.destroy();
      free(gpu, tIds, tx);
    });
  }
});

/**
 * The CSR lists embedding_backward reads, built as the training plan builds them: each distinct token
 * of the listed rows once (uniq, in order of first appearance), and its rows pos[off[u] .. off[u+1]].
 */
function csr(ids: ArrayLike<number>, rows: number[]): { uniq: Uint32Array; off: Uint32Array; pos: Uint32Array } {
  const byId = new Map<number, number[]>();
  for (const r of rows) byId.set(ids[r], [...(byId.get(ids[r]) ?? []), r]);
  const uniq = Uint32Array.from(byId.keys());
  const off = new Uint32Array(uniq.length + 1);
  const pos: number[] = [];
  uniq.forEach((id, u) => {
    pos.push(...byId.get(id)!);
    off[u + 1] = pos.length;
  });
  return { uniq, off, pos: Uint32Array.from(pos) };
}

describe('embedding_backward (dE += the rows of each token, summed)', () => {
  const cases = [
    { V: 5, C: 1, ids: [3], skip: [] as number[] }, // one row, one column
    { V: 300, C: 13, ids: [0, 299, 7, 7, 42, 0, 7, 299, 150, 42, 7, 1], skip: [] }, // repeats, both ends of the table
    { V: 64, C: 40, ids: Array.from({ length: 37 }, (_, r) => (r * 13) % 11), skip: [3, 8, 20, 36] }, // rows left out of the lists (not every position trains the table)
  ];
  for (const { V, C, ids, skip } of cases) {
    it(`V=${V} C=${C} rows=${ids.length}, ${skip.length} rows not listed`, async () => {
      const gpu = await getGpu();
      const R = ids.length;
      const rows = Array.from({ length: R }, (_, r) => r).filter((r) => !skip.includes(r));
      const { uniq, off, pos } = csr(ids, rows);
      const dE0 = randomArray(V * C, 51), dx = randomArray(R * C, 52);
      const tdE = upload(gpu, 'dE', dE0), tdx = upload(gpu, 'dx', dx);
      const tu = uploadU32(gpu, 'uniq', uniq), to = uploadU32(gpu, 'off', off), tp = uploadU32(gpu, 'pos', pos);
      // U distinct tokens, launched over all R rows' worth of work (the plan's fixed size).
      const got = await runAndRead(gpu, await embeddingBackward(gpu, tdE, tdx, tu, to, tp, uniq.length, C, R), tdE);
      const listed = rows.flatMap((r) => Array.from(dx.subarray(r * C, (r + 1) * C)));
      const want = ref.embeddingBackward(dE0, listed, rows.map((r) => ids[r]), C);
      expect(firstMismatch(got, want, 1e-6, 1e-6)).toBeNull();
      free(gpu, tdE, tdx, tu, to, tp);
    });
  }
});
