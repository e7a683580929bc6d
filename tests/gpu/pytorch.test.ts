// The model against PyTorch: every case of tests/fixtures/pytorch (copied from shared/fixtures),
// loaded through the public API, with its LoRA adapter applied.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/index';
import { referenceForward, type Weights } from '../reference/llama';
import { getGpu } from './gpu';
import { entropyOf, readFixture, relErr } from './fixtures';
import { INT8_TABLE, NF4_TABLE } from '../../src/kernels/quantize';
import { quantizeDequantize } from '../reference/quantize';

const CASES = ['llama-tiny', 'llama3-scaled-tied', 'qwen2-tiny', 'qwen3-tiny'];
const DIR = join(__dirname, '../fixtures/pytorch');

describe('the model matches PyTorch on every fixture case (quant none, adapter applied)', () => {
  for (const name of CASES) {
    it(name, async () => {
      const gpu = await getGpu();
      const fx = await readFixture(name);
      const { V } = fx.config;
      const model = await loadModel(gpu, { kind: 'dir', path: join(DIR, name) }, { quant: 'none', adapter: { kind: 'dir', path: join(DIR, name) } });
      // Logits at every unpadded position of every row.
      const positions: [number, number][] = fx.rows.flatMap((r, b) => r.map((_, t) => [b, t] as [number, number]));
      const got = await model.logits(fx.rows, positions);
      const want = fx.ref.get('logits')!.f32;
      const wantSel = new Float32Array(positions.length * V);
      positions.forEach(([b, t], i) => wantSel.set(want.subarray((b * fx.T + t) * V, (b * fx.T + t + 1) * V), i * V));
      expect(relErr(got, wantSel)).toBeLessThan(1e-4);
      // Entropy at each row's last position.
      const ent = fx.ref.get('entropy')!.f32;
      let k = 0;
      fx.rows.forEach((r, b) => {
        k += r.length;
        const h = entropyOf(got.subarray((k - 1) * V, k * V));
        expect(Math.abs(h - ent[b]) / ent[b]).toBeLessThan(1e-4);
      });
      // Greedy tokens through the KV cache.
      const prompt = fx.rows[0].slice(0, fx.rows[1].length);
      const gen = await model.generate(prompt, { maxNewTokens: 6, stopTokens: [] });
      expect(gen.ids).toEqual(Array.from(fx.ref.get('greedy')!.i32!));
      model.dispose();
    });
  }

  // Quantised base weights: the GPU must equal the float64 reference run on the same dequantised
  // weights (that is correctness); the distance to PyTorch's unquantised logits is the cost of
  // quantisation, reported. On these random tiny models NF4's ~9% per-weight error compounds through
  // 14 quantised matrices to ~30-40% on the logits; int8 stays near 2-3%.
  for (const quant of ['nf4', 'int8'] as const) {
    it(`${quant} base weights: equal to the reference on dequantised weights; error against PyTorch reported`, async () => {
      const gpu = await getGpu();
      for (const name of CASES) {
        const fx = await readFixture(name);
        const { V } = fx.config;
        const model = await loadModel(gpu, { kind: 'dir', path: join(DIR, name) }, { quant, adapter: { kind: 'dir', path: join(DIR, name) } });
        const row = fx.rows[0];
        const got = await model.logits([row], row.map((_, t) => [0, t] as [number, number]));
        const table = quant === 'nf4' ? NF4_TABLE : INT8_TABLE;
        const w: Weights = new Map([...fx.model].map(([n, t]) => [n, t.shape.length === 2 ? quantizeDequantize(t.f32, table).deq : t.f32]));
        const lora = { scale: fx.info.lora.scaling, r: fx.info.lora.r, tensors: new Map([...fx.adapter].map(([n, t]) => [n, t.f32])) };
        expect(relErr(got, referenceForward(fx.config, w, [row], lora)), name).toBeLessThan(1e-4);
        const err = relErr(got, fx.ref.get('logits')!.f32.subarray(0, row.length * V));
        console.log(`${quant} ${name}: logits relative error vs PyTorch ${err.toExponential(2)}; weights ${model.report.quantRelativeError.toExponential(2)}; ${model.report.bytesPerParameter.toFixed(3)} B/param`);
        expect(err).toBeLessThan(quant === 'nf4' ? 0.6 : 5e-2);
        model.dispose();
      }
    });
  }

  it('the float64 CPU reference model also matches PyTorch (it is the spec for the kernels)', async () => {
    for (const name of CASES) {
      const fx = await readFixture(name);
      const w: Weights = new Map([...fx.model].map(([n, t]) => [n, t.f32]));
      const lora = { scale: fx.info.lora.scaling, r: fx.info.lora.r, tensors: new Map([...fx.adapter].map(([n, t]) => [n, t.f32])) };
      const row = fx.rows[0];
      const got = referenceForward(fx.config, w, [row], lora);
      const want = fx.ref.get('logits')!.f32.subarray(0, row.length * fx.config.V);
      expect(relErr(got, want), name).toBeLessThan(1e-6);
    }
  });
});
