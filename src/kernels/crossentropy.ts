// Launchers for shaders/crossentropy.wgsl, and crossEntropy(): the whole loss (and its gradient to
// the final hidden state) over the lm_head in vocabulary passes, so [N, V] logits never exist.
//
// Normalisation: loss = mean of −ln softmax(h·Wᵀ)[target] over the rows whose target is not
// IGNORE_INDEX (PyTorch/HF cross_entropy with ignore_index and reduction 'mean'); gradients are
// scaled by 1/count to match. The count is taken on the GPU from the targets (ce_loss), so the
// dispatches stay valid for any batch whose targets are written into the same tensor. With no valid
// row the loss and the gradient are 0 (not NaN) and count[0] = 0 tells the caller.
//
// Passes: the vocabulary is walked in passes of `chunk` rows, [0, chunk), [chunk, 2·chunk), ...,
// the last one partial. A pass need not line up with the QWeight's own row chunks: linear_forward_rows
// and linear_backward_input take any row range and split it at chunk boundaries (two launches for a
// pass that spans two chunks). The scratch is N·chunk floats. With dW (full fine-tuning) every pass's
// normalised gradient is needed, so the logits are made in a first walk for the statistics and remade
// in a second: three products over the lm_head per step. Without dW (LoRA/QLoRA) dh is accumulated
// flash-attention style in the same walk that makes the logits (ce_online): two products.
import { ShapeError } from '../errors';
import type { Gpu } from '../gpu/device';
import { matmulBackwardWeight } from './matmul';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { entryFor, grid1d, needElements, needPositive, rowGrid } from './check';
import { embeddingForward } from './embedding';
import { linearBackwardInput, linearForwardRows } from './linear';
import type { QWeight } from './quantize';

/** Target of a row without loss (prompt tokens, padding). PyTorch's −100 maps to this on the CPU. */
export const IGNORE_INDEX = 0xffffffff;

/**
 * Online log-sum-exp of one pass: stats [N, 4] (m, s, z, ·) takes in logits [N, Vc] of vocabulary rows
 * [v0, v0 + Vc). The pass with v0 = 0 starts the summary; later passes merge into it.
 */
export async function ceStats(gpu: Gpu, stats: Tensor, logits: Tensor, targets: Tensor, N: number, Vc: number, v0: number): Promise<Dispatch> {
  needPositive('ce_stats', { N, Vc });
  needElements('ce_stats', stats, N * 4);
  needElements('ce_stats', logits, N * Vc);
  needElements('ce_stats', targets, N);
  return makeDispatch(gpu, { shader: 'crossentropy', entry: entryFor(gpu, 'ce_stats') }, [stats, logits, targets], [['u32', N], ['u32', Vc], ['u32', v0]], rowGrid(gpu, N),
    { flops: 3 * N * Vc, bytes: 4 * (N * Vc + 8 * N + N) }); // per logit: max, exp, add; stats read and written
}

/**
 * After the last pass: stats[:, 3] = lse, rowLoss [N] = per-row loss (0 if ignored),
 * loss [1] = mean over valid rows, count [2] = (valid rows, 1 / valid rows).
 */
export async function ceLoss(gpu: Gpu, stats: Tensor, rowLoss: Tensor, loss: Tensor, count: Tensor, targets: Tensor, N: number): Promise<Dispatch> {
  needPositive('ce_loss', { N });
  needElements('ce_loss', stats, N * 4);
  needElements('ce_loss', rowLoss, N);
  needElements('ce_loss', loss, 1);
  needElements('ce_loss', count, 2);
  needElements('ce_loss', targets, N);
  return makeDispatch(gpu, { shader: 'crossentropy', entry: 'ce_loss' }, [stats, rowLoss, loss, count, targets], [['u32', N], ['u32', 0], ['u32', 0]], [1],
    { flops: 4 * N, bytes: 4 * (8 * N + N + N + 3) });
}

/** In place: logits [N, Vc] of rows [v0, v0 + Vc) become ∂loss/∂logits = (softmax − onehot) / count. */
export async function ceBackward(gpu: Gpu, logits: Tensor, stats: Tensor, targets: Tensor, count: Tensor, N: number, Vc: number, v0: number): Promise<Dispatch> {
  needPositive('ce_backward', { N, Vc });
  needElements('ce_backward', logits, N * Vc);
  needElements('ce_backward', stats, N * 4);
  needElements('ce_backward', targets, N);
  needElements('ce_backward', count, 2);
  return makeDispatch(gpu, { shader: 'crossentropy', entry: 'ce_backward' }, [logits, stats, targets, count], [['u32', N], ['u32', Vc], ['u32', v0]], grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, N * Vc),
    { flops: 4 * N * Vc, bytes: 4 * (2 * N * Vc + 4 * N + N + 2) }); // exp(x − lse), − onehot, · 1/count, in place
}

