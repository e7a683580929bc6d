// One training step's GPU work (LoRA, or full fine-tuning) for a fixed batch shape, as a plan: the
// layers' forward, the loss over the trained positions (chunked cross-entropy, never [B,T,V] logits),
// and the layers' hand-written backward (both in src/model/layer.ts), with activations either
// recomputed per layer (only the residual stream entering each layer is kept) or kept for every layer
// from the forward pass (keepLayers: no recomputation; see keepLayersFor).
//
// Gradient convention (STYLE §7): LoRA gradients accumulate (+=) over micro-batches and are zeroed
// by the trainer at the start of a step; activation gradients are overwritten (=), except the
// residual stream dx, which every branch adds into. The frozen base has no gradient buffers.
//
// Letters: B batch, T tokens, BT = B·T rows, C hidden, NH/NKV heads, HS head size, I intermediate,
// V vocabulary, N trained positions, r LoRA rank.

import { ShapeError } from '../errors';
import { Arena, type TensorSpec } from '../gpu/arena';
import type { Gpu } from '../gpu/device';
import { record, releaseDispatch, type Dispatch } from '../gpu/dispatch';
import { alignUp, numel, type Tensor } from '../gpu/tensor';
import { rmsnormBackward, rmsnormBackwardWeight, rmsnormForward } from '../kernels/rmsnorm';
import { gatherRows, scatterRowsIdx } from '../kernels/rows';
import { crossEntropy } from '../kernels/crossentropy';
import { setDropoutSeed } from '../kernels/dropout';
import { embeddingBackward, embeddingForward } from '../kernels/embedding';
import type { LoraTarget, LoraWeights, ModelWeights } from '../model/architecture';
import type { ModelConfig } from '../model/config';
import { layerBackward, layerForward, type LayerGrads, type LayerTensors } from '../model/layer';
import { projection, type FullGrads } from '../model/projection';

export type { FullGrads } from '../model/projection';

export interface TrainShape {
  B: number;
  T: number;
  /** Trained positions (rows whose next-token target is not ignored), padded up to a plan size. */
  N: number;
}

/** Vocabulary rows per cross-entropy pass. */
export const CE_CHUNK = 8192;

/** Bytes that keeping every layer's activations adds to a plan (over recomputing them per layer). */
export function keepLayersExtraBytes(cfg: ModelConfig, s: TrainShape, r: number, dropout = 0): number {
  const bytes = (specs: TensorSpec[]) => specs.reduce((sum, x) => sum + numel(x.shape) * 4, 0);
  return bytes(trainActivationSpecs(cfg, s, r, dropout, true)) - bytes(trainActivationSpecs(cfg, s, r, dropout, false));
}

/** Name of a saved activation: one shared set when recomputing, `name@layer` when every layer keeps its own. */
export function savedName(name: string, l: number, keepLayers: boolean): string {
  return keepLayers ? `${name}@${l}` : name;
}

/** How a plan treats each layer's activations: recomputed in the backward pass, or kept. */
export type Recompute = 'auto' | 'always' | 'never';
export const RECOMPUTE_CHOICES: readonly Recompute[] = ['auto', 'always', 'never'];
/** What recompute 'auto' may spend on keeping every layer's activations: small beside any GPU today. */
export const RECOMPUTE_BUDGET = 256 * 2 ** 20;

/** Whether a plan keeps every layer's activations: 'never' recompute, or 'auto' within RECOMPUTE_BUDGET.
 *  The trainer and the memory planner both decide here. */
export function keepLayersFor(cfg: ModelConfig, s: TrainShape, r: number, dropout: number, recompute: Recompute): boolean {
  return recompute === 'never' || (recompute === 'auto' && keepLayersExtraBytes(cfg, s, r, dropout) <= RECOMPUTE_BUDGET);
}

/**
 * The adapter's u = dropout(x)·Aᵀ [BT, r] of each target, kept in groups of the targets that read the
 * same input (q, k, v; gate, up), one tensor per group with each u at a 256-byte-aligned stride: one
 * batched launch writes a whole group (Projection.adapterInputs). (Every other activation has a buffer of
 * its own; a group is safe in one buffer because no launch writes one of its u's while reading another.)
 */
