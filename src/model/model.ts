// A loaded model: config, tokenizer, GPU weights, optional LoRA adapter, and the two things the
// rest of entrotune asks of it: logits at chosen positions of a padded batch, and generation with
// a KV cache. Forward plans are built per shape and kept (a few), so repeated calls of the same
// shape only write inputs and record dispatches.

import { EntrotuneError, ShapeError } from '../errors';
import type { Gpu } from '../gpu/device';
import type { Tensor } from '../gpu/tensor';
import { ropeTable } from '../kernels/rope';
import { entropyForward, gatherLabels } from '../kernels/entropy';
import { record, releaseDispatch, type Dispatch } from '../gpu/dispatch';
import { destroyWeight } from './weights';
import type { ModelConfig } from './config';
import { ropeInvFreq, type LoraWeights, type ModelWeights } from './architecture';
import { ForwardPlan, KvCache } from './llama';
import type { LoadReport } from './load';
import { weightTensors } from './load';
import { destroyLora } from './lora';
import { sampleToken, type SamplingOptions } from './sampling';
import { rng } from '../util/random';
import type { ChatMessage, Tokenizer } from '../tokenizer/tokenizer';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens?: number;
  /** Token ids that end generation (default: the tokenizer's end-of-sequence ids). */
  stopTokens?: number[];
  /** Called with each new token id and the text decoded so far. */
  onToken?: (id: number, text: string) => void;
  signal?: AbortSignal;
}

export interface GenerateResult {
  ids: number[];
  text: string;
  /** Why generation ended. */
  stop: 'stop-token' | 'max-tokens' | 'context';
  promptTokens: number;
  prefillSeconds: number;
  decodeSeconds: number;
}

const MAX_PLANS = 6;

export interface NextTokenStats {
  /** Entropy of the full-vocabulary distribution, nats, per row. */
  entropy: Float32Array;
  lse: Float32Array;
  /** Greedy next token per row. */
  greedy: Int32Array;
  /** The largest logit per row: the top-1 probability is exp(maxLogit − lse). */
  maxLogit: Float32Array;
  /** [B, J] logits of the label tokens. */
  labelLogits: Float32Array;
}

/** The scoring head attached to a plan: entropy and label gathers over its logits. */
interface Head {
  J: number;
  stats: Tensor;
  picked: Tensor;
  labels: Tensor;
  dispatches: Dispatch[];
}

export class Model {
  private plans = new Map<string, ForwardPlan>();
  private heads = new Map<ForwardPlan, Head>();
  private rope: Tensor;
  private cache: KvCache | null = null;
  private disposed = false;
  /** config.json, tokenizer.json, … as loaded, so trained full weights can be saved as a complete model folder. */
  readonly companionFiles: Record<string, Uint8Array> = {};

  constructor(
    readonly gpu: Gpu,
    readonly cfg: ModelConfig,
    /** null when the model folder has no tokenizer.json (prompts must then be token ids). */
    readonly tokenizer: Tokenizer | null,
    readonly weights: ModelWeights,
    public lora: LoraWeights | null,
    readonly report: LoadReport,
    /** Longest sequence (prompt + generated) this model instance will run. */
    readonly contextLength: number,
    readonly name: string,
  ) {
    this.rope = gpu.tensor('rope-table', [contextLength, cfg.HS], 'f32', 'base');
    gpu.write(this.rope, ropeTable(ropeInvFreq(cfg), contextLength));
  }

  /** The RoPE cos/sin table [contextLength, HS] (training plans share it). */
  get ropeTable(): Tensor {
    return this.rope;
  }

  private check(): void {
    if (this.disposed) throw new EntrotuneError('this model was disposed', 'load it again');
    this.gpu.assertAlive();
  }

  /** Replace (or remove) the LoRA adapter; plans are rebuilt on next use. */
  setAdapter(lora: LoraWeights | null): void {
    this.dropPlans();
    if (this.lora && this.lora !== lora) destroyLora(this.gpu, this.lora);
    this.lora = lora;
  }

  private async plan(B: number, Tq: number, P: number, cache: KvCache | null): Promise<ForwardPlan> {
    const key = `${B}x${Tq}x${P}x${cache ? cache.S : 0}`;
    let plan = this.plans.get(key);
    if (plan) {
      this.plans.delete(key); // re-insert: the map's order is the eviction order
    } else {
      plan = await ForwardPlan.build(this.gpu, this.cfg, this.weights, this.lora, this.rope, cache, { B, Tq, S: cache?.S ?? 0, P });
      if (this.plans.size >= MAX_PLANS) {
        const [oldKey, old] = this.plans.entries().next().value!;
        this.plans.delete(oldKey);
        this.destroyPlan(old);
      }
    }
    this.plans.set(key, plan);
    return plan;
  }