/**
 * One pass of the two-walk flow, in place: logits [N, Vc] of rows [v0, v0 + Vc) become
 * p = exp(x − m_new) (0 for ignored rows), stats [N, 4] takes the pass in (m, s, z; column 3 = the
 * rescale r = exp(m_old − m_new)) and, when v0 > 0, dh [N, C] is multiplied by r row by row.
 */
export async function ceOnline(gpu: Gpu, stats: Tensor, logits: Tensor, targets: Tensor, dh: Tensor, N: number, Vc: number, v0: number, C: number): Promise<Dispatch> {
  needPositive('ce_online', { N, Vc, C });
  needElements('ce_online', stats, N * 4);
  needElements('ce_online', logits, N * Vc);
  needElements('ce_online', targets, N);
  needElements('ce_online', dh, N * C);
  return makeDispatch(gpu, { shader: 'crossentropy', entry: entryFor(gpu, 'ce_online') }, [stats, logits, targets, dh], [['u32', N], ['u32', Vc], ['u32', v0], ['u32', C]], rowGrid(gpu, N),
    // per logit: max, exp, add, read once and written once; dh read and written (rescaled) after the first pass
    { flops: 3 * N * Vc + (v0 > 0 ? N * C : 0), bytes: 4 * (2 * N * Vc + 8 * N + N + (v0 > 0 ? 2 * N * C : 0)) });
}

/** After ce_loss: dh [N, C] = (dh / s − wt) · count[1] per valid row, 0 for ignored rows; wt [N, C] = deq(W)[target]. */
export async function ceFinish(gpu: Gpu, dh: Tensor, wt: Tensor, stats: Tensor, targets: Tensor, count: Tensor, N: number, C: number): Promise<Dispatch> {
  needPositive('ce_finish', { N, C });
  needElements('ce_finish', dh, N * C);
  needElements('ce_finish', wt, N * C);
  needElements('ce_finish', stats, N * 4);
  needElements('ce_finish', targets, N);
  needElements('ce_finish', count, 2);
  return makeDispatch(gpu, { shader: 'crossentropy', entry: 'ce_finish' }, [dh, stats, targets, count, wt], [['u32', N], ['u32', 0], ['u32', 0], ['u32', C]], grid1d(gpu.limits.maxComputeWorkgroupsPerDimension, N * C),
    { flops: 3 * N * C, bytes: 4 * (3 * N * C + 4 * N + N + 2) }); // divide, subtract, scale; dh read and written, wt read
}

export interface CrossEntropyArgs {
  /** [N, C] final-normed hidden states. */
  h: Tensor;
  /** lm_head [V, C], any bits, any row chunks; no bias. */
  W: QWeight;
  /** [N] u32 next-token ids, < V or IGNORE_INDEX. */
  targets: Tensor;
  N: number;
  /** Vocabulary rows per pass. */
  chunk: number;
  /** [N, C] gradient of the loss to h, written (=) when given. */
  dh?: Tensor;
  /** [V, C] f32 gradient of the lm_head, accumulated (+=) when given (full fine-tuning). */
  dW?: Tensor;
  /**
   * Scratch (the big one: the caller plans it): one pass's logits, then their gradient or p, [N, min(chunk, V)];
   * with dh and without dW it also takes the target rows deq(W)[target] [N, C] at the end, so it needs
   * N · max(min(chunk, V), C) elements there.
   */
  logits: Tensor;
  /** [N, 4] running (max, Σ exp, target logit, lse) per row; made here (scratch) when not given. */
  stats?: Tensor;
  /** [N] loss of each row, unscaled (0 for ignored rows); made here when not given. */
  rowLoss?: Tensor;
  /** [1] mean loss over valid rows; made here when not given. */
  loss?: Tensor;
  /** [2] number of valid rows (as f32) and its inverse (0 when there are none); made here when not given. */
  count?: Tensor;
}

export interface CrossEntropyResult {
  /** To be recorded in order into one encoder. */
  dispatches: Dispatch[];
  /** The small tensors, given or made here (the caller frees what was made here). */
  loss: Tensor;
  count: Tensor;
  rowLoss: Tensor;
  stats: Tensor;
}

/**
 * The loss mean(−ln softmax(h·Wᵀ)[target]) over valid rows and, if `dh` is given, dh = ∂loss/∂h,
 * as one sequence of dispatches. Loss only, or with dW (three walks):
 *   walk 1, per pass:  logits = h·W[v0:v0+Vc]ᵀ            (linear_forward_rows)
 *                      stats ⊕= lse summary of logits     (ce_stats)
 *   once:              lse, rowLoss, loss, count          (ce_loss)
 *   walk 2, per pass:  logits = h·W[v0:v0+Vc]ᵀ            (recomputed; only with dh)
 *                      logits = (softmax − onehot)/count  (ce_backward, in place)
 *                      dW[v0:v0+Vc] += logitsᵀ·h          (matmul_backward_weight, only with dW)
 *                      dh (= first pass, += after) logits·W[v0:v0+Vc]   (linear_backward_input)
 * With dh and without dW (two walks, one loop):
 *   per pass:          logits = h·W[v0:v0+Vc]ᵀ            (linear_forward_rows)
 *                      stats ⊕= the pass; logits = exp(logits − m_new); dh ·= exp(m_old − m_new)   (ce_online)
 *                      dh (= first pass, += after) logits·W[v0:v0+Vc]   (linear_backward_input)
 *   once:              lse, rowLoss, loss, count          (ce_loss)
 *                      wt = deq(W)[targets] into the logits scratch      (embedding_forward)
 *                      dh = (dh / s − wt) / count         (ce_finish)
 */
