// Greedy generation for many prompts at once, as evaluation needs it: prompts of equal length share
// a batch (one KV cache [B, S], one prefill, then one decode step per new token for every row), so
// on a dispatch-bound device B answers cost about what one does. The greedy token of every row is
// taken on the GPU by the entropy head (argmax over the vocabulary): each step reads back 4 floats
// per row, never the [B, V] logits.

import { ShapeError } from '../errors';
import { record, releaseDispatch } from '../gpu/dispatch';
import { entropyForward } from '../kernels/entropy';
import { ForwardPlan, KvCache } from './llama';
import type { Model } from './model';

export interface GreedyBatchOptions {
  maxNewTokens: number;
  /** Ends a row (default: the tokenizer's end-of-sequence ids). */
  stopTokens?: number[];
  /** Rows per batch (default 16). */
  maxBatch?: number;
  signal?: AbortSignal;
  /** After every decode step: prompts answered so far (a row that stopped counts), of `total`, and the
   *  tokens generated so far, so a long batch is never silent. */
  onProgress?: (p: GreedyProgress) => void;
  /** As soon as one prompt's answer is complete (it stopped, or its group ended): its index and ids. */
  onAnswer?: (index: number, ids: number[]) => void;
}

export interface GreedyProgress {
  done: number;
  total: number;
  tokens: number;
}

/** Generated ids (without the stop token) for each prompt, in the prompts' order. */
export async function greedyBatch(model: Model, prompts: number[][], o: GreedyBatchOptions): Promise<number[][]> {
  const stops = new Set(o.stopTokens ?? model.tokenizer?.eosTokenIds ?? []);
  const maxBatch = Math.max(1, o.maxBatch ?? 16);
  const out: number[][] = new Array(prompts.length);
  // Group by length; each group is split into batches of at most maxBatch rows.
  const byLength = new Map<number, number[]>();
  prompts.forEach((p, i) => {
    if (!p.length) throw new ShapeError(`greedyBatch: prompt ${i} is empty`);
    if (p.length >= model.contextLength) throw new ShapeError(`greedyBatch: prompt ${i} has ${p.length} tokens, the context length is ${model.contextLength}`, 'load the model with a larger contextLength');
    byLength.set(p.length, [...(byLength.get(p.length) ?? []), i]);
  });
  let done = 0, tokens = 0;
  for (const [T, rows] of byLength) {
    for (let s = 0; s < rows.length; s += maxBatch) {
      const idx = rows.slice(s, s + maxBatch);
      const onStep = (finished: number, generated: number) => o.onProgress?.({ done: done + finished, total: prompts.length, tokens: tokens + generated });
      const onRow = (k: number, ids: number[]) => o.onAnswer?.(idx[k], ids);
      const got = await generateGroup(model, idx.map((i) => prompts[i]), T, o.maxNewTokens, stops, o.signal, onStep, onRow);
      idx.forEach((i, k) => (out[i] = got[k]));
      done += idx.length;
      tokens += got.reduce((n, g) => n + g.length, 0);
    }
  }
  return out;
}

/** One batch of equal-length prompts; `onStep(finished rows, tokens generated)` after every step,
 *  `onRow(row, ids)` once per row, when its answer is complete. */
async function generateGroup(model: Model, prompts: number[][], T: number, maxNew: number, stops: Set<number>, signal: AbortSignal | undefined, onStep: (finished: number, generated: number) => void, onRow: (row: number, ids: number[]) => void): Promise<number[][]> {
  const { gpu, cfg } = model;
  const B = prompts.length;
  const S = Math.min(model.contextLength, T + maxNew);
  const cache = new KvCache(gpu, cfg, B, S);
  const stats = gpu.tensor('greedy-stats', [B, 4], 'f32', 'activations');
  const prefill = await ForwardPlan.build(gpu, cfg, model.weights, model.lora, model.ropeTable, cache, { B, Tq: T, S, P: B });
  const decode = await ForwardPlan.build(gpu, cfg, model.weights, model.lora, model.ropeTable, cache, { B, Tq: 1, S, P: B });
  const heads = [await entropyForward(gpu, stats, prefill.logits, B, cfg.V), await entropyForward(gpu, stats, decode.logits, B, cfg.V)];
  try {
    // step: run the plan and its greedy head in one submission, read the B greedy tokens.
    const step = async (plan: ForwardPlan, head: number, ids: Uint32Array, positions: Uint32Array, pos0: number) => {
      const enc = gpu.device.createCommandEncoder({ label: 'greedy batch' });
      await plan.run(ids, positions, pos0, enc);
      record(enc, [heads[head]]);
      gpu.device.queue.submit([enc.finish()]);
      const st = await gpu.read(stats);
      return Array.from({ length: B }, (_, b) => st[b * 4 + 2]);
    };
    const ids = new Uint32Array(B * T);
    prompts.forEach((p, b) => ids.set(p, b * T));
    let next = await step(prefill, 0, ids, Uint32Array.from({ length: B }, (_, b) => b * T + T - 1), 0);
    const out: number[][] = prompts.map(() => []);
    const live = new Array<boolean>(B).fill(true);
    const decodePositions = Uint32Array.from({ length: B }, (_, b) => b);
    for (let n = 0; ; n++) {
      for (let b = 0; b < B; b++) {
        if (!live[b]) continue;
        if (stops.has(next[b])) {
          live[b] = false;
          onRow(b, out[b]);
        } else out[b].push(next[b]);
      }
      const finished = !live.some(Boolean) || n + 1 >= maxNew || T + n >= S;
      if (finished) for (let b = 0; b < B; b++) if (live[b]) onRow(b, out[b]);
      onStep(finished ? B : live.filter((l) => !l).length, out.reduce((k, o) => k + o.length, 0));
      if (finished) break;
      if (signal?.aborted) throw new DOMException('generation was stopped', 'AbortError');
      // Finished rows keep feeding a token; their outputs are ignored.
      next = await step(decode, 1, Uint32Array.from(next), decodePositions, T + n);
    }
    return out;
  } finally {
    for (const h of heads) releaseDispatch(gpu, h);
    prefill.destroy();
    decode.destroy();
    cache.destroy();
    gpu.destroyBuffer(stats.buffer);
  }
}