  private destroyPlan(plan: ForwardPlan): void {
    const h = this.heads.get(plan);
    if (h) this.destroyHead(h);
    this.heads.delete(plan);
    plan.destroy();
  }

  private dropPlans(): void {
    for (const p of this.plans.values()) this.destroyPlan(p);
    this.plans.clear();
  }

  /**
   * Logits [P, V] at positions [b, t] of a batch of token sequences (right-padded internally).
   * Only the requested rows are projected to the vocabulary: never [B, T, V].
   */
  async logits(batch: number[][], positions: [number, number][]): Promise<Float32Array> {
    this.check();
    if (!batch.length || !positions.length) throw new ShapeError('logits: empty batch or no positions');
    const T = Math.max(...batch.map((s) => s.length));
    if (T > this.contextLength) throw new ShapeError(`logits: a sequence of ${T} tokens exceeds the context length ${this.contextLength}`, 'load the model with a larger contextLength');
    const B = batch.length;
    const ids = new Uint32Array(B * T); // pad with 0: causal attention never lets a real token see padding
    batch.forEach((s, b) => {
      if (!s.length) throw new ShapeError(`logits: sequence ${b} is empty`);
      ids.set(s, b * T);
    });
    const pos = Uint32Array.from(positions, ([b, t]) => {
      if (b < 0 || b >= B || t < 0 || t >= batch[b].length) throw new ShapeError(`logits: position [${b}, ${t}] is outside sequence ${b} (length ${batch[b]?.length ?? 0})`);
      return b * T + t;
    });
    const plan = await this.plan(B, T, pos.length, null);
    await plan.run(ids, pos);
    return this.gpu.read(plan.logits);
  }

  /**
   * The first generated token's distribution at the end of each sequence, summarised on the GPU:
   * entropy over the full vocabulary (nats), log-sum-exp, greedy token, and the logits of the
   * given label tokens (for the entropy restricted to the options). Reads back 4 + J floats per row.
   */
  async nextTokenStats(batch: number[][], labelIds: number[]): Promise<NextTokenStats> {
    this.check();
    if (!labelIds.length) throw new ShapeError('nextTokenStats: no label tokens');
    for (const id of labelIds) if (!(id >= 0 && id < this.cfg.V)) throw new ShapeError(`nextTokenStats: label token ${id} is outside the vocabulary`);
    const B = batch.length;
    // Pad T up to a multiple of 32 so batches of similar length share one plan.
    const T = Math.min(this.contextLength, Math.ceil(Math.max(...batch.map((s) => s.length)) / 32) * 32);
    if (batch.some((s) => s.length > this.contextLength)) throw new ShapeError(`nextTokenStats: a prompt exceeds the context length ${this.contextLength}`, 'load the model with a larger contextLength');
    const ids = new Uint32Array(B * T);
    batch.forEach((s, b) => {
      if (!s.length) throw new ShapeError(`nextTokenStats: sequence ${b} is empty`);
      ids.set(s, b * T);
    });
    const positions = Uint32Array.from(batch, (s, b) => b * T + s.length - 1);
    const plan = await this.plan(B, T, B, null);
    const J = labelIds.length;
    let h = this.heads.get(plan);
    if (!h || h.J !== J) {
      if (h) this.destroyHead(h);
      const stats = this.gpu.tensor('next-stats', [B, 4], 'f32', 'activations');
      const picked = this.gpu.tensor('next-labels', [B, J], 'f32', 'activations');
      const labels = this.gpu.tensor('label-ids', [J], 'u32', 'activations');
      const dispatches = [await entropyForward(this.gpu, stats, plan.logits, B, this.cfg.V), await gatherLabels(this.gpu, picked, plan.logits, labels, B, this.cfg.V, J)];
      h = { J, stats, picked, labels, dispatches };
      this.heads.set(plan, h);
    }
    this.gpu.write(h.labels, Uint32Array.from(labelIds));
    const enc = this.gpu.device.createCommandEncoder({ label: 'next-token stats' });
    await plan.run(ids, positions, 0, enc);
    record(enc, h.dispatches);
    this.gpu.device.queue.submit([enc.finish()]);
    const st = await this.gpu.read(h.stats);
    const picked = await this.gpu.read(h.picked);
    return {
      entropy: Float32Array.from({ length: B }, (_, b) => st[b * 4]),
      lse: Float32Array.from({ length: B }, (_, b) => st[b * 4 + 1]),
      greedy: Int32Array.from({ length: B }, (_, b) => st[b * 4 + 2]),
      maxLogit: Float32Array.from({ length: B }, (_, b) => st[b * 4 + 3]),
      labelLogits: picked,
    };
  }

