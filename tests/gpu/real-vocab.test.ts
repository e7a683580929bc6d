// End to end on each family's real tokenizer (tests/fixtures/real-vocab.ts): a tiny random model with
// the real vocabulary (151,936 or 128,256 rows) is scored, trained one step, evaluated greedily and
// generated from; scoring and the training loss are checked against the float64 CPU reference, and a
// model that always writes the end-of-turn token shows that generation stops there.

import { describe, expect, it } from 'vitest';
import type { Question } from '../../src/data/dataset';
import { encodePrompt, labelTokens, promptMessages } from '../../src/data/prompts';
import { loadModelFromFiles } from '../../src/index';
import { memorySource } from '../../src/model/bytes';
import { readSafetensorsHeader, readTensorBytes, toFloat32 } from '../../src/model/safetensors';
import { memoryFiles } from '../../src/model/model-files';
import { evaluate } from '../../src/pipeline/eval';
import { scoreDataset } from '../../src/score/score';
import { chatExample } from '../../src/train/loop';
import { Trainer } from '../../src/train/trainer';
import { entropyForward } from '../reference/entropy';
import { referenceForward, type Weights } from '../reference/llama';
import { REAL_FAMILIES, realVocabModel } from '../fixtures/real-vocab';
import { getGpu } from './gpu';

const QUESTIONS: Question[] = [
  { id: 'q1', subject: 'high_school_mathematics', question: 'What is 2 + 2?', options: ['3', '4', '5', '22'], answer: 1 },
  { id: 'q2', subject: 'geography', question: 'Which city is the capital of France?', options: ['Lyon', 'Paris', 'Nice'], answer: 1 },
  { id: 'q3', subject: 'biology', question: 'How many legs has a spider?', options: ['6', '8', '10', '4', '12'], answer: 1 },
];

async function weightsOf(files: Record<string, Uint8Array>): Promise<Weights> {
  const src = memorySource('model.safetensors', files['model.safetensors']);
  const w: Weights = new Map();
  for (const [n, t] of (await readSafetensorsHeader(src)).tensors) w.set(n, toFloat32(t, await readTensorBytes(src, t)));
  return w;
}

describe.each(REAL_FAMILIES)('a tiny model with the real $name vocabulary', (family) => {
  it('scores, trains a step, evaluates and generates; scoring and loss match the CPU reference', async () => {
    const gpu = await getGpu();
    const files = realVocabModel(family);
    const model = await loadModelFromFiles(gpu, memoryFiles(files), family.name, { quant: 'none' });
    const tok = model.tokenizer!;
    expect(model.cfg.V).toBe(family.config.vocab_size);
    // Qwen3's embedding has padding rows past its 151,669 tokens; Llama-3's has none.
    expect(tok.vocabSize).toBe(family.name === 'qwen3' ? 151669 : 128256);
    const w = await weightsOf(files);
    const V = model.cfg.V;

    // Scoring: the full-vocabulary entropy and greedy token after each prompt.
    const records = await scoreDataset(model, QUESTIONS, { batchSize: 2 });
    const labels = labelTokens(tok, 'letters').ids;
    for (const [i, q] of QUESTIONS.entries()) {
      const ids = encodePrompt(tok, q);
      const logits = referenceForward(model.cfg, w, [ids]).subarray((ids.length - 1) * V, ids.length * V);
      const want = entropyForward(logits);
      expect(records[i].promptTokens).toBe(ids.length);
      expect(Math.abs(records[i].entropy - want.H) / want.H).toBeLessThan(1e-4);
      expect(records[i].predToken).toBe(want.argmax);
      const onLabels = entropyForward(labels.slice(0, q.options.length).map((id) => logits[id]));
      expect(Math.abs(records[i].entropyOptions - onLabels.H)).toBeLessThan(1e-4);
    }

    // Training: the loss covers exactly the answer and its end-of-turn token.
    const examples = QUESTIONS.slice(0, 2).map((q) => chatExample(tok, [...promptMessages(q), { role: 'assistant', content: 'B' }]));
    const batch = { tokens: examples.map((e) => e.tokens), labels: examples.map((e) => e.labels) };
    let nll = 0, n = 0;
    for (const e of examples) {
      const logits = referenceForward(model.cfg, w, [e.tokens]);
      for (let t = 0; t + 1 < e.tokens.length; t++) {
        if (e.labels[t + 1] === -100) continue;
        const row = logits.subarray(t * V, (t + 1) * V);
        let m = -Infinity;
        for (const x of row) m = Math.max(m, x);
        let z = 0;
        for (const x of row) z += Math.exp(x - m);
        nll += m + Math.log(z) - row[e.labels[t + 1]];
        n++;
      }
    }
    expect(n).toBe(4); // "B" and the end of the turn, twice
    const trainer = await Trainer.create(model, { mode: 'lora', r: 4, alpha: 8, lr: 1e-3 });
    const { loss } = await trainer.lossAndGradients(batch);
    expect(Math.abs(loss - nll / n) / (nll / n)).toBeLessThan(1e-4);
    trainer.zeroGrads();
    const step = await trainer.trainStep(batch);
    expect(Number.isFinite(step.loss) && Number.isFinite(step.gradNorm) && step.gradNorm > 0).toBe(true);
    trainer.dispose();

    // Greedy evaluation and generation run on the real vocabulary.
    const evaluated = await evaluate(model, QUESTIONS, { maxNewTokens: 4, maxBatch: 2 });
    expect(evaluated.map((r) => r.id)).toEqual(QUESTIONS.map((q) => q.id));
    for (const r of evaluated) expect(r.tokens).toBeGreaterThan(0);
    const out = await model.generate('Hello', { maxNewTokens: 3 });
    expect(out.ids.length).toBeGreaterThan(0);
    model.dispose();
  });

  it('stops generating at the template\'s end-of-turn token', async () => {
    const gpu = await getGpu();
    const eot = family.name === 'qwen3' ? 151645 : 128009;
    const model = await loadModelFromFiles(gpu, memoryFiles(realVocabModel(family, { favour: eot })), family.name, { quant: 'none' });
    const out = await model.generate('Hello', { maxNewTokens: 3 });
    expect(out.stop).toBe('stop-token');
    expect(out.ids).toEqual([]);
    const [r] = await evaluate(model, QUESTIONS.slice(0, 1), { maxNewTokens: 3 });
    expect(r.tokens).toBe(0);
    model.dispose();
  });
});
