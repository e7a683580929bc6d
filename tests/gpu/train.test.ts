// LoRA training against PyTorch: the loss and every LoRA gradient of each fixture case through the
// public API, a finite-difference check, and a fixture model overfitting a handful of examples.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/index';
import { Trainer } from '../../src/train/trainer';
import { getGpu } from './gpu';
import { readFixture, relErr } from './fixtures';

const DIR = join(__dirname, '../fixtures/pytorch');
const CASES = ['llama-tiny', 'llama3-scaled-tied', 'qwen2-tiny', 'qwen3-tiny'];

async function fixtureBatch(name: string) {
  const fx = await readFixture(name);
  const labels = fx.ref.get('labels')!.i32!;
  const tokens = fx.rows;
  return { fx, batch: { tokens, labels: tokens.map((r, b) => Array.from(labels.subarray(b * fx.T, b * fx.T + r.length))) } };
}

describe('LoRA loss and gradients match PyTorch (quant none)', () => {
  for (const name of CASES) {
    it(name, async () => {
      const gpu = await getGpu();
      const { fx, batch } = await fixtureBatch(name);
      const model = await loadModel(gpu, { kind: 'dir', path: join(DIR, name) }, { quant: 'none', adapter: { kind: 'dir', path: join(DIR, name) } });
      const trainer = await Trainer.create(model);
      const { loss, grads } = await trainer.lossAndGradients(batch);
      expect(Math.abs(loss - fx.info.loss_value) / fx.info.loss_value).toBeLessThan(1e-5);
      let checked = 0;
      for (const [n, g] of grads) {
        const want = fx.ref.get(`grad.${n}`);
        expect(want, n).toBeDefined();
        expect(relErr(g, want!.f32), n).toBeLessThan(1e-3);
        checked++;
      }
      expect(checked).toBe(fx.model.size > 0 ? model.cfg.L * 14 : 0);
      trainer.dispose();
      model.dispose();
    });
  }

  it('a finite-difference check agrees on a few parameters', async () => {
    const gpu = await getGpu();
    const { batch } = await fixtureBatch('llama-tiny');
    const model = await loadModel(gpu, { kind: 'dir', path: join(DIR, 'llama-tiny') }, { quant: 'none', adapter: { kind: 'dir', path: join(DIR, 'llama-tiny') } });
    const trainer = await Trainer.create(model);
    const { grads } = await trainer.lossAndGradients(batch);
    const tensors = trainer.tensors();
    for (const pick of [0, 5, tensors.length - 1]) {
      const { name, t } = tensors[pick];
      const values = await gpu.read(t);
      const g = grads.get(name)!;
      const i = g.reduce((best, v, j) => (Math.abs(v) > Math.abs(g[best]) ? j : best), 0); // the largest gradient entry
      const h = 1e-2;
      const at = async (delta: number) => {
        const v = Float32Array.from(values);
        v[i] += delta;
        gpu.write(t, v);
        return (await trainer.lossAndGradients(batch)).loss;
      };
      const fd = ((await at(h)) - (await at(-h))) / (2 * h);
      gpu.write(t, values);
      expect(Math.abs(fd - g[i]) / Math.abs(g[i]), `${name}[${i}]: fd ${fd} vs ${g[i]}`).toBeLessThan(2e-2);
    }
    trainer.dispose();
    model.dispose();
  });
});

describe('LoRA dropout', () => {
  it('drops the expected fraction, scales the rest, and its gradients agree with finite differences', async () => {
    const { dropoutForward } = await import('../../src/kernels/dropout');
    const { releaseDispatch, run } = await import('../../src/gpu/dispatch');
    const gpu = await getGpu();
    const n = 20_000;
    const x = gpu.tensor('x', [n]), y = gpu.tensor('y', [n]);
    gpu.write(x, new Float32Array(n).fill(1));
    const d = await dropoutForward(gpu, y, x, n, 0.3, 42);
    await run(gpu, [d]);
    const out = await gpu.read(y);
    releaseDispatch(gpu, d);
    const dropped = out.filter((v) => v === 0).length / n;
    expect(Math.abs(dropped - 0.3)).toBeLessThan(0.02);
    expect(out.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
    gpu.destroyBuffer(x.buffer);
    gpu.destroyBuffer(y.buffer);

    const { batch } = await fixtureBatch('llama-tiny');
    const model = await loadModel(gpu, { kind: 'dir', path: join(DIR, 'llama-tiny') }, { quant: 'none', adapter: { kind: 'dir', path: join(DIR, 'llama-tiny') } });
    const trainer = await Trainer.create(model, { dropout: 0.3 });
    trainer.dropoutTick = 5;
    const { loss, grads } = await trainer.lossAndGradients(batch);
    trainer.dropoutTick = 5;
    expect((await trainer.lossAndGradients(batch)).loss).toBe(loss); // same tick, same masks
    expect(Math.abs(loss - 6.611245228486091)).toBeGreaterThan(1e-4); // the masks change the loss
    const tensors = trainer.tensors();
    for (const pick of [0, 13, tensors.length - 2]) {
      const { name, t } = tensors[pick];
      const values = await gpu.read(t);
      const g = grads.get(name)!;
      const i = g.reduce((best, v, j) => (Math.abs(v) > Math.abs(g[best]) ? j : best), 0);
      const h = 1e-2;
      const at = async (delta: number) => {
        const v = Float32Array.from(values);
        v[i] += delta;
        gpu.write(t, v);
        trainer.dropoutTick = 5;
        return (await trainer.lossAndGradients(batch)).loss;
      };
      const fd = ((await at(h)) - (await at(-h))) / (2 * h);
      gpu.write(t, values);
      expect(Math.abs(fd - g[i]) / Math.abs(g[i]), `${name}[${i}]: fd ${fd} vs ${g[i]}`).toBeLessThan(2e-2);
    }
    trainer.dispose();
    model.dispose();
  });
});