export async function crossEntropy(gpu: Gpu, a: CrossEntropyArgs): Promise<CrossEntropyResult> {
  const { h, W, targets, N, chunk, dh, logits } = a;
  const V = W.N;
  const C = W.K;
  needPositive('cross_entropy', { N, chunk, V, C });
  if (W.bias) throw new ShapeError(`cross_entropy: ${W.name} has a bias; the lm_head has none`);
  const Vmax = Math.min(chunk, V);
  needElements('cross_entropy', h, N * C);
  needElements('cross_entropy', logits, N * Vmax);
  needElements('cross_entropy', targets, N);
  if (dh) {
    needElements('cross_entropy', dh, N * C);
    if (dh.buffer === h.buffer || dh.buffer === logits.buffer) throw new ShapeError(`cross_entropy: ${dh.name} shares a buffer with h or the logits scratch`, 'give dh its own tensor');
  }
  // Without dW, the gathered target rows [N, C] reuse the logits scratch once the last pass is done with it.
  if (dh && !a.dW && logits.bytes < N * C * 4) throw new ShapeError(`cross_entropy: the logits scratch ${logits.name} [${logits.shape}] cannot hold the ${N}×${C} target rows`, 'plan it [N, max(min(chunk, V), C)]');
  if (logits.buffer === h.buffer) throw new ShapeError(`cross_entropy: the logits scratch shares a buffer with ${h.name}`, 'give the logits scratch its own tensor');
  const stats = a.stats ?? gpu.tensor('ce-stats', [N, 4]);
  const rowLoss = a.rowLoss ?? gpu.tensor('ce-rowloss', [N]);
  const loss = a.loss ?? gpu.tensor('ce-loss', [1]);
  const count = a.count ?? gpu.tensor('ce-count', [2]);

  const passes: [number, number][] = [];
  for (let v0 = 0; v0 < V; v0 += Vmax) passes.push([v0, Math.min(Vmax, V - v0)]);

  const ds: Dispatch[] = [];
  if (dh && !a.dW) {
    for (const [v0, Vc] of passes) {
      ds.push(...(await linearForwardRows(gpu, logits, h, W, N, { row0: v0, rows: Vc, ldy: Vc })));
      ds.push(await ceOnline(gpu, stats, logits, targets, dh, N, Vc, v0, C));
      ds.push(...(await linearBackwardInput(gpu, dh, logits, W, N, { row0: v0, rows: Vc, ldy: Vc, accumulate: v0 > 0 })));
    }
    ds.push(await ceLoss(gpu, stats, rowLoss, loss, count, targets, N));
    const wt: Tensor = { ...logits, name: `${logits.name} (target rows)`, bytes: N * C * 4, shape: [N, C] };
    ds.push(...(await embeddingForward(gpu, wt, targets, W, N)));
    ds.push(await ceFinish(gpu, dh, wt, stats, targets, count, N, C));
    return { dispatches: ds, loss, count, rowLoss, stats };
  }
  for (const [v0, Vc] of passes) {
    ds.push(...(await linearForwardRows(gpu, logits, h, W, N, { row0: v0, rows: Vc, ldy: Vc })));
    ds.push(await ceStats(gpu, stats, logits, targets, N, Vc, v0));
  }
  ds.push(await ceLoss(gpu, stats, rowLoss, loss, count, targets, N));
  if (dh) {
    for (const [v0, Vc] of passes) {
      ds.push(...(await linearForwardRows(gpu, logits, h, W, N, { row0: v0, rows: Vc, ldy: Vc })));
      ds.push(await ceBackward(gpu, logits, stats, targets, count, N, Vc, v0));
      if (a.dW) {
        // dW[v0:v0+Vc] += gᵀ·h, on a view of the rows of this pass (offsets must stay 256-byte aligned)
        if ((v0 * C * 4) % 256) throw new ShapeError(`cross_entropy: a pass starting at row ${v0} of a ${C}-wide dW is not 256-byte aligned`, 'use a vocabulary chunk that is a multiple of 64');
        const rows: Tensor = { ...a.dW, name: `${a.dW.name}[${v0}:]`, offset: a.dW.offset + v0 * C * 4, bytes: Vc * C * 4, shape: [Vc, C] };
        ds.push(await matmulBackwardWeight(gpu, rows, logits, h, N, Vc, C, { accumulate: true }));
      }
      ds.push(...(await linearBackwardInput(gpu, dh, logits, W, N, { row0: v0, rows: Vc, ldy: Vc, accumulate: v0 > 0 })));
    }
  }
  return { dispatches: ds, loss, count, rowLoss, stats };
}

