// Batched greedy generation gives, row for row, what one-at-a-time greedy generation gives.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/index';
import { greedyBatch } from '../../src/model/batch-generate';
import { getGpu } from './gpu';

describe('greedyBatch', () => {
  it('matches Model.generate (temperature 0) for prompts of mixed lengths, in order', async () => {
    const gpu = await getGpu();
    const model = await loadModel(gpu, { kind: 'dir', path: join(__dirname, '../fixtures/tiny/llama') }, { quant: 'none' });
    const prompts = [[5, 9, 2], [7, 1, 4], [3, 3, 8, 2, 6], [5, 9, 2], [11]];
    const got = await greedyBatch(model, prompts, { maxNewTokens: 7, stopTokens: [], maxBatch: 2 });
    for (let i = 0; i < prompts.length; i++) {
      const want = await model.generate(prompts[i], { maxNewTokens: 7, temperature: 0, stopTokens: [] });
      expect(got[i], `prompt ${i}`).toEqual(want.ids);
    }
    // A stop token ends only its own row.
    const first = got[0][2];
    const stopped = await greedyBatch(model, [prompts[0], prompts[1]], { maxNewTokens: 7, stopTokens: [first] });
    expect(stopped[0]).toEqual(got[0].slice(0, got[0].indexOf(first)));
    const other = got[1].indexOf(first);
    expect(stopped[1]).toEqual(other < 0 ? got[1] : got[1].slice(0, other));
    model.dispose();
  });

  it('reports progress after every step, so a long batch is never silent', async () => {
    const gpu = await getGpu();
    const model = await loadModel(gpu, { kind: 'dir', path: join(__dirname, '../fixtures/tiny/llama') }, { quant: 'none' });
    const prompts = [[5, 9, 2], [7, 1, 4], [3, 3, 8, 2, 6]];
    const seen: { done: number; total: number; tokens: number }[] = [];
    const answers = new Map<number, number[]>();
    const got = await greedyBatch(model, prompts, {
      maxNewTokens: 6, stopTokens: [], maxBatch: 2, onProgress: (p) => seen.push(p),
      onAnswer: (i, ids) => {
        expect(answers.has(i)).toBe(false); // once per prompt
        answers.set(i, [...ids]);
      },
    });
    expect([...answers.keys()].sort()).toEqual([0, 1, 2]);
    for (const [i, ids] of answers) expect(ids).toEqual(got[i]);
    // One report per step of each group: 6 for [5 9 2]+[7 1 4], 6 for the five-token prompt.
    expect(seen).toHaveLength(12);
    expect(seen.slice(0, 5).every((p) => p.done === 0)).toBe(true); // tokens come before any answer is done
    expect(seen.map((p) => p.tokens)).toEqual([2, 4, 6, 8, 10, 12, 13, 14, 15, 16, 17, 18]);
    expect(seen.at(-1)).toEqual({ done: 3, total: 3, tokens: got.flat().length });
    model.dispose();
  });
});
