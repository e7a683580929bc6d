// One LoRA training step's GPU work for a fixed batch shape, as a plan: forward, loss over the
// trained positions (chunked cross-entropy, never [B,T,V] logits), and the hand-written backward,
// with activations either recomputed per layer (only the residual stream entering each layer is kept)
// or kept for every layer from the forward pass (keepLayers: no recomputation; see recomputeLayers).
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
import { numel, type Tensor } from '../gpu/tensor';
import { attentionBackward } from '../kernels/attention-backward';
import { scaleForward } from '../kernels/elementwise';
import { attentionForward, gatherRows, rmsnormBackward, rmsnormBackwardWeight, rmsnormForward, ropeBackward, ropeForward, scatterRowsIdx, swigluBackward, swigluForward } from '../kernels/layers';
import { crossEntropy } from '../kernels/loss';
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from '../kernels/matmul';
import { dropoutBackward, dropoutForward, setDropoutSeed } from '../kernels/dropout';
import { embeddingBackward, embeddingForward, linearBackwardInput, linearForward } from '../kernels/qweight';
import type { ModelConfig } from '../model/config';
import { LORA_TARGETS, projectionShape, type LoraPair, type LoraTarget, type LoraWeights, type ModelWeights } from '../model/llama';

const LORA_TARGET_INDEX = Object.fromEntries(LORA_TARGETS.map((t, i) => [t, i])) as Record<LoraTarget, number>;

/** Gradients of every base weight, for full fine-tuning of small unquantised models (+=). */
export interface FullGrads {
  /** [V, C]; also receives the lm_head's gradient when the embeddings are tied. */
  embed: Tensor;
  lmHead: Tensor | null;
  norm: Tensor;
  layers: (Record<LoraTarget, Tensor> & { attnNorm: Tensor; mlpNorm: Tensor; qNorm: Tensor | null; kNorm: Tensor | null; bias: Partial<Record<LoraTarget, Tensor>> })[];
}

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
  if (r) for (const t of LORA_TARGETS) saved.push({ name: `u_${t}`, shape: [BT, r] });
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
    { name: 'ce_logits', shape: [s.N, Math.min(V, CE_CHUNK)] },
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

export class LoraTrainPlan {
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

