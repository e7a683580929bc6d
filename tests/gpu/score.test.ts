// Scoring against the float64 CPU reference on the tiny fixture models, and against PyTorch's
// entropy on the PyTorch fixtures; resuming from a store without re-scoring.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/index';
import type { Question } from '../../src/data/dataset';
import { encodePrompt, labelTokens, PROMPTS } from '../../src/data/prompts';
import { scoreDataset, type ScoreRecord } from '../../src/score/score';
import { memoryStore } from '../../src/score/store';
import { memorySource } from '../../src/model/bytes';
import { readSafetensorsHeader, readTensorBytes, toFloat32 } from '../../src/model/safetensors';
import { referenceForward, type Weights } from '../reference/llama';
import { entropyForward } from '../reference/entropy';
import { readFixture } from './fixtures';
import { getGpu } from './gpu';

const TINY = join(__dirname, '../fixtures/tiny');

const QUESTIONS: Question[] = [
  { id: 'q1', question: 'What is 2 + 2?', options: ['3', '4', '5', '22'], answer: 1, subject: 'addition' },
  { id: 'q2', question: 'What is 7 - 5?', options: ['2', '12', '3'], answer: 0, subject: 'subtraction' },
  { id: 'q3', question: 'Which is largest?', options: ['10', '100', '1', '0', '11'], answer: 1, subject: 'general' },
  { id: 'q4', question: 'What is 9 + 9?', options: ['18', '99', '81', '17'], answer: 0, subject: 'addition' },
  { id: 'q5', question: 'A longer question that makes this prompt longer than the others, about 1 + 1?', options: ['2', '11'], answer: 0, subject: 'addition' },
];

async function weightsOf(dir: string): Promise<Weights> {
  const src = memorySource('model.safetensors', readFileSync(join(dir, 'model.safetensors')));
  const { tensors } = await readSafetensorsHeader(src);
  const w: Weights = new Map();
  for (const [n, t] of tensors) w.set(n, toFloat32(t, await readTensorBytes(src, t)));
  return w;
}

describe('scoring equals the float64 CPU reference on the tiny fixture models', () => {
  for (const name of ['llama', 'qwen2', 'qwen3']) {
    it(name, async () => {
      const gpu = await getGpu();
      const model = await loadModel(gpu, { kind: 'dir', path: join(TINY, name) }, { quant: 'none' });
      const records = await scoreDataset(model, QUESTIONS, { batchSize: 3 });
      const w = await weightsOf(join(TINY, name));
      const labels = labelTokens(model.tokenizer!, 'letters');
      for (const [i, q] of QUESTIONS.entries()) {
        const ids = encodePrompt(model.tokenizer!, q, PROMPTS.letters);
        const logits = referenceForward(model.cfg, w, [ids]);
        const last = logits.subarray((ids.length - 1) * model.cfg.V, ids.length * model.cfg.V);
        const want = entropyForward(last);
        const r = records[i];
        expect(r.id).toBe(q.id);
        expect(Math.abs(r.entropy - want.H) / want.H).toBeLessThan(1e-4);
        expect(r.predToken).toBe(want.argmax);
        const lab = labels.ids.slice(0, q.options.length).map((id) => last[id]);
        expect(Math.abs(r.entropyOptions - entropyForward(lab).H)).toBeLessThan(1e-4);
        // The other complexity signals, from the same pass: top-1 probability and the options' margin.
        const softmax = (xs: ArrayLike<number>) => {
          const m = Math.max(...Array.from(xs));
          const e = Array.from(xs, (x) => Math.exp(x - m));
          const z = e.reduce((a, b) => a + b, 0);
          return e.map((x) => x / z);
        };
        expect(Math.abs(r.top1! - Math.max(...softmax(last)))).toBeLessThan(1e-5);
        const po = softmax(lab).sort((a, b) => b - a);
        expect(Math.abs(r.margin! - (po[0] - po[1]))).toBeLessThan(1e-5);
        expect(r.pred).toBe(labels.ids.slice(0, q.options.length).includes(want.argmax) ? labels.ids.indexOf(want.argmax) : null);
        expect(r.correct).toBe(r.pred === null ? null : r.pred === q.answer);
      }
      model.dispose();
    });
  }
});

describe('next-token entropy matches PyTorch', () => {
  for (const name of ['llama-tiny', 'llama3-scaled-tied', 'qwen2-tiny', 'qwen3-tiny']) {
    it(name, async () => {
      const gpu = await getGpu();
      const fx = await readFixture(name);
      const dir = join(__dirname, '../fixtures/pytorch', name);
      const model = await loadModel(gpu, { kind: 'dir', path: dir }, { quant: 'none', adapter: { kind: 'dir', path: dir } });
      const stats = await model.nextTokenStats(fx.rows, [0]);
      const want = fx.ref.get('entropy')!.f32;
      for (let b = 0; b < fx.rows.length; b++) expect(Math.abs(stats.entropy[b] - want[b]) / want[b]).toBeLessThan(1e-4);
      model.dispose();
    });
  }
});

describe('resuming', () => {
  it('scores only what the store does not have', async () => {
    const gpu = await getGpu();
    const model = await loadModel(gpu, { kind: 'dir', path: join(TINY, 'llama') }, { quant: 'none' });
    const full = await scoreDataset(model, QUESTIONS, { batchSize: 2 });
    const store = memoryStore<ScoreRecord>(full.slice(0, 3));
    const seen: string[] = [];
    const progress: number[] = [];
    const again = await scoreDataset(model, QUESTIONS, { store, batchSize: 2, onRecords: (rs) => seen.push(...rs.map((r) => r.id)), onProgress: (p) => progress.push(p.done) });
    expect(seen.sort()).toEqual(['q4', 'q5']);
    expect(progress[0]).toBe(3);
    expect(again.map((r) => r.id)).toEqual(QUESTIONS.map((q) => q.id));
    expect(again.map((r) => r.entropy)).toEqual(full.map((r) => r.entropy)); // same numbers, whatever the batching
    expect(store.records).toHaveLength(5);
    model.dispose();
  });
});