export const U_GROUPS: readonly { name: string; targets: readonly LoraTarget[] }[] = [
  { name: 'u_qkv', targets: ['q_proj', 'k_proj', 'v_proj'] },
  { name: 'u_o', targets: ['o_proj'] },
  { name: 'u_gate_up', targets: ['gate_proj', 'up_proj'] },
  { name: 'u_down', targets: ['down_proj'] },
];

/** Elements between consecutive u's of a group. */
function uStride(BT: number, r: number): number {
  return alignUp(BT * r * 4, 256) / 4;
}

function groupOf(t: LoraTarget): (typeof U_GROUPS)[number] {
  return U_GROUPS.find((g) => g.targets.includes(t))!;
}

function uView(group: Tensor, t: LoraTarget, BT: number, r: number): Tensor {
  const i = groupOf(t).targets.indexOf(t);
  return { ...group, name: `${group.name}[${t}]`, offset: group.offset + 4 * i * uStride(BT, r), bytes: 4 * BT * r, shape: [BT, r] };
}

/** Activations and gradients one plan allocates (the planner uses the same list). */
export function trainActivationSpecs(cfg: ModelConfig, s: TrainShape, r: number, dropout = 0, keepLayers = false): TensorSpec[] {
  const { C, I, NH, NKV, HS, L, V } = cfg;
  const BT = s.B * s.T;
  const specs: TensorSpec[] = [
    { name: 'ids', shape: [BT], dtype: 'u32' },
    { name: 'rows', shape: [s.N], dtype: 'u32' },
    { name: 'targets', shape: [s.N], dtype: 'u32' },
  ];
  for (let l = 0; l <= L; l++) specs.push({ name: `x${l}`, shape: [BT, C] }); // residual entering layer l (x_L: final)
  // What the backward pass of a layer reads: one set, recomputed per layer (keepLayers false), or
  // one set per layer kept from the forward pass (keepLayers true: no recomputation).
  const saved: TensorSpec[] = [
    { name: 'h1', shape: [BT, C] }, { name: 'rstd1', shape: [BT] },
    { name: 'q', shape: [BT, NH * HS] }, { name: 'k', shape: [BT, NKV * HS] }, { name: 'v', shape: [BT, NKV * HS] },
    { name: 'qr', shape: [BT, NH * HS] }, { name: 'kr', shape: [BT, NKV * HS] }, // after q/k norm and RoPE
    { name: 'rstdq', shape: [BT * NH] }, { name: 'rstdk', shape: [BT * NKV] },
    { name: 'att', shape: [BT, NH * HS] }, { name: 'lse', shape: [s.B * NH * s.T] },
    { name: 'xmid', shape: [BT, C] }, { name: 'h2', shape: [BT, C] }, { name: 'rstd2', shape: [BT] },
    { name: 'gate', shape: [BT, I] }, { name: 'up', shape: [BT, I] }, { name: 'act', shape: [BT, I] },
  ];
  if (r) for (const g of U_GROUPS) saved.push({ name: g.name, shape: [g.targets.length * uStride(BT, r)] });
  for (let l = 0; l < (keepLayers ? L : 1); l++) specs.push(...saved.map((x) => ({ ...x, name: savedName(x.name, l, keepLayers) })));
  specs.push(
    // gradients
    { name: 'dx', shape: [BT, C] }, { name: 'dh', shape: [BT, C] },
    { name: 'dact', shape: [BT, I] }, { name: 'dgate', shape: [BT, I] }, { name: 'dup', shape: [BT, I] },
    { name: 'datt', shape: [BT, NH * HS] }, { name: 'dq', shape: [BT, NH * HS] }, { name: 'dk', shape: [BT, NKV * HS] }, { name: 'dv', shape: [BT, NKV * HS] },
    { name: 'dqn', shape: [BT, NH * HS] }, { name: 'dkn', shape: [BT, NKV * HS] }, { name: 'D', shape: [s.B * NH * s.T] },
    // the loss head
    { name: 'sel', shape: [s.N, C] }, { name: 'hsel', shape: [s.N, C] }, { name: 'rstdsel', shape: [s.N] },
    { name: 'dhsel', shape: [s.N, C] }, { name: 'dsel', shape: [s.N, C] },
    // one pass's logits; without dW crossEntropy also gathers the [N, C] target rows into it at the end
    { name: 'ce_logits', shape: [s.N, Math.max(Math.min(V, CE_CHUNK), C)] },
    { name: 'ce_stats', shape: [s.N, 4] }, { name: 'ce_rowloss', shape: [s.N] }, { name: 'ce_loss', shape: [1] }, { name: 'ce_count', shape: [2] },
  );
  specs.push({ name: 'ones', shape: [BT] }, { name: 'emb_uniq', shape: [BT], dtype: 'u32' }, { name: 'emb_off', shape: [BT + 1], dtype: 'u32' }, { name: 'emb_pos', shape: [BT], dtype: 'u32' });
  if (r) {
    specs.push({ name: 'du', shape: [BT, r] });
    if (dropout > 0) {
      const widest = Math.max(C, I, NH * HS);
      specs.push({ name: 'xdrop', shape: [BT, widest] }, { name: 'dxdrop', shape: [BT, widest] });
    }
  }
  return specs;
}

