// The training loop: overfitting a handful of examples, a run killed midway that resumes from its
// checkpoint with the same loss curve (and, for LoRA, the same adapter and moments bit for bit), and
// the exported PEFT adapter reproducing the same logits.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/index';
import { projectionShape, type LoraTarget } from '../../src/model/architecture';
import { peftName } from '../../src/model/lora';
import { rng } from '../../src/util/random';
import { Trainer } from '../../src/train/trainer';
import { chatExample, trainLoop, type TrainExample } from '../../src/train/loop';
import { nodeDirSink } from '../../src/train/checkpoint';
import type { Model } from '../../src/model/model';
import { getGpu } from './gpu';

const TINY = join(__dirname, '../fixtures/tiny/llama');

function examples(model: Model): TrainExample[] {
  const qa = [['What is 2 + 3?', 'B'], ['What is 7 - 4?', 'C'], ['What is 1 + 1?', 'A'], ['What is 9 - 1?', 'D']];
  return qa.map(([q, a]) => chatExample(model.tokenizer!, [{ role: 'user', content: q }, { role: 'assistant', content: a }]));
}

describe('the training loop', () => {
  it('overfits a handful of examples until the loss is near zero', async () => {
    const gpu = await getGpu();
    const model = await loadModel(gpu, { kind: 'dir', path: TINY }, { quant: 'none' });
    const trainer = await Trainer.create(model, { lr: 2e-2, schedule: 'constant', r: 8, alpha: 16, seed: 1 });
    const losses = await trainLoop(trainer, examples(model), { epochs: 30, batchSize: 4 });
    console.log(`overfit: loss ${losses[0].toFixed(3)} → ${losses.at(-1)!.toFixed(4)} in ${losses.length} steps`);
    expect(losses[0]).toBeGreaterThan(2);
    expect(losses.at(-1)!).toBeLessThan(0.05);
    // The trained adapter answers greedily with the trained letters.
    const tok = model.tokenizer!;
    const out = await model.generate([{ role: 'user', content: 'What is 7 - 4?' }], { maxNewTokens: 2 });
    expect(tok.decode(out.ids)).toBe('C');
    trainer.dispose();
    model.dispose();
  });

  it('a run killed midway resumes from its checkpoint with the same losses', async () => {
    const gpu = await getGpu();
    const config = { lr: 5e-3, warmupSteps: 2, schedule: 'cosine' as const, seed: 7 };
    const loop = { epochs: 3, batchSize: 2, checkpointEvery: 2 };
    // Uninterrupted.
    const m1 = await loadModel(gpu, { kind: 'dir', path: TINY }, { quant: 'none' });
    const t1 = await Trainer.create(m1, config);
    const full = await trainLoop(t1, examples(m1), { ...loop, sink: await nodeDirSink(mkdtempSync(join(tmpdir(), 'ckpt-a-'))) });
    t1.dispose();
    m1.dispose();
    // Killed after step 3 (its last checkpoint is step 2), then resumed in a fresh model and trainer.
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-b-'));
    const m2 = await loadModel(gpu, { kind: 'dir', path: TINY }, { quant: 'none' });
    const t2 = await Trainer.create(m2, config);
    await expect(trainLoop(t2, examples(m2), { ...loop, sink: await nodeDirSink(dir), onProgress: (p) => { if (p.step === 3) throw new Error('killed'); } })).rejects.toThrow('killed');
    t2.dispose();
    m2.dispose();
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).step).toBe(2);
    // A crash while saving the step-4 checkpoint (its tensors written, state.json not) must leave
    // the step-2 checkpoint whole: resuming from it gives the same losses as the uninterrupted run.
    const { memorySink } = await import('../../src/pipeline/storage');
    const torn = memorySink();
    const mc = await loadModel(gpu, { kind: 'dir', path: TINY }, { quant: 'none' });
    const tc = await Trainer.create(mc, config);
    const crashing = { where: torn.where, read: torn.read, write: async (name: string, data: Uint8Array | string) => {
      if (name === 'state.json' && torn.files.has('state.json') && JSON.parse(new TextDecoder().decode(torn.files.get('state.json'))).step === 2) throw new Error('crash while saving');
      return torn.write(name, data);
    } };
    await expect(trainLoop(tc, examples(mc), { ...loop, sink: crashing })).rejects.toThrow('crash while saving');
    tc.dispose();
    mc.dispose();
    const mr = await loadModel(gpu, { kind: 'dir', path: TINY }, { quant: 'none' });
    const tr = await Trainer.create(mr, config);
    const afterCrash = await trainLoop(tr, examples(mr), { ...loop, sink: torn, resume: true });
    for (let i = 0; i < full.length; i++) expect(afterCrash[i]).toBeCloseTo(full[i], 5);
    tr.dispose();
    mr.dispose();
    const m3 = await loadModel(gpu, { kind: 'dir', path: TINY }, { quant: 'none' });
    const t3 = await Trainer.create(m3, config);
    const resumed = await trainLoop(t3, examples(m3), { ...loop, sink: await nodeDirSink(dir), resume: true });
    expect(resumed).toHaveLength(full.length);
    for (let i = 0; i < full.length; i++) expect(resumed[i]).toBeCloseTo(full[i], 5);
    // The exported PEFT adapter loads back and reproduces the same logits.
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ peft_type: 'LORA', r: 8, lora_alpha: 16, base_model_name_or_path: expect.any(String), target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
    const ids = examples(m3)[0].tokens;
    const want = await m3.logits([ids], ids.map((_, t) => [0, t] as [number, number]));
    const m4 = await loadModel(gpu, { kind: 'dir', path: TINY }, { quant: 'none', adapter: { kind: 'dir', path: dir } });
    const got = await m4.logits([ids], ids.map((_, t) => [0, t] as [number, number]));
    let maxDiff = 0;
    for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    expect(maxDiff).toBeLessThan(1e-5);
    t3.dispose();
    m3.dispose();
    m4.dispose();
  });

  it('resumed from a checkpoint, a LoRA run ends with the adapter and AdamW moments of the uninterrupted run, bit for bit', async () => {
    const gpu = await getGpu();
    const config = { lr: 5e-3, warmupSteps: 2, schedule: 'cosine' as const, seed: 3, gradClip: 0.5 };
    const loop = { epochs: 2, batchSize: 2, checkpointEvery: 2 };
    const finalState = async (t: Trainer) => {
      const { m, v } = t.optimizerTensors();
      return Promise.all([...t.tensors(), ...m, ...v].map(async ({ name, t: x }) => [name, Array.from(await gpu.read(x))] as const));
    };
    const m1 = await loadModel(gpu, { kind: 'dir', path: TINY }, { quant: 'none' });
    const t1 = await Trainer.create(m1, config);
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-bits-'));
    await expect(trainLoop(t1, examples(m1), { ...loop, sink: await nodeDirSink(dir), onProgress: (p) => { if (p.step === 3) throw new Error('killed'); } })).rejects.toThrow('killed');
    t1.dispose();
    m1.dispose();
    const m2 = await loadModel(gpu, { kind: 'dir', path: TINY }, { quant: 'none' });
    const t2 = await Trainer.create(m2, config);
    const full = await trainLoop(t2, examples(m2), loop);
    const want = await finalState(t2);
    t2.dispose();
    m2.dispose();
    const m3 = await loadModel(gpu, { kind: 'dir', path: TINY }, { quant: 'none' });
    const t3 = await Trainer.create(m3, config);
    const resumed = await trainLoop(t3, examples(m3), { ...loop, sink: await nodeDirSink(dir), resume: true });
    expect(t3.step).toBe(full.length);
    expect(await finalState(t3)).toEqual(want);
    t3.dispose();
    m3.dispose();
    expect(resumed.slice(2)).toEqual(full.slice(2));
  });

  it('a fresh adapter is PEFT-initialised from the seed: A ~ U(±1/√in) drawn layer by layer in the order targets were given, B = 0', async () => {
    const gpu = await getGpu();
    const model = await loadModel(gpu, { kind: 'dir', path: TINY }, { quant: 'none' });
    const c = { r: 4, alpha: 8, seed: 11, targets: ['v_proj', 'q_proj', 'down_proj'] as LoraTarget[] };
    const random = rng(c.seed);
    const want = new Map<string, Float32Array>();
    for (let l = 0; l < model.cfg.L; l++) {
      for (const t of c.targets) {
        const { out, in: K } = projectionShape(model.cfg, t);
        want.set(peftName(l, t, 'A'), Float32Array.from({ length: c.r * K }, () => (2 * random() - 1) * (1 / Math.sqrt(K))));
        want.set(peftName(l, t, 'B'), new Float32Array(out * c.r));
      }
    }
    const trainer = await Trainer.create(model, c);
    expect(trainer.tensors().map((x) => x.name).sort()).toEqual([...want.keys()].sort());
    for (const { name, t } of trainer.tensors()) expect(await gpu.read(t), name).toEqual(want.get(name));
    trainer.dispose();
    model.dispose();
  });

  it('resuming from a checkpoint that cannot be read fails with the file named, never restarts at step 0', async () => {
    const gpu = await getGpu();
    const model = await loadModel(gpu, { kind: 'dir', path: TINY }, { quant: 'none' });
    const trainer = await Trainer.create(model, { lr: 5e-3, seed: 7 });
    const loop = { epochs: 1, batchSize: 2, checkpointEvery: 1, resume: true };
    const steps: number[] = [];
    // state.json is there but cannot be read (a folder in its place, as a permission or disk error would be).
    const unreadable = mkdtempSync(join(tmpdir(), 'ckpt-unreadable-'));
    mkdirSync(join(unreadable, 'state.json'));
    await expect(trainLoop(trainer, examples(model), { ...loop, sink: await nodeDirSink(unreadable), onProgress: (p) => steps.push(p.step) }))
      .rejects.toMatchObject({ name: 'StorageError', op: 'read', path: `${unreadable}/state.json` });
    // state.json is cut short: a CorruptFileError that names the checkpoint and says what to do.
    const torn = mkdtempSync(join(tmpdir(), 'ckpt-torn-'));
    writeFileSync(join(torn, 'state.json'), '{"version": 1, "step": 2, "losses": [2.5,');
    await expect(trainLoop(trainer, examples(model), { ...loop, sink: await nodeDirSink(torn), onProgress: (p) => steps.push(p.step) }))
      .rejects.toThrow(new RegExp(`^${torn}/state\\.json: not valid JSON .*\\nHINT: the checkpoint in ${torn} is damaged: delete that folder to train again from step 0`, 's'));
    expect(steps).toEqual([]); // no step was trained from scratch
    trainer.dispose();
    model.dispose();
  });
});