  private destroyHead(h: Head): void {
    for (const d of h.dispatches) releaseDispatch(this.gpu, d);
    for (const t of [h.stats, h.picked, h.labels]) this.gpu.destroyBuffer(t.buffer);
  }

  private kvCache(S: number): KvCache {
    if (!this.cache || this.cache.S < S) {
      // Grow in powers of two so a conversation does not reallocate every turn.
      const cap = Math.min(this.contextLength, 2 ** Math.ceil(Math.log2(Math.max(S, 256))));
      for (const [k, p] of this.plans) if (k.endsWith(`x${this.cache?.S}`)) { this.destroyPlan(p); this.plans.delete(k); }
      this.cache?.destroy();
      this.cache = new KvCache(this.gpu, this.cfg, 1, cap);
    }
    return this.cache;
  }

  /** Prompt ids for a string (chat template applied) or a list of chat messages. */
  encodePrompt(prompt: string | ChatMessage[] | number[], chat = true): number[] {
    if (Array.isArray(prompt) && (prompt.length === 0 || typeof prompt[0] === 'number')) return prompt as number[];
    const tok = this.needTokenizer();
    const messages: ChatMessage[] = typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : (prompt as ChatMessage[]);
    if (!chat && typeof prompt === 'string') return tok.encode(prompt);
    return tok.encode(tok.applyChatTemplate(messages, { addGenerationPrompt: true }));
  }

  private needTokenizer(): Tokenizer {
    if (!this.tokenizer) throw new EntrotuneError(`${this.name} has no tokenizer.json`, 'pass token ids instead of text, or load a model folder that has tokenizer.json');
    return this.tokenizer;
  }

  private decode(ids: number[]): string {
    return this.tokenizer ? this.tokenizer.decode(ids, { skipSpecialTokens: true }) : '';
  }

  /** Greedy (temperature 0) or sampled generation with a KV cache, one sequence. */
  async generate(prompt: string | ChatMessage[] | number[], o: GenerateOptions = {}): Promise<GenerateResult> {
    this.check();
    const promptIds = this.encodePrompt(prompt);
    if (!promptIds.length) throw new ShapeError('generate: empty prompt');
    const maxNew = o.maxNewTokens ?? 128;
    const stops = new Set(o.stopTokens ?? this.tokenizer?.eosTokenIds ?? []);
    if (promptIds.length >= this.contextLength) throw new ShapeError(`generate: the prompt has ${promptIds.length} tokens, the context length is ${this.contextLength}`);
    const S = Math.min(this.contextLength, promptIds.length + maxNew);
    const cache = this.kvCache(S);
    const random = rng(o.seed ?? 0);

    const t0 = performance.now();
    const prefill = await this.plan(1, promptIds.length, 1, cache);
    await prefill.run(Uint32Array.from(promptIds), Uint32Array.of(promptIds.length - 1), 0);
    let logits = await this.gpu.read(prefill.logits);
    const t1 = performance.now();
    const out: number[] = [];
    let stop: GenerateResult['stop'] = 'max-tokens';
    const decode = await this.plan(1, 1, 1, cache);
    for (;;) {
      if (o.signal?.aborted) throw new EntrotuneError('generation was stopped');
      const id = sampleToken(logits, o, random);
      if (stops.has(id)) {
        stop = 'stop-token';
        break;
      }
      out.push(id);
      o.onToken?.(id, this.decode(out));
      if (out.length >= maxNew) break;
      const pos = promptIds.length + out.length - 1;
      if (pos >= cache.S) {
        stop = 'context';
        break;
      }
      await decode.run(Uint32Array.of(id), Uint32Array.of(0), pos);
      logits = await this.gpu.read(decode.logits);
    }
    return {
      ids: out,
      text: this.decode(out),
      stop,
      promptTokens: promptIds.length,
      prefillSeconds: (t1 - t0) / 1000,
      decodeSeconds: (performance.now() - t1) / 1000,
    };
  }

  /** Free every GPU buffer this model holds. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.dropPlans();
    this.cache?.destroy();
    if (this.lora) destroyLora(this.gpu, this.lora);
    const { matrices, vectors } = weightTensors(this.weights);
    for (const m of matrices) destroyWeight(this.gpu, m);
    for (const v of vectors) this.gpu.destroyBuffer(v.buffer);
    this.gpu.destroyBuffer(this.rope.buffer);
  }
}
