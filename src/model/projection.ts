// The seven projections of a layer (q, k, v, o, gate, up, down), forward and backward: the base weight
// (f32, int8 or NF4, with its bias) plus the LoRA adapter when there is one,
//   y (=|+=) x·Wᵀ + b + s·(dropout(x)·Aᵀ)·Bᵀ,     s = alpha / r.
// Inference and training build their projections here; training adds the backward (gradients into
// the adapter, or into every weight for full fine-tuning) and LoRA dropout.

import type { Gpu } from '../gpu/device';
import type { Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { dropoutBackward, dropoutForward } from '../kernels/dropout';
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from '../kernels/matmul';
import { linearBackwardInput, linearForward } from '../kernels/linear';
import type { ModelConfig } from './config';
import { LORA_TARGETS, projectionShape, type LoraPair, type LoraTarget, type LoraWeights, type ModelWeights } from './architecture';

/** Gradients of every base weight, for full fine-tuning of small unquantised models (+=). */
export interface FullGrads {
  /** [V, C]; also receives the lm_head's gradient when the embeddings are tied. */
  embed: Tensor;
  lmHead: Tensor | null;
  norm: Tensor;
  layers: (Record<LoraTarget, Tensor> & { attnNorm: Tensor; mlpNorm: Tensor; qNorm: Tensor | null; kNorm: Tensor | null; bias: Partial<Record<LoraTarget, Tensor>> })[];
}

export interface Projection {
  /** y (=|+=) x·Wᵀ + b (+ LoRA) for projection t of layer l; with `residual` (not accumulating),
   *  y = residual + x·Wᵀ + b (+ LoRA): a residual stream's add without copying it into y first. */
  forward(l: number, t: LoraTarget, y: Tensor, x: Tensor, accumulate: boolean, residual?: Tensor): Promise<void>;
  /** Only the adapter's u = dropout(x)·Aᵀ (what the backward pass reads), when recomputing a layer. */
  adapterInput(l: number, t: LoraTarget, x: Tensor): Promise<void>;
  /**
   * u = x·Aᵀ for several targets that read the same x (q, k, v; gate, up) in one batched launch, when
   * their A's and u's lie evenly spaced in one buffer each (the trainer's flat adapter and plan) and there
   * is no dropout (a mask per target); their `forward` then skips its own. Otherwise it does nothing and
   * each `forward` computes its u as usual.
   */
  adapterInputs(l: number, ts: readonly LoraTarget[], x: Tensor): Promise<void>;
  /** Undoes `forward`: dx (=|+=) dy·W (+ LoRA), and the gradients of whatever is trained. */
  backward(l: number, t: LoraTarget, dx: Tensor, dy: Tensor, x: Tensor, accumulate: boolean): Promise<void>;
}

export interface ProjectionOptions {
  gpu: Gpu;
  cfg: ModelConfig;
  w: ModelWeights;
  lora: LoraWeights | null;
  /** Rows of x (B·T). */
  rows: number;
  add(d: Dispatch | Dispatch[]): void;
  /** Where u = dropout(x)·Aᵀ of (l, t) lives: one scratch for inference, one per target for training. */
  u(l: number, t: LoraTarget): Tensor;
  // ---- training only ----
  /** The adapter's gradients (same layout as `lora`). */
  grads?: LoraWeights | null;
  /** Full fine-tuning: every weight's gradient. */
  full?: FullGrads | null;
  /** LoRA dropout probability on the adapter's input (0 = none) and its scratch. */
  dropout?: { p: number; x: Tensor; dx: Tensor; onLaunch(d: Dispatch, key: number): void };
  /** du = s·dy·B [rows, r]. */
  du?: Tensor;
  /** [rows] of ones: db = Σ_rows dy as a matmul. */
  ones?: Tensor;
}

const TARGET_INDEX = Object.fromEntries(LORA_TARGETS.map((t, i) => [t, i])) as Record<LoraTarget, number>;

/** Elements between consecutive views of one buffer, each the same size and evenly spaced; else null. */
function evenStride(views: readonly Tensor[]): number | null {
  const step = views.length > 1 ? views[1].offset - views[0].offset : 0;
  const even = views.every((v, i) => v.buffer === views[0].buffer && v.bytes === views[0].bytes && v.offset === views[0].offset + i * step);
  return even && step >= views[0].bytes && step % 4 === 0 ? step / 4 : null;
}

/** A dropout mask is keyed by (layer, target): recomputing it in the backward pass gives the same mask.
 *  (8 slots per layer, one more than the targets: the keys, and so the masks, of every run so far.) */
export function dropoutKey(l: number, t: LoraTarget): number {
  return l * 8 + TARGET_INDEX[t];
}

export function projection(o: ProjectionOptions): Projection {
  const { gpu, cfg, w, lora, rows: BT, add } = o;
  const r = lora?.r ?? 0;
  const p = o.dropout?.p ?? 0;
  const pair = (l: number, t: LoraTarget): LoraPair | null => lora?.layers[l]?.[t] ?? null;

  // dropout(x) on the adapter's input (x itself when p = 0).
  const dropped = async (l: number, t: LoraTarget, x: Tensor, K: number): Promise<Tensor> => {
    if (!(p > 0)) return x;
    const d = await dropoutForward(gpu, o.dropout!.x, x, BT * K, p, 0);
    o.dropout!.onLaunch(d, dropoutKey(l, t));
    add(d);
    return o.dropout!.x;
  };

  const adapterInput = async (l: number, t: LoraTarget, x: Tensor) => {
    const P = pair(l, t);
    if (!P) return;
    const { in: K } = projectionShape(cfg, t);
    const xd = await dropped(l, t, x, K); //                                                   dropout(x)
    add(await matmulForward(gpu, o.u(l, t), xd, P.A, BT, r, K)); //                           u = dropout(x)·Aᵀ
  };

  // (layer, target) pairs whose u adapterInputs already wrote for the next forward.
  const ready = new Set<number>();

  return {
    adapterInput,

    async adapterInputs(l, ts, x) {
      // Otherwise each forward computes its own u (inference shares one u scratch, so it always does).
      const As = ts.map((t) => pair(l, t)?.A);
      const K = projectionShape(cfg, ts[0]).in;
      if (ts.length < 2 || p > 0 || !As.every((A) => A) || ts.some((t) => projectionShape(cfg, t).in !== K)) return;
      const us = ts.map((t) => o.u(l, t));
      const sa = evenStride(As as Tensor[]);
      const su = evenStride(us);
      if (sa === null || su === null) return;
      const n = ts.length;
      const span = (first: Tensor, stride: number, size: number): Tensor => ({ ...first, bytes: 4 * ((n - 1) * stride + size) });
      add(await matmulForward(gpu, span(us[0], su, BT * r), x, span(As[0]!, sa, r * K), BT, r, K, { batch: n, strides: { c: su, a: 0, b: sa } })); // u_t = x·A_tᵀ for every t
      for (const t of ts) ready.add(dropoutKey(l, t));
    },

    async forward(l, t, y, x, accumulate, residual) {
      const P = pair(l, t);
      if (P && !ready.delete(dropoutKey(l, t))) await adapterInput(l, t, x); //               u = dropout(x)·Aᵀ first: the
      const adapter = P ? { a: o.u(l, t), b: P.B, r, scale: lora!.scale } : undefined; //     base launch adds s·u·Bᵀ
      // (A residual goes to o_proj and down_proj, which have no bias in any supported architecture:
      // config.ts refuses attention_bias; linear_forward refuses a bias with a residual, naming the weight.)
      add(await linearForward(gpu, y, x, w.layers[l][t], BT, { accumulate, adapter, residual })); // y (=|+=) [residual +] x·Wᵀ + b + s·u·Bᵀ
    },

    // dB += s·dyᵀ·u, du = s·dy·B, dA += duᵀ·dropout(x), dx (=|+=) dy·W + mask ⊙ du·A; full: dW += dyᵀ·x, db += Σ dy.
    async backward(l, t, dx, dy, x, accumulate) {
      const { out: N, in: K } = projectionShape(cfg, t);
      const W = w.layers[l][t];
      if (o.full) {
        add(await matmulBackwardWeight(gpu, o.full.layers[l][t], dy, x, BT, N, K, { accumulate: true })); // dW += dyᵀ·x
        const gb = o.full.layers[l].bias[t];
        if (gb) add(await matmulBackwardWeight(gpu, gb, dy, o.ones!, BT, N, 1, { accumulate: true })); //   db += Σ_rows dy
      }
      const P = pair(l, t);
      const G = o.grads?.layers[l]?.[t];
      if (!P || !G) {
        add(await linearBackwardInput(gpu, dx, dy, W, BT, { accumulate })); //                dx (=|+=) dy·W
        return;
      }
      const du = o.du!;
      add(await matmulBackwardWeight(gpu, G.B, dy, o.u(l, t), BT, N, r, { accumulate: true, alpha: lora!.scale })); // dB += s·dyᵀ·u
      add(await matmulBackwardInput(gpu, du, dy, P.B, BT, N, r, { alpha: lora!.scale })); //                        du = s·dy·B
      if (p > 0) {
        add(await linearBackwardInput(gpu, dx, dy, W, BT, { accumulate })); //                dx (=|+=) dy·W
        const xd = await dropped(l, t, x, K); //                                              the forward's mask, recomputed
        add(await matmulBackwardWeight(gpu, G.A, du, xd, BT, r, K, { accumulate: true })); //                    dA += duᵀ·dropout(x)
        add(await matmulBackwardInput(gpu, o.dropout!.dx, du, P.A, BT, r, K)); //                                 g = du·A
        const db = await dropoutBackward(gpu, dx, o.dropout!.dx, BT * K, p, 0); //                               dx += mask ⊙ g
        o.dropout!.onLaunch(db, dropoutKey(l, t));
        add(db);
      } else {
        add(await matmulBackwardWeight(gpu, G.A, du, x, BT, r, K, { accumulate: true })); //                      dA += duᵀ·x
        add(await linearBackwardInput(gpu, dx, dy, W, BT, { accumulate, adapter: { a: du, b: P.A, r, scale: 1 } })); // dx (=|+=) dy·W + du·A
      }
    },
  };
}
