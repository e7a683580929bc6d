// The committed demo base model (public/demo/model, pretrained by scripts/pretrain-demo-model.py)
// against the PyTorch logits stored beside it: a fidelity test on trained weights, through the same
// public API a user calls. The PyTorch side computed in float64 from the f32 weights.
//
// Opt-in (DEMO_QUANT=1): what int8 and nf4 loading cost this base in accuracy and entropy on the
// demo's held-out questions by level — the figures the README reports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePrompt, labelTokens } from '../../src/data/prompts';
import { DEMO_PROMPT } from '../../src/demo/formats';
import { DEMO_MODEL_DIR } from '../../src/demo/settings';
import { DIFFICULTIES, generateWorld, makeSplits, type WorldQuestion } from '../../src/demo/world';
import { loadModel } from '../../src/index';
import { greedyBatch } from '../../src/model/batch-generate';
import { extractBracketed } from '../../src/teacher/cot';
import { memorySource } from '../../src/model/bytes';
import { readSafetensorsHeader, readTensorBytes, toFloat32, toInt32Array } from '../../src/model/safetensors';
import type { ChatMessage } from '../../src/tokenizer/tokenizer';
import { entropyOf, relErr } from './fixtures';
import { getGpu } from './gpu';

const DIR = join(__dirname, '../..', DEMO_MODEL_DIR);

interface FidelityPrompt {
  name: string;
  messages: ChatMessage[];
  generation_prompt: boolean;
  length: number;
  last_entropy: number;
}

async function readFidelity() {
  const src = memorySource('fidelity.safetensors', readFileSync(join(DIR, 'fidelity.safetensors')));
  const { tensors } = await readSafetensorsHeader(src);
  const get = async (n: string) => ({ t: tensors.get(n)!, bytes: await readTensorBytes(src, tensors.get(n)!) });
  const ids = await get('input_ids'), logits = await get('logits');
  const prompts = (JSON.parse(readFileSync(join(DIR, 'fidelity.json'), 'utf8')) as { prompts: FidelityPrompt[] }).prompts;
  const all = Array.from(toInt32Array(ids.t, ids.bytes));
  let at = 0;
  const rows = prompts.map((p) => all.slice(at, (at += p.length)));
  return { prompts, rows, logits: toFloat32(logits.t, logits.bytes), V: logits.t.shape[1] };
}

describe('the demo base model matches PyTorch', () => {
  it('logits at every position of the stored prompts to 1e-4, and the prompts render to the same ids', async () => {
    const gpu = await getGpu();
    const fx = await readFidelity();
    const model = await loadModel(gpu, { kind: 'dir', path: DIR }, { quant: 'none' });
    const tok = model.tokenizer!;
    let at = 0;
    for (const [i, p] of fx.prompts.entries()) {
      // The ids PyTorch saw are the ones entrotune's tokenizer and chat template make.
      const ids = p.generation_prompt ? tok.encode(tok.applyChatTemplate(p.messages, { addGenerationPrompt: true })) : tok.encodeChat(p.messages).ids;
      expect(ids, p.name).toEqual(fx.rows[i]);
      const got = await model.logits([fx.rows[i]], fx.rows[i].map((_, t) => [0, t] as [number, number]));
      const want = fx.logits.subarray(at * fx.V, (at += p.length) * fx.V);
      const err = relErr(got, want);
      console.log(`${p.name}: ${p.length} positions, logits relative error ${err.toExponential(2)}`);
      expect(err, p.name).toBeLessThan(1e-4);
      const h = entropyOf(got.subarray((p.length - 1) * fx.V));
      expect(Math.abs(h - p.last_entropy), p.name).toBeLessThan(1e-4 * Math.max(1, p.last_entropy));
    }
    // All prompts in one ragged batch give the same logits.
    const positions = fx.rows.flatMap((r, b) => r.map((_, t) => [b, t] as [number, number]));
    expect(relErr(await model.logits(fx.rows, positions), fx.logits)).toBeLessThan(1e-4);
    model.dispose();
  });
});

// Held-out questions of the demo protocol (seed 0: 225 one-step, 75 two-step) and 100 each of three
// and four steps, per level: greedy first-token accuracy and mean entropy (full vocabulary) under the
// demo prompt, and the accuracy of the worked chain the base writes when its first digit is given (the
// skill distillation builds on).
describe.runIf(process.env.DEMO_QUANT)('what int8 and nf4 loading cost the demo base (opt-in: DEMO_QUANT=1)', () => {
  it('accuracy and entropy by level for none, int8 and nf4', async () => {
    const gpu = await getGpu();
    const questions: WorldQuestion[] = [...makeSplits({ seed: 0, train: 600, test: 300 }).test, ...generateWorld({ n: 200, seed: 0, mix: { 3: 1, 4: 1 }, prefix: 'long' })];
    const lines: string[] = [];
    let base: Int32Array | null = null;
    for (const quant of ['none', 'int8', 'nf4'] as const) {
      const model = await loadModel(gpu, { kind: 'dir', path: DIR }, { quant });
      const tok = model.tokenizer!;
      const letters = labelTokens(tok, 'letters', 10).ids;
      const greedy = new Int32Array(questions.length), entropy = new Float32Array(questions.length);
      for (let i = 0; i < questions.length; i += 100) {
        const chunk = questions.slice(i, i + 100);
        const s = await model.nextTokenStats(chunk.map((q) => encodePrompt(tok, q, DEMO_PROMPT)), letters);
        greedy.set(s.greedy, i);
        entropy.set(s.entropy, i);
      }
      base ??= greedy;
      const started = await greedyBatch(model, questions.map((q) => [...encodePrompt(tok, q, DEMO_PROMPT), tok.tokenId(String(q.chain.start))!]), { maxNewTokens: 40, maxBatch: 100 });
      const worked = started.map((ids, i) => extractBracketed(`${questions[i].chain.start}${tok.decode(ids)}`, 'letters', 10) === questions[i].answer);
      const cells = DIFFICULTIES.map((k) => {
        const idx = questions.flatMap((q, i) => (q.difficulty === k ? [i] : []));
        const acc = idx.filter((i) => greedy[i] === letters[questions[i].answer]).length / idx.length;
        const h = idx.reduce((x, i) => x + entropy[i], 0) / idx.length;
        const w = idx.filter((i) => worked[i]).length / idx.length;
        return `k=${k} (n=${idx.length}) ${(100 * acc).toFixed(1)}% H ${h.toFixed(3)} worked ${(100 * w).toFixed(1)}%`;
      });
      const same = greedy.filter((g, i) => g === base![i]).length / greedy.length;
      lines.push(`${quant.padEnd(4)} ${cells.join(' | ')} | same greedy answer as none: ${(100 * same).toFixed(1)}% | ${model.report.bytesPerParameter.toFixed(3)} B/param`);
      model.dispose();
    }
    console.log(lines.join('\n'));
  }, 600_000);
});
