// LoRA training against PyTorch: the loss and every LoRA gradient of each fixture case through the
// public API, a finite-difference check, and a fixture model overfitting a handful of examples; the
// LoRA optimiser step (flat buffers, one clipped AdamW) against the float64 AdamW reference.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/index';
import type { Tensor } from '../../src/gpu/tensor';
import { LORA_TARGETS } from '../../src/model/architecture';
import { peftName } from '../../src/model/lora';
import { Trainer } from '../../src/train/trainer';
import * as ref from '../reference/adamw';
import { firstMismatch } from '../reference/compare';
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

describe('the LoRA optimiser step (flat buffers, clipped and guarded on the GPU)', () => {
  const load = async () => {
    const gpu = await getGpu();
    const model = await loadModel(gpu, { kind: 'dir', path: join(DIR, 'llama-tiny') }, { quant: 'none', adapter: { kind: 'dir', path: join(DIR, 'llama-tiny') } });
    return { gpu, model };
  };
  const readAll = (gpu: Awaited<ReturnType<typeof getGpu>>, list: { t: Tensor }[]) => Promise.all(list.map(({ t }) => gpu.read(t)));

  it('two micro-batches, clip active: one AdamW over the flat buffer matches the reference per tensor, and the padding stays 0', async () => {
    const { gpu, model } = await load();
    const { batch } = await fixtureBatch('llama-tiny');
    const half = { tokens: batch.tokens.slice(0, 1), labels: batch.labels.slice(0, 1) };
    const c = { gradClip: 1e-3, weightDecay: 0.1, lr: 1e-2, warmupSteps: 0 };
    const trainer = await Trainer.create(model, c);
    const cfg = trainer.config;
    const params = trainer.tensors();
    // One flat buffer per set here, each tensor at a 256-byte-aligned offset.
    for (const list of [params, trainer.optimizerTensors().m, trainer.optimizerTensors().v]) {
      expect(new Set(list.map(({ t }) => t.buffer)).size).toBe(1);
      expect(list.every(({ t }) => t.offset % 256 === 0)).toBe(true);
    }
    const launches = (await trainer.stepDispatches(batch)).map((d) => d.label);
    expect(launches.filter((l) => l.startsWith('adamw:'))).toEqual(['adamw:adamw_step_clipped']);
    expect(launches.filter((l) => l.startsWith('reduce:'))).toHaveLength(2);

    const a = await trainer.lossAndGradients(batch), b = await trainer.lossAndGradients(half);
    const p0 = await readAll(gpu, params);
    await trainer.accumulate(batch);
    await trainer.accumulate(half);
    const res = await trainer.optimizerStep();

    const g = params.map(({ name }) => Float64Array.from(a.grads.get(name)!, (x, i) => x + b.grads.get(name)![i]));
    const sumsq = g.reduce((s, x) => s + x.reduce((t, v) => t + v * v, 0), 0);
    expect(res.skipped).toBe(false);
    expect(trainer.step).toBe(1);
    expect(Math.abs(res.gradNorm - Math.sqrt(sumsq) / 2) / res.gradNorm).toBeLessThan(1e-4);
    expect(res.gradNorm).toBeGreaterThan(c.gradClip); // so the clip is what scaled the moments
    expect(Math.abs(res.loss - (a.loss + b.loss) / 2)).toBeLessThan(1e-6);
    const o = { lr: res.lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weightDecay, t: 1, gradClip: c.gradClip, micro: 2 };
    const [p1, m1, v1] = await Promise.all([readAll(gpu, params), readAll(gpu, trainer.optimizerTensors().m), readAll(gpu, trainer.optimizerTensors().v)]);
    params.forEach(({ name }, i) => {
      const n = p0[i].length;
      const want = ref.adamwClippedStep({ p: Float64Array.from(p0[i]), m: new Float64Array(n), v: new Float64Array(n) }, g[i], o, sumsq, [a.loss, b.loss]);
      expect(firstMismatch(p1[i], want.p, 1e-5, 1e-6), `p ${name}`).toBeNull();
      expect(firstMismatch(m1[i], want.m, 1e-3, 1e-10), `m ${name}`).toBeNull();
      expect(firstMismatch(v1[i], want.v, 2e-3, 1e-16), `v ${name}`).toBeNull();
    });
    // Everything in the flat buffers outside the views is still 0.
    for (const list of [params, trainer.optimizerTensors().m, trainer.optimizerTensors().v]) {
      const last = list[list.length - 1].t;
      const whole = await gpu.read({ ...last, offset: 0, bytes: last.offset + last.bytes });
      const live = new Uint8Array(whole.length);
      for (const { t } of list) live.fill(1, t.offset / 4, (t.offset + t.bytes) / 4);
      expect(whole.every((x, i) => live[i] || Object.is(x, 0))).toBe(true);
    }
    trainer.dispose();
    model.dispose();
  });

  it('a NaN loss: the GPU leaves parameters and moments as they were, the step is reported skipped and not counted', async () => {
    const { gpu, model } = await load();
    const { batch } = await fixtureBatch('llama-tiny');
    const trainer = await Trainer.create(model, { warmupSteps: 2 });
    const params = trainer.tensors();
    const before = await readAll(gpu, params);
    const poisoned = Float32Array.from(before[3]);
    poisoned[0] = NaN;
    gpu.write(params[3].t, poisoned);
    const res = await trainer.trainStep(batch);
    expect(res.skipped).toBe(true);
    expect(Number.isNaN(res.loss)).toBe(true);
    expect(trainer.step).toBe(0);
    const after = await readAll(gpu, params);
    after.forEach((x, i) => expect(firstMismatch(x.subarray(i === 3 ? 1 : 0), (i === 3 ? poisoned : before[i]).subarray(i === 3 ? 1 : 0), 0, 0), params[i].name).toBeNull());
    expect(Number.isNaN(after[3][0])).toBe(true);
    for (const x of await readAll(gpu, trainer.optimizerTensors().m)) expect(x.every((v) => v === 0)).toBe(true);
    gpu.write(params[3].t, before[3]);
    const next = await trainer.trainStep(batch);
    expect(next.skipped).toBe(false);
    expect(next.lr).toBe(res.lr); // the skipped step did not advance the schedule
    expect(trainer.step).toBe(1);
    trainer.dispose();
    model.dispose();
  });

  it('takes over the adapter the model carries (values copied, old buffers freed); dispose frees what the trainer made, once', async () => {
    const lora0 = (await getGpu()).memory.categories().lora ?? 0;
    const { gpu, model } = await load();
    const loaded = model.lora!;
    const named = loaded.layers.flatMap((layer, l) => LORA_TARGETS.flatMap((t) => (layer[t] ? [{ name: peftName(l, t, 'A'), t: layer[t].A }, { name: peftName(l, t, 'B'), t: layer[t].B }] : [])));
    const before = await readAll(gpu, named);
    const mem = gpu.memory.categories();
    const trainer = await Trainer.create(model);
    expect(model.lora).toBe(trainer.lora);
    // By name: the flat buffer orders a layer's A's before its B's.
    const copied = new Map(trainer.tensors().map(({ name, t }) => [name, t]));
    expect(await readAll(gpu, named.map(({ name }) => ({ t: copied.get(name)! })))).toEqual(before);
    // The old per-tensor buffers are gone; what the adapter holds now is its tensors plus alignment padding.
    const loraBytes = before.reduce((s, x) => s + 4 * x.length, 0);
    expect(gpu.memory.categories().lora - (mem.lora ?? 0)).toBeLessThan(256 * before.length);
    expect(gpu.memory.categories().lora).toBeGreaterThanOrEqual(loraBytes);
    trainer.dispose();
    const after = gpu.memory.categories();
    expect([after.grads ?? 0, after.optimizer ?? 0]).toEqual([mem.grads ?? 0, mem.optimizer ?? 0]);
    expect(model.lora).toBe(trainer.lora); // the model keeps the trained adapter
    model.dispose();
    expect(gpu.memory.categories().lora ?? 0).toBe(lora0);
  });
});