export class TrainPlan {
  private dispatches: Dispatch[] = [];
  /** Scalar loss (mean over trained positions) after run(). */
  loss!: Tensor;
  /** Full fine-tuning: the embedding scatter-add, whose count of distinct tokens changes per batch. */
  private embedBack: Dispatch | null = null;
  /** LoRA dropout launches and their (layer, target) keys: reseeded every micro-batch. */
  private dropouts: { d: Dispatch; key: number }[] = [];

  private constructor(
    private readonly gpu: Gpu,
    readonly cfg: ModelConfig,
    readonly shape: TrainShape,
    readonly acts: Arena,
  ) {}

  static async build(gpu: Gpu, cfg: ModelConfig, w: ModelWeights, lora: LoraWeights | null, grads: LoraWeights | null, rope: Tensor, shape: TrainShape, full: FullGrads | null = null, dropout = 0, keepLayers = false): Promise<TrainPlan> {
    const { C, L, eps } = cfg;
    const { B, T, N } = shape;
    const BT = B * T;
    const r = lora?.r ?? 0;
    const acts = Arena.create(gpu, `training ${B}×${T}`, trainActivationSpecs(cfg, shape, r, dropout, keepLayers), 'activations');
    const plan = new TrainPlan(gpu, cfg, shape, acts);
    const a = (n: string) => acts.get(n);
    // A layer's saved activations: shared and recomputed in the backward pass, or kept per layer.
    const sv = (l: number, n: string) => a(savedName(n, l, keepLayers));
    const add = (d: Dispatch | Dispatch[]) => plan.dispatches.push(...(Array.isArray(d) ? d : [d]));
    const project = projection({
      gpu, cfg, w, lora, rows: BT, add,
      u: (l, t) => uView(sv(l, groupOf(t).name), t, BT, r),
      grads, full, du: r ? a('du') : undefined, ones: a('ones'),
      dropout: dropout > 0 && r ? { p: dropout, x: a('xdrop'), dx: a('dxdrop'), onLaunch: (d, key) => plan.dropouts.push({ d, key }) } : undefined,
    });
    const ctx = { gpu, cfg, w, rope, B, T, project, add };
    const saved = (l: number, xout: Tensor | null): LayerTensors => ({
      xin: a(`x${l}`), xmid: sv(l, 'xmid'), xout,
      h1: sv(l, 'h1'), rstd1: sv(l, 'rstd1'), q: sv(l, 'q'), k: sv(l, 'k'), v: sv(l, 'v'),
      qr: sv(l, 'qr'), kr: sv(l, 'kr'), rstdq: sv(l, 'rstdq'), rstdk: sv(l, 'rstdk'), att: sv(l, 'att'), lse: sv(l, 'lse'),
      h2: sv(l, 'h2'), rstd2: sv(l, 'rstd2'), gate: sv(l, 'gate'), up: sv(l, 'up'), act: sv(l, 'act'),
    });
    const g: LayerGrads = {
      dx: a('dx'), dh: a('dh'), dact: a('dact'), dgate: a('dgate'), dup: a('dup'), datt: a('datt'),
      dqn: a('dqn'), dkn: a('dkn'), dv: a('dv'), D: a('D'), dq: a('dq'), dk: a('dk'),
    };

    // Forward: the residual stream entering every layer is kept; the rest is recomputed later, or kept too.
    add(await embeddingForward(gpu, a('x0'), a('ids'), w.embed, BT)); //                        x0 = embed[ids]
    for (let l = 0; l < L; l++) await layerForward(ctx, l, saved(l, a(`x${l + 1}`)));

    // Loss on the trained rows only: gather, final norm, chunked cross-entropy → dhsel.
    add(await gatherRows(gpu, a('sel'), a(`x${L}`), a('rows'), N, C));
    add(await rmsnormForward(gpu, a('hsel'), a('rstdsel'), a('sel'), w.norm, N, C, eps));
    const ce = await crossEntropy(gpu, { h: a('hsel'), W: w.lmHead, targets: a('targets'), N, chunk: CE_CHUNK, dh: a('dhsel'), dW: full ? full.lmHead ?? full.embed : undefined, logits: a('ce_logits'), stats: a('ce_stats'), rowLoss: a('ce_rowloss'), loss: a('ce_loss'), count: a('ce_count') });
    add(ce.dispatches);
    plan.loss = ce.loss;
    add(await rmsnormBackward(gpu, a('dsel'), a('dhsel'), a('sel'), w.norm, a('rstdsel'), N, C, false));
    if (full) add(await rmsnormBackwardWeight(gpu, full.norm, a('dhsel'), a('sel'), a('rstdsel'), N, C));
    // dx = 0 except on the trained rows (record() clears it first).
    add(await scatterRowsIdx(gpu, a('dx'), a('dsel'), a('rows'), N, C));

    // Backward, last layer first: each layer recomputed from its input (unless kept), then undone line by line.
    for (let l = L - 1; l >= 0; l--) {
      if (!keepLayers) await layerForward(ctx, l, saved(l, null));
      await layerBackward(ctx, l, saved(l, null), g, full);
    }
    if (full) {
      // undoes x0 = embed[ids]: each distinct token's rows summed into its embedding row
      plan.embedBack = await embeddingBackward(gpu, full.embed, a('dx'), a('emb_uniq'), a('emb_off'), a('emb_pos'), 1, C, BT);
      add(plan.embedBack);
      gpu.write(a('ones'), new Float32Array(BT).fill(1));
    }
    return plan;
  }