describe('merged weights', () => {
  it('a base with the adapter merged in gives the logits of base + adapter', async () => {
    const { mergedSafetensors } = await import('../../src/train/merge');
    const { writeFileSync, copyFileSync } = await import('node:fs');
    const gpu = await getGpu();
    const dir = join(__dirname, '../fixtures/pytorch/qwen2-tiny');
    const model = await loadModel(gpu, { kind: 'dir', path: dir }, { quant: 'none', adapter: { kind: 'dir', path: dir } });
    const out = mkdtempSync(join(tmpdir(), 'merged-'));
    writeFileSync(join(out, 'model.safetensors'), await mergedSafetensors(model));
    copyFileSync(join(dir, 'config.json'), join(out, 'config.json'));
    const merged = await loadModel(gpu, { kind: 'dir', path: out }, { quant: 'none' });
    const ids = [3, 1, 4, 1, 5, 9, 2, 6];
    const pos = ids.map((_, t) => [0, t] as [number, number]);
    const a = await model.logits([ids], pos), b = await merged.logits([ids], pos);
    let maxDiff = 0, maxAbs = 0;
    for (let i = 0; i < a.length; i++) { maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i])); maxAbs = Math.max(maxAbs, Math.abs(a[i])); }
    expect(maxDiff / maxAbs).toBeLessThan(1e-5);
    model.dispose();
    merged.dispose();
  });
});

