// The Llama / Qwen2 / Qwen3 forward pass for inference, as a plan: for a given batch shape the
// activations are allocated once and every kernel launch is built once; running the plan only
// writes the token ids and records the dispatches. Architecture differences are config fields
// (qkvBias, qkNorm, tieEmbeddings, ropeScaling), not classes.
//
// Letters: B batch, T tokens per row (Tq new tokens when decoding), C hidden, NH / NKV heads,
// HS head size, I intermediate, V vocabulary, L layers, S KV-cache capacity, P positions whose
// logits are wanted, r LoRA rank.

import { ShapeError } from '../errors';
import { Arena, type TensorSpec } from '../gpu/arena';
import type { Gpu } from '../gpu/device';
import { record, releaseDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { attentionForward, gatherRows, rmsnormForward, ropeForward, scatterRows, swigluForward } from '../kernels/layers';
import { matmulForward } from '../kernels/matmul';
import { embeddingForward, linearForward, type QWeight } from '../kernels/qweight';
import type { ModelConfig } from './config';

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export interface LayerWeights {
  attnNorm: Tensor; // [C]
  q_proj: QWeight; // [NH·HS, C] (+ bias)
  k_proj: QWeight; // [NKV·HS, C] (+ bias)
  v_proj: QWeight; // [NKV·HS, C] (+ bias)
  o_proj: QWeight; // [C, NH·HS]
  qNorm: Tensor | null; // [HS] (Qwen3)
  kNorm: Tensor | null; // [HS] (Qwen3)
  mlpNorm: Tensor; // [C]
  gate_proj: QWeight; // [I, C]
  up_proj: QWeight; // [I, C]
  down_proj: QWeight; // [C, I]
}

export interface ModelWeights {
  embed: QWeight; // [V, C]
  layers: LayerWeights[];
  norm: Tensor; // [C]
  lmHead: QWeight; // [V, C]; the same object as embed when tied
}

/** LoRA factors of one target: y += (x·Aᵀ)·Bᵀ · scale. */
export interface LoraPair {
  A: Tensor; // [r, in]
  B: Tensor; // [out, r]
}

export interface LoraWeights {
  r: number;
  alpha: number;
  /** alpha / r (PEFT's scaling without rsLoRA). */
  scale: number;
  targets: LoraTarget[];
  layers: Partial<Record<LoraTarget, LoraPair>>[];
}

/** Input and output sizes of each projection. */
export function projectionShape(cfg: ModelConfig, t: LoraTarget): { out: number; in: number } {
  const { C, I, NH, NKV, HS } = cfg;
  switch (t) {
    case 'q_proj': return { out: NH * HS, in: C };
    case 'k_proj':
    case 'v_proj': return { out: NKV * HS, in: C };
    case 'o_proj': return { out: C, in: NH * HS };
    case 'gate_proj':
    case 'up_proj': return { out: I, in: C };
    case 'down_proj': return { out: C, in: I };
  }
}

/** Rotary inverse frequencies, with Llama 3's frequency-dependent scaling when configured. */
export function ropeInvFreq(cfg: ModelConfig): Float64Array {
  const half = cfg.HS / 2;
  const inv = Float64Array.from({ length: half }, (_, i) => 1 / cfg.ropeTheta ** ((2 * i) / cfg.HS));
  const s = cfg.ropeScaling;
  if (!s) return inv;
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f; // high frequencies: unchanged
    if (wavelen > lowWavelen) return f / s.factor; // low frequencies: scaled
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}

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
    const { C, I, NH, NKV, HS, V, eps } = cfg;
    const { B, Tq, P } = shape;
    const BT = B * Tq;
    const r = lora?.r ?? 0;
    if (cache && (cache.B !== B || cache.S !== shape.S)) throw new ShapeError(`KV cache is [${cache.B}, ${cache.S}], the plan wants [${B}, ${shape.S}]`);
    const specs = forwardActivationSpecs(cfg, shape, r);
    const acts = Arena.create(gpu, `activations ${B}×${Tq}`, specs, 'activations');
    const plan = new ForwardPlan(gpu, cfg, shape, acts);
    const a = (n: string) => acts.get(n);
    const out = plan.dispatches;
    const add = (d: Dispatch | Dispatch[]) => out.push(...(Array.isArray(d) ? d : [d]));
    const pos0Field = (d: Dispatch, field: number) => plan.posPatches.push({ d, field });

    // y (=|+=) x·Wᵀ (+ b) (+ LoRA) for projection t of layer l.
    const project = async (l: number, t: LoraTarget, y: Tensor, x: Tensor, accumulate: boolean) => {
      const W = w.layers[l][t];
      add(await linearForward(gpu, y, x, W, BT, { accumulate }));
      const pair = lora?.layers[l]?.[t];
      if (pair) {
        const { out: N, in: K } = projectionShape(cfg, t);
        add(await matmulForward(gpu, a('lora_u'), x, pair.A, BT, r, K)); // u = x·Aᵀ   [BT, r]
        add(await matmulForward(gpu, y, a('lora_u'), pair.B, BT, N, r, { accumulate: true, alpha: lora!.scale })); // y += s·u·Bᵀ
      }
    };

    add(await embeddingForward(gpu, a('x'), a('ids'), w.embed, BT)); //        x = embed[ids]
    for (let l = 0; l < cfg.L; l++) {
      const L = w.layers[l];
      add(await rmsnormForward(gpu, a('h'), a('rstd'), a('x'), L.attnNorm, BT, C, eps)); // h = norm(x)
      await project(l, 'q_proj', a('q'), a('h'), false); //                     q = h·Wqᵀ
      await project(l, 'k_proj', a('k'), a('h'), false); //                     k = h·Wkᵀ
      await project(l, 'v_proj', a('v'), a('h'), false); //                     v = h·Wvᵀ
      let q = a('q'), k = a('k');
      if (L.qNorm && L.kNorm) {
        add(await rmsnormForward(gpu, a('qn'), a('rstd'), q, L.qNorm, BT * NH, HS, eps)); // Qwen3: per-head norms
        add(await rmsnormForward(gpu, a('kn'), a('rstd'), k, L.kNorm, BT * NKV, HS, eps));
        [q, k] = [a('qn'), a('kn')];
      }
      const rq = await ropeForward(gpu, q, rope, BT, NH, HS, Tq); //            rotate q, k
      const rk = await ropeForward(gpu, k, rope, BT, NKV, HS, Tq);
      add([rq, rk]);
      pos0Field(rq, 4);
      pos0Field(rk, 4);
      let keys = k, values = a('v'), S = Tq;
      if (cache) {
        const sk = await scatterRows(gpu, cache.k[l], k, B, Tq, cache.S, NKV * HS, 0); // append to the cache
        const sv = await scatterRows(gpu, cache.v[l], a('v'), B, Tq, cache.S, NKV * HS, 0);
        add([sk, sv]);
        pos0Field(sk, 4);
        pos0Field(sv, 4);
        keys = cache.k[l];
        values = cache.v[l];
        S = cache.S;
      }
      const at = await attentionForward(gpu, a('att'), a('lse'), q, keys, values, { B, Tq, S, NH, NKV, HS, pos0: 0 });
      add(at); //                                                                att = softmax(q·kᵀ)·v
      pos0Field(at, 5);
      await project(l, 'o_proj', a('x'), a('att'), true); //                    x += att·Woᵀ
      add(await rmsnormForward(gpu, a('h'), a('rstd'), a('x'), L.mlpNorm, BT, C, eps)); // h = norm(x)
      await project(l, 'gate_proj', a('gate'), a('h'), false); //               gate = h·Wgᵀ
      await project(l, 'up_proj', a('up'), a('h'), false); //                   up = h·Wuᵀ
      add(await swigluForward(gpu, a('act'), a('gate'), a('up'), BT * I)); //   act = silu(gate)·up
      await project(l, 'down_proj', a('x'), a('act'), true); //                 x += act·Wdᵀ
    }
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