  /** Write the batch, record the step's dispatches into `encoder` (not submitted). */
  write(ids: Uint32Array, rows: Uint32Array, targets: Uint32Array): void {
    const { B, T, N } = this.shape;
    if (ids.length !== B * T || rows.length !== N || targets.length !== N) throw new ShapeError(`training batch does not fit the ${B}×${T} plan with ${N} trained positions`);
    const gpu = this.gpu;
    gpu.write(this.acts.get('ids'), ids);
    gpu.write(this.acts.get('rows'), rows);
    gpu.write(this.acts.get('targets'), targets);
    if (this.embedBack) {
      // CSR of token positions: uniq[u], its rows pos[off[u] .. off[u+1]]
      const byId = new Map<number, number[]>();
      ids.forEach((id, r) => (byId.get(id) ?? byId.set(id, []).get(id)!).push(r));
      const uniq = [...byId.keys()];
      const off = new Uint32Array(B * T + 1);
      const pos = new Uint32Array(B * T);
      let k = 0;
      uniq.forEach((id, u) => {
        off[u] = k;
        for (const r of byId.get(id)!) pos[k++] = r;
      });
      off[uniq.length] = k;
      const padded = new Uint32Array(B * T);
      padded.set(uniq);
      gpu.write(this.acts.get('emb_uniq'), padded);
      gpu.write(this.acts.get('emb_off'), off);
      gpu.write(this.acts.get('emb_pos'), pos);
      gpu.device.queue.writeBuffer(this.embedBack.uniform!, 0, new Uint32Array([uniq.length]));
    }
  }

  /** A new dropout mask for the next micro-batch (same seed → same masks). */
  setDropoutSeed(seed: number): void {
    for (const { d, key } of this.dropouts) setDropoutSeed(this.gpu, d, Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + key * 0x27d4eb2f);
  }

  record(encoder: GPUCommandEncoder): void {
    // dx = 0 except on the trained rows, which the loss head scatters in: cleared on the GPU, not uploaded.
    const dx = this.acts.get('dx');
    encoder.clearBuffer(dx.buffer, dx.offset, dx.bytes);
    record(encoder, this.dispatches);
  }

  /** The step's launches in recording order (profiling). */
  get dispatchList(): readonly Dispatch[] {
    return this.dispatches;
  }

  destroy(): void {
    for (const d of this.dispatches) releaseDispatch(this.gpu, d);
    this.dispatches = [];
    this.acts.destroy();
  }
}
