// Full fine-tuning of small unquantised models: every weight (embeddings, norms, biases, the
// projections, the lm_head) gets its gradient, checked against finite differences.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/index';
import { Trainer } from '../../src/train/trainer';
import { getGpu } from './gpu';
import { readFixture } from './fixtures';

const DIR = join(__dirname, '../fixtures/pytorch');

describe('full fine-tuning gradients agree with finite differences', () => {
  for (const [name, picks] of [
    ['qwen2-tiny', ['model.embed_tokens.weight', 'model.layers.0.self_attn.q_proj.bias', 'model.layers.1.mlp.down_proj.weight', 'model.norm.weight', 'model.layers.0.input_layernorm.weight']],
    ['qwen3-tiny', ['model.layers.1.self_attn.k_norm.weight', 'model.layers.0.self_attn.v_proj.weight', 'model.layers.1.post_attention_layernorm.weight']],
    ['llama-tiny', ['lm_head.weight', 'model.embed_tokens.weight', 'model.layers.0.self_attn.o_proj.weight']],
  ] as const) {
    it(name, async () => {
      const gpu = await getGpu();
      const fx = await readFixture(name);
      const labels = fx.ref.get('labels')!.i32!;
      const batch = { tokens: fx.rows, labels: fx.rows.map((r, b) => Array.from(labels.subarray(b * fx.T, b * fx.T + r.length))) };
      const model = await loadModel(gpu, { kind: 'dir', path: join(DIR, name) }, { quant: 'none' });
      const trainer = await Trainer.create(model, { mode: 'full' });
      const { loss, grads } = await trainer.lossAndGradients(batch);
      expect(Number.isFinite(loss)).toBe(true);
      const tensors = new Map(trainer.tensors().map((x) => [x.name, x.t]));
      for (const p of picks) {
        const t = tensors.get(p)!;
        const g = grads.get(p)!;
        const values = await gpu.read(t);
        const i = g.reduce((best, v, j) => (Math.abs(v) > Math.abs(g[best]) ? j : best), 0);
        const h = 1e-2 * Math.max(1, Math.abs(values[i]));
        const at = async (d: number) => {
          const v = Float32Array.from(values);
          v[i] += d;
          gpu.write(t, v);
          return (await trainer.lossAndGradients(batch)).loss;
        };
        const fd = ((await at(h)) - (await at(-h))) / (2 * h);
        gpu.write(t, values);
        expect(Math.abs(fd - g[i]) / Math.abs(g[i]), `${p}[${i}]: fd ${fd} vs ${g[i]}`).toBeLessThan(3e-2);
      }
      trainer.dispose();
      model.dispose();
    });
  }
});

describe('recomputing each layer in the backward pass gives the gradients of keeping every layer', () => {
  for (const [name, config] of [
    ['qwen3-tiny', { mode: 'full' }],
    ['qwen2-tiny', { mode: 'lora', r: 4, dropout: 0.1 }],
  ] as const) {
    it(`${name} ${config.mode}`, async () => {
      const gpu = await getGpu();
      const fx = await readFixture(name);
      const labels = fx.ref.get('labels')!.i32!;
      const batch = { tokens: fx.rows, labels: fx.rows.map((r, b) => Array.from(labels.subarray(b * fx.T, b * fx.T + r.length))) };
      const results = [];
      for (const recompute of ['always', 'never'] as const) {
        const model = await loadModel(gpu, { kind: 'dir', path: join(DIR, name) }, { quant: 'none' });
        const trainer = await Trainer.create(model, { ...config, recompute });
        results.push(await trainer.lossAndGradients(batch));
        trainer.dispose();
        model.dispose();
      }
      const [re, kept] = results;
      expect(kept.loss).toBe(re.loss);
      expect([...kept.grads.keys()]).toEqual([...re.grads.keys()]);
      for (const [k, g] of re.grads) expect(kept.grads.get(k), k).toEqual(g);
    });
  }
});