describe('full fine-tuning output', () => {
  it('is a model folder of its own: it loads and gives the trained logits', async () => {
    const gpu = await getGpu();
    const model = await loadModel(gpu, { kind: 'dir', path: TINY }, { quant: 'none' });
    const trainer = await Trainer.create(model, { mode: 'full', lr: 1e-2, schedule: 'constant', seed: 2 });
    const out = mkdtempSync(join(tmpdir(), 'full-'));
    const losses = await trainLoop(trainer, examples(model), { epochs: 3, batchSize: 4, sink: await nodeDirSink(out) });
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
    const { existsSync } = await import('node:fs');
    for (const f of ['model.safetensors', 'config.json', 'tokenizer.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const trained = await loadModel(gpu, { kind: 'dir', path: out }, { quant: 'none' });
    expect(trained.tokenizer).not.toBeNull();
    const ids = examples(model)[0].tokens;
    const pos = ids.map((_, t) => [0, t] as [number, number]);
    const a = await model.logits([ids], pos), b = await trained.logits([ids], pos);
    let maxDiff = 0, maxAbs = 0;
    for (let i = 0; i < a.length; i++) { maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i])); maxAbs = Math.max(maxAbs, Math.abs(a[i])); }
    expect(maxDiff / maxAbs).toBeLessThan(1e-5);
    trainer.dispose();
    model.dispose();
    trained.dispose();
  });
});

describe('packed sequences', () => {
  it('an example packed before one without targets has the loss it has alone (causal, no loss across the boundary)', async () => {
    const { packExamples } = await import('../../src/train/loop');
    const gpu = await getGpu();
    const model = await loadModel(gpu, { kind: 'dir', path: TINY }, { quant: 'none' });
    const trainer = await Trainer.create(model, { seed: 3, lr: 2e-2, schedule: 'constant' });
    const [a, b] = examples(model);
    const silent = { tokens: b.tokens, labels: b.labels.map(() => -100) };
    const [row] = packExamples([a, silent], a.tokens.length + b.tokens.length);
    expect(row.tokens).toHaveLength(a.tokens.length + b.tokens.length);
    const alone = await trainer.lossAndGradients({ tokens: [a.tokens], labels: [a.labels] });
    const packed = await trainer.lossAndGradients({ tokens: [row.tokens], labels: [row.labels] });
    expect(Math.abs(packed.loss - alone.loss) / alone.loss).toBeLessThan(1e-5);
    const losses = await trainLoop(trainer, examples(model), { epochs: 6, batchSize: 1, pack: 64 });
    expect(losses.length).toBeLessThan(examples(model).length * 6); // fewer rows than examples
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
    trainer.dispose();
    model.dispose();
  });
});
