// The Llama / Qwen2 / Qwen3 forward pass for inference and scoring, as a plan: for a given batch shape
// the activations are allocated once and every kernel launch is built once; running the plan only
// writes the token ids and records the dispatches. The layers are layer.ts's, run in place on one
// residual stream, with the KV cache's offset patched into the launches that need it per run.
//
// Letters: B batch, T tokens per row (Tq new tokens when decoding), C hidden, NH / NKV heads,
// HS head size, I intermediate, V vocabulary, L layers, S KV-cache capacity, P positions whose
// logits are wanted, r LoRA rank.

import { ShapeError } from '../errors';
import { Arena, type TensorSpec } from '../gpu/arena';
import type { Gpu } from '../gpu/device';
import { record, releaseDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { embeddingForward } from '../kernels/embedding';
import { linearForward } from '../kernels/linear';
import { rmsnormForward } from '../kernels/rmsnorm';
import { gatherRows, scatterRows } from '../kernels/rows';
import type { LoraWeights, ModelWeights } from './architecture';
import type { ModelConfig } from './config';
import { layerForward, type LayerTensors } from './layer';
import { projection } from './projection';

export interface ForwardShape {
  B: number;
  /** New tokens per row in this pass. */
  Tq: number;
  /** Rows of the KV cache per batch item; 0 = no cache (keys and values of this pass only). */
  S: number;
  /** Positions whose logits are computed. */
  P: number;
}

/** The activations one forward plan allocates (the memory planner uses the same list). */
export function forwardActivationSpecs(cfg: ModelConfig, shape: ForwardShape, r: number): TensorSpec[] {
  const { C, I, NH, NKV, HS, V } = cfg;
  const { B, Tq, P } = shape;
  const BT = B * Tq;
  const specs: TensorSpec[] = [
    { name: 'ids', shape: [BT], dtype: 'u32' },
    { name: 'positions', shape: [P], dtype: 'u32' },
    { name: 'x', shape: [BT, C] }, // residual stream
    { name: 'h', shape: [BT, C] }, // normed input of attention / MLP
    { name: 'rstd', shape: [Math.max(BT * NH, P)] },
    { name: 'q', shape: [BT, NH * HS] },
    { name: 'k', shape: [BT, NKV * HS] },
    { name: 'qn', shape: [cfg.qkNorm ? BT : 1, NH * HS] }, // Qwen3's normed q and k (WebGPU forbids in-place
    { name: 'kn', shape: [cfg.qkNorm ? BT : 1, NKV * HS] }, // kernels that read and write one binding range)
    { name: 'v', shape: [BT, NKV * HS] },
    { name: 'att', shape: [BT, NH * HS] },
    { name: 'lse', shape: [B * NH * Tq] },
    { name: 'gate', shape: [BT, I] },
    { name: 'up', shape: [BT, I] },
    { name: 'act', shape: [BT, I] },
    { name: 'sel', shape: [P, C] },
    { name: 'hsel', shape: [P, C] },
    { name: 'logits', shape: [P, V] },
  ];
  if (r) specs.push({ name: 'lora_u', shape: [BT, r] });
  return specs;
}

/** Uniform fields patched per run: the cache offset of rope, attention and the cache append. */
interface PosPatch {
  d: Dispatch;
  field: number;
}

/**
 * One forward pass of fixed shape. `run(ids, positions, pos0)` writes inputs, records every
 * dispatch into one encoder and submits; the logits [P, V] are left in `logits`.
 */
export class ForwardPlan {
  readonly acts: Arena;
  private dispatches: Dispatch[] = [];
  private posPatches: PosPatch[] = [];

  private constructor(
    private readonly gpu: Gpu,
    readonly cfg: ModelConfig,
    readonly shape: ForwardShape,
    acts: Arena,
  ) {
    this.acts = acts;
  }

  get logits(): Tensor {
    return this.acts.get('logits');
  }

  static async build(gpu: Gpu, cfg: ModelConfig, w: ModelWeights, lora: LoraWeights | null, rope: Tensor, cache: KvCache | null, shape: ForwardShape): Promise<ForwardPlan> {
    const { C, NKV, HS, eps } = cfg;
    const { B, Tq, P } = shape;
    const BT = B * Tq;
    if (cache && (cache.B !== B || cache.S !== shape.S)) throw new ShapeError(`KV cache is [${cache.B}, ${cache.S}], the plan wants [${B}, ${shape.S}]`);
    const acts = Arena.create(gpu, `activations ${B}×${Tq}`, forwardActivationSpecs(cfg, shape, lora?.r ?? 0), 'activations');
    const plan = new ForwardPlan(gpu, cfg, shape, acts);
    const a = (n: string) => acts.get(n);
    const add = (d: Dispatch | Dispatch[]) => plan.dispatches.push(...(Array.isArray(d) ? d : [d]));
    const atPos0 = (d: Dispatch, field: number) => plan.posPatches.push({ d, field });
    const kvCache = cache
      ? async (l: number, k: Tensor, v: Tensor) => {
          const sk = await scatterRows(gpu, cache.k[l], k, B, Tq, cache.S, NKV * HS, 0); // append to the cache
          const sv = await scatterRows(gpu, cache.v[l], v, B, Tq, cache.S, NKV * HS, 0);
          add([sk, sv]);
          atPos0(sk, 4);
          atPos0(sv, 4);
          return { keys: cache.k[l], values: cache.v[l], S: cache.S };
        }
      : undefined;
    const project = projection({ gpu, cfg, w, lora, rows: BT, add, u: () => a('lora_u') });
    const ctx = { gpu, cfg, w, rope, B, T: Tq, project, add, kvCache, atPos0 };
    // In place: one residual stream x, one normed-input scratch h, q and k rotated where they are
    // (or in qn/kn, where Qwen3's norms put them), one rstd for every norm.
    const x: LayerTensors = {
      xin: a('x'), xmid: a('x'), xout: a('x'), h1: a('h'), h2: a('h'),
      rstd1: a('rstd'), rstd2: a('rstd'), rstdq: a('rstd'), rstdk: a('rstd'),
      q: a('q'), k: a('k'), v: a('v'), qr: cfg.qkNorm ? a('qn') : a('q'), kr: cfg.qkNorm ? a('kn') : a('k'),
      att: a('att'), lse: a('lse'), gate: a('gate'), up: a('up'), act: a('act'),
    };

    add(await embeddingForward(gpu, a('x'), a('ids'), w.embed, BT)); //        x = embed[ids]
    for (let l = 0; l < cfg.L; l++) await layerForward(ctx, l, x);
    add(await gatherRows(gpu, a('sel'), a('x'), a('positions'), P, C)); //      only the rows asked for
    add(await rmsnormForward(gpu, a('hsel'), a('rstd'), a('sel'), w.norm, P, C, eps));
    add(await linearForward(gpu, a('logits'), a('hsel'), w.lmHead, P)); //      logits = norm(x)·Wᵀ, vocab chunk by chunk
    return plan;
  }

  /** ids [B·Tq] (padded), positions [P] as flat rows b·Tq + t, pos0 = tokens already in the cache. */
  async run(ids: Uint32Array, positions: Uint32Array, pos0 = 0, encoder?: GPUCommandEncoder): Promise<void> {
    const { gpu } = this;
    const { B, Tq, P } = this.shape;
    if (ids.length !== B * Tq) throw new ShapeError(`forward: ${ids.length} token ids for a ${B}×${Tq} plan`);
    if (positions.length !== P) throw new ShapeError(`forward: ${positions.length} positions for a plan of ${P}`);
    for (const id of ids) if (id >= this.cfg.V) throw new ShapeError(`forward: token id ${id} ≥ vocabulary size ${this.cfg.V}`);
    for (const p of positions) if (p >= B * Tq) throw new ShapeError(`forward: position ${p} outside the ${B}×${Tq} batch`);
    gpu.assertAlive();
    gpu.write(this.acts.get('ids'), ids);
    gpu.write(this.acts.get('positions'), positions);
    const word = new Uint32Array([pos0]);
    for (const { d, field } of this.posPatches) gpu.device.queue.writeBuffer(d.uniform!, field * 4, word);
    const enc = encoder ?? gpu.device.createCommandEncoder({ label: 'forward' });
    record(enc, this.dispatches);
    if (!encoder) gpu.device.queue.submit([enc.finish()]);
  }

  destroy(): void {
    for (const d of this.dispatches) releaseDispatch(this.gpu, d);
    this.dispatches = [];
    this.acts.destroy();
  }
}

/** Keys and values of every layer: [B, S, NKV·HS] each. */
export class KvCache {
  readonly k: Tensor[] = [];
  readonly v: Tensor[] = [];
  private readonly arena: Arena;

  constructor(gpu: Gpu, cfg: ModelConfig, readonly B: number, readonly S: number) {
    const specs: TensorSpec[] = [];
    for (let l = 0; l < cfg.L; l++) {
      specs.push({ name: `k${l}`, shape: [B, S, cfg.NKV * cfg.HS] }, { name: `v${l}`, shape: [B, S, cfg.NKV * cfg.HS] });
    }
    this.arena = Arena.create(gpu, `kv-cache ${B}×${S}`, specs, 'activations');
    for (let l = 0; l < cfg.L; l++) {
      this.k.push(this.arena.get(`k${l}`));
      this.v.push(this.arena.get(`v${l}`));
    }
  }

  get bytes(): number {
    return this.arena.bytes;
  }

  destroy(): void {
    this.arena.destroy();
  }
}