  static async build(gpu: Gpu, cfg: ModelConfig, w: ModelWeights, lora: LoraWeights | null, grads: LoraWeights | null, rope: Tensor, shape: TrainShape, full: FullGrads | null = null, dropout = 0, keepLayers = false): Promise<LoraTrainPlan> {
    const { C, I, NH, NKV, HS, L, eps } = cfg;
    const { B, T, N } = shape;
    const BT = B * T;
    const r = lora?.r ?? 0;
    const acts = Arena.create(gpu, `training ${B}×${T}`, trainActivationSpecs(cfg, shape, r, dropout, keepLayers), 'activations');
    const plan = new LoraTrainPlan(gpu, cfg, shape, acts);
    const a = (n: string) => acts.get(n);
    // A layer's saved activations: shared and recomputed in the backward pass, or kept per layer.
    const keep = keepLayers;
    const sv = (l: number, n: string) => a(savedName(n, l, keep));
    const out = plan.dispatches;
    const add = (d: Dispatch | Dispatch[]) => out.push(...(Array.isArray(d) ? d : [d]));
    const pair = (l: number, t: LoraTarget): [LoraPair, LoraPair] | null => {
      const p = lora?.layers[l]?.[t];
      const g = grads?.layers[l]?.[t];
      return p && g ? [p, g] : null;
    };

    // LoRA dropout on the adapter's input, with a mask keyed by (layer, target): recomputing it in
    // the backward pass gives the same mask.
    const dropKey = (l: number, t: LoraTarget) => l * 8 + (LORA_TARGET_INDEX[t] ?? 0);
    const dropped = async (l: number, t: LoraTarget, x: Tensor, K: number): Promise<Tensor> => {
      if (!(dropout > 0)) return x;
      const d = await dropoutForward(gpu, a('xdrop'), x, BT * K, dropout, 0);
      plan.dropouts.push({ d, key: dropKey(l, t) });
      add(d);
      return a('xdrop');
    };
    // y (=|+=) x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ; keeps u = x·Aᵀ for the backward pass.
    const project = async (l: number, t: LoraTarget, y: Tensor, x: Tensor, accumulate: boolean) => {
      add(await linearForward(gpu, y, x, w.layers[l][t], BT, { accumulate }));
      const p = pair(l, t);
      if (p) {
        const { out: Nn, in: K } = projectionShape(cfg, t);
        const xd = await dropped(l, t, x, K); //                                                dropout(x) (x when p = 0)
        add(await matmulForward(gpu, sv(l, `u_${t}`), xd, p[0].A, BT, r, K)); //                   u = dropout(x)·Aᵀ
        add(await matmulForward(gpu, y, sv(l, `u_${t}`), p[0].B, BT, Nn, r, { accumulate: true, alpha: lora!.scale })); // y += s·u·Bᵀ
      }
    };
    // dx (=|+=) dy·W + LoRA: dB += s·dyᵀ·u, du = s·dy·B, dA += duᵀ·x, dx += du·A. Undoes `project`.
    const projectBack = async (l: number, t: LoraTarget, dx: Tensor, dy: Tensor, x: Tensor, accumulate: boolean) => {
      add(await linearBackwardInput(gpu, dx, dy, w.layers[l][t], BT, { accumulate }));
      if (full) {
        const { out: Nn, in: K } = projectionShape(cfg, t);
        add(await matmulBackwardWeight(gpu, full.layers[l][t], dy, x, BT, Nn, K, { accumulate: true })); //   dW += dyᵀ·x
        const gb = full.layers[l].bias[t];
        if (gb) add(await matmulBackwardWeight(gpu, gb, dy, a('ones'), BT, Nn, 1, { accumulate: true })); //  db += Σ_rows dy
      }
      const p = pair(l, t);
      if (p) {
        const { out: Nn, in: K } = projectionShape(cfg, t);
        const [P, G] = p;
        add(await matmulBackwardWeight(gpu, G.B, dy, sv(l, `u_${t}`), BT, Nn, r, { accumulate: true, alpha: lora!.scale })); // dB += s·dyᵀ·u
        add(await matmulBackwardInput(gpu, a('du'), dy, P.B, BT, Nn, r, { alpha: lora!.scale })); //                du = s·dy·B
        if (dropout > 0) {
          const xd = await dropped(l, t, x, K); //                                              the forward's mask, recomputed
          add(await matmulBackwardWeight(gpu, G.A, a('du'), xd, BT, r, K, { accumulate: true })); //               dA += duᵀ·dropout(x)
          add(await matmulBackwardInput(gpu, a('dxdrop'), a('du'), P.A, BT, r, K)); //                              g = du·A
          const db = await dropoutBackward(gpu, dx, a('dxdrop'), BT * K, dropout, 0); //                           dx += mask ⊙ g
          plan.dropouts.push({ d: db, key: dropKey(l, t) });
          add(db);
        } else {
          add(await matmulBackwardWeight(gpu, G.A, a('du'), x, BT, r, K, { accumulate: true })); //                 dA += duᵀ·x
          add(await matmulBackwardInput(gpu, dx, a('du'), P.A, BT, r, K, { accumulate: true })); //                dx += du·A
        }
      }
    };

    // The forward of layer l from x{l}: everything the backward needs, in the layer scratch (shared, or
    // layer l's own when keeping layers).
    const layerForward = async (l: number, xin: Tensor, xout: Tensor | null) => {
      const Lw = w.layers[l];
      add(await rmsnormForward(gpu, sv(l, 'h1'), sv(l, 'rstd1'), xin, Lw.attnNorm, BT, C, eps)); //   h1 = norm(x)
      await project(l, 'q_proj', sv(l, 'q'), sv(l, 'h1'), false); //                                   q = h1·Wqᵀ
      await project(l, 'k_proj', sv(l, 'k'), sv(l, 'h1'), false); //                                   k = h1·Wkᵀ
      await project(l, 'v_proj', sv(l, 'v'), sv(l, 'h1'), false); //                                   v = h1·Wvᵀ
      if (Lw.qNorm && Lw.kNorm) {
        add(await rmsnormForward(gpu, sv(l, 'qr'), sv(l, 'rstdq'), sv(l, 'q'), Lw.qNorm, BT * NH, HS, eps)); // Qwen3 per-head norms
        add(await rmsnormForward(gpu, sv(l, 'kr'), sv(l, 'rstdk'), sv(l, 'k'), Lw.kNorm, BT * NKV, HS, eps));
      } else {
        add(await scaleForward(gpu, sv(l, 'qr'), sv(l, 'q'), 1, BT * NH * HS)); //                      qr = q (RoPE works in place)
        add(await scaleForward(gpu, sv(l, 'kr'), sv(l, 'k'), 1, BT * NKV * HS));
      }
      add(await ropeForward(gpu, sv(l, 'qr'), rope, BT, NH, HS, T)); //                             rotate
      add(await ropeForward(gpu, sv(l, 'kr'), rope, BT, NKV, HS, T));
      add(await attentionForward(gpu, sv(l, 'att'), sv(l, 'lse'), sv(l, 'qr'), sv(l, 'kr'), sv(l, 'v'), { B, Tq: T, S: T, NH, NKV, HS, pos0: 0 }));
      add(await scaleForward(gpu, sv(l, 'xmid'), xin, 1, BT * C)); //                               xmid = x
      await project(l, 'o_proj', sv(l, 'xmid'), sv(l, 'att'), true); //                                xmid += att·Woᵀ
      add(await rmsnormForward(gpu, sv(l, 'h2'), sv(l, 'rstd2'), sv(l, 'xmid'), Lw.mlpNorm, BT, C, eps)); // h2 = norm(xmid)
      await project(l, 'gate_proj', sv(l, 'gate'), sv(l, 'h2'), false); //                             gate = h2·Wgᵀ
      await project(l, 'up_proj', sv(l, 'up'), sv(l, 'h2'), false); //                                 up = h2·Wuᵀ
      add(await swigluForward(gpu, sv(l, 'act'), sv(l, 'gate'), sv(l, 'up'), BT * I)); //                  act = silu(gate)·up
      if (xout) {
        add(await scaleForward(gpu, xout, sv(l, 'xmid'), 1, BT * C)); //                           x' = xmid
        await project(l, 'down_proj', xout, sv(l, 'act'), true); //                                x' += act·Wdᵀ
      } else if (pair(l, 'down_proj')) {
        // recomputing for the backward pass: only u = act·Aᵀ of the down projection is needed
        const xd = await dropped(l, 'down_proj', sv(l, 'act'), I);
        add(await matmulForward(gpu, sv(l, 'u_down_proj'), xd, pair(l, 'down_proj')![0].A, BT, r, I));
      }
    };

    // Forward: the residual stream entering every layer is kept; the rest is recomputed later, or kept too.
    add(await embeddingForward(gpu, a('x0'), a('ids'), w.embed, BT)); //                        x0 = embed[ids]
    for (let l = 0; l < L; l++) await layerForward(l, a(`x${l}`), a(`x${l + 1}`));

    // Loss on the trained rows only: gather, final norm, chunked cross-entropy → dhsel.
    add(await gatherRows(gpu, a('sel'), a(`x${L}`), a('rows'), N, C));
    add(await rmsnormForward(gpu, a('hsel'), a('rstdsel'), a('sel'), w.norm, N, C, eps));
    const ce = await crossEntropy(gpu, { h: a('hsel'), W: w.lmHead, targets: a('targets'), N, chunk: CE_CHUNK, dh: a('dhsel'), dW: full ? full.lmHead ?? full.embed : undefined, logits: a('ce_logits'), stats: a('ce_stats'), rowLoss: a('ce_rowloss'), loss: a('ce_loss'), count: a('ce_count') });
    add(ce.dispatches);
    plan.loss = ce.loss;
    add(await rmsnormBackward(gpu, a('dsel'), a('dhsel'), a('sel'), w.norm, a('rstdsel'), N, C, false));
    if (full) add(await rmsnormBackwardWeight(gpu, full.norm, a('dhsel'), a('sel'), a('rstdsel'), N, C));
    // dx = 0 except on the trained rows (the zeros are written by run()).
    add(await scatterRowsIdx(gpu, a('dx'), a('dsel'), a('rows'), N, C));

    // Backward, last layer first; each layer is recomputed from its input (unless kept), then undone line by line.
    for (let l = L - 1; l >= 0; l--) {
      const Lw = w.layers[l];
      const xin = a(`x${l}`);
      if (!keep) await layerForward(l, xin, null); //                                         recompute (or read what the forward kept)
      await projectBack(l, 'down_proj', a('dact'), a('dx'), sv(l, 'act'), false); //                undoes x' += act·Wdᵀ
      add(await swigluBackward(gpu, a('dgate'), a('dup'), a('dact'), sv(l, 'gate'), sv(l, 'up'), BT * I)); // undoes act = silu(gate)·up
      await projectBack(l, 'gate_proj', a('dh'), a('dgate'), sv(l, 'h2'), false); //                undoes gate = h2·Wgᵀ
      await projectBack(l, 'up_proj', a('dh'), a('dup'), sv(l, 'h2'), true); //                     undoes up = h2·Wuᵀ
      if (full) add(await rmsnormBackwardWeight(gpu, full.layers[l].mlpNorm, a('dh'), sv(l, 'xmid'), sv(l, 'rstd2'), BT, C));
      add(await rmsnormBackward(gpu, a('dx'), a('dh'), sv(l, 'xmid'), Lw.mlpNorm, sv(l, 'rstd2'), BT, C, true)); // undoes h2 = norm(xmid); dx is now d xmid
      await projectBack(l, 'o_proj', a('datt'), a('dx'), sv(l, 'att'), false); //                   undoes xmid += att·Woᵀ
      add(await attentionBackward(gpu, a('dqn'), a('dkn'), a('dv'), a('D'), a('datt'), sv(l, 'att'), sv(l, 'lse'), sv(l, 'qr'), sv(l, 'kr'), sv(l, 'v'), { B, T, NH, NKV, HS }));
      add(await ropeBackward(gpu, a('dqn'), rope, BT, NH, HS, T)); //                            undoes the rotations
      add(await ropeBackward(gpu, a('dkn'), rope, BT, NKV, HS, T));
      let dq = a('dqn'), dk = a('dkn');
      if (Lw.qNorm && Lw.kNorm) {
        if (full) {
          add(await rmsnormBackwardWeight(gpu, full.layers[l].qNorm!, a('dqn'), sv(l, 'q'), sv(l, 'rstdq'), BT * NH, HS));
          add(await rmsnormBackwardWeight(gpu, full.layers[l].kNorm!, a('dkn'), sv(l, 'k'), sv(l, 'rstdk'), BT * NKV, HS));
        }
        add(await rmsnormBackward(gpu, a('dq'), a('dqn'), sv(l, 'q'), Lw.qNorm, sv(l, 'rstdq'), BT * NH, HS, false)); // undoes the q/k norms
        add(await rmsnormBackward(gpu, a('dk'), a('dkn'), sv(l, 'k'), Lw.kNorm, sv(l, 'rstdk'), BT * NKV, HS, false));
        [dq, dk] = [a('dq'), a('dk')];
      }
      await projectBack(l, 'q_proj', a('dh'), dq, sv(l, 'h1'), false); //                          undoes q, k, v = h1·Wᵀ
      await projectBack(l, 'k_proj', a('dh'), dk, sv(l, 'h1'), true);
      await projectBack(l, 'v_proj', a('dh'), a('dv'), sv(l, 'h1'), true);
      if (full) add(await rmsnormBackwardWeight(gpu, full.layers[l].attnNorm, a('dh'), xin, sv(l, 'rstd1'), BT, C));
      add(await rmsnormBackward(gpu, a('dx'), a('dh'), xin, Lw.attnNorm, sv(l, 'rstd1'), BT, C, true)); // undoes h1 = norm(x); dx is now d x{l}
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
    gpu.write(this.acts.get('dx'), new Float32Array(B * T * this.cfg.C));
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
