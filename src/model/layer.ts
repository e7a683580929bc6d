// One transformer layer (Llama / Qwen2 / Qwen3), forward and backward side by side, as llm.c pairs
// them: the forward is a list of launches, one line per operation; the backward is that list reversed,
// each line naming the line it undoes. Inference (with a KV cache), scoring and training all build their
// layers here; what differs between them is which tensors they pass:
//   - inference works in place: xin, xmid and xout are the one residual stream, h1 and h2 one scratch,
//     and q/k are rotated where they are (qr = q, kr = k) unless Qwen3's q/k norms write new ones;
//   - training keeps what the backward reads (xmid, h1, h2, the unrotated q and k …), once per layer or
//     in one set recomputed per layer in the backward pass.
//
// Letters: B batch, T tokens per row in this pass, BT = B·T, C hidden, NH / NKV heads, HS head size,
// I intermediate, S keys attended to (the KV cache's capacity, or T).

import type { Gpu } from '../gpu/device';
import type { Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { attentionBackward } from '../kernels/attention-backward';
import { attentionForward } from '../kernels/attention';
import { rmsnormBackward, rmsnormBackwardWeight, rmsnormForward } from '../kernels/rmsnorm';
import { ropeBackward, ropeForward } from '../kernels/rope';
import { swigluBackward, swigluForward } from '../kernels/swiglu';
import type { ModelConfig } from './config';
import type { ModelWeights } from './architecture';
import type { FullGrads, Projection } from './projection';

/** What one layer reads and writes. Inference passes the same tensor for names it does in place. */
export interface LayerTensors {
  /** The residual stream entering the layer, after attention, and after the MLP (null: recomputing
   *  for the backward pass, which needs everything up to act but not the layer's output). */
  xin: Tensor;
  xmid: Tensor;
  xout: Tensor | null;
  h1: Tensor; rstd1: Tensor; // attention's normed input
  q: Tensor; k: Tensor; v: Tensor;
  qr: Tensor; kr: Tensor; // q and k as attention reads them: normed (Qwen3) and rotated
  rstdq: Tensor; rstdk: Tensor;
  att: Tensor; lse: Tensor;
  h2: Tensor; rstd2: Tensor; // the MLP's normed input
  gate: Tensor; up: Tensor; act: Tensor;
}

export interface LayerContext {
  gpu: Gpu;
  cfg: ModelConfig;
  w: ModelWeights;
  /** The RoPE cos/sin table. */
  rope: Tensor;
  B: number;
  T: number;
  project: Projection;
  add(d: Dispatch | Dispatch[]): void;
  /** Inference with a KV cache: append this pass's keys and values for layer l, return what attention reads. */
  kvCache?: (l: number, k: Tensor, v: Tensor) => Promise<{ keys: Tensor; values: Tensor; S: number }>;
  /** Inference: a launch whose uniform field holds pos0, the tokens already cached (patched per run). */
  atPos0?: (d: Dispatch, field: number) => void;
}

/** Layer l, forward. */
export async function layerForward(c: LayerContext, l: number, x: LayerTensors): Promise<void> {
  const { gpu, cfg, rope, B, T, add, project } = c;
  const { C, I, NH, NKV, HS, eps } = cfg;
  const BT = B * T;
  const Lw = c.w.layers[l];
  add(await rmsnormForward(gpu, x.h1, x.rstd1, x.xin, Lw.attnNorm, BT, C, eps)); //              h1 = norm(x)
  await project.adapterInputs(l, ['q_proj', 'k_proj', 'v_proj'], x.h1); //                          u_q, u_k, u_v = h1·Aᵀ (LoRA)
  await project.forward(l, 'q_proj', x.q, x.h1, false); //                                          q = h1·Wqᵀ
  await project.forward(l, 'k_proj', x.k, x.h1, false); //                                          k = h1·Wkᵀ
  await project.forward(l, 'v_proj', x.v, x.h1, false); //                                          v = h1·Wvᵀ
  let qin = x.q, kin = x.k; //                                                                      what RoPE reads
  if (Lw.qNorm && Lw.kNorm) {
    add(await rmsnormForward(gpu, x.qr, x.rstdq, x.q, Lw.qNorm, BT * NH, HS, eps)); //              qr = norm(q) (Qwen3, per head)
    add(await rmsnormForward(gpu, x.kr, x.rstdk, x.k, Lw.kNorm, BT * NKV, HS, eps)); //             kr = norm(k)
    [qin, kin] = [x.qr, x.kr];
  }
  // In place when qin is qr (normed, or inference's qr = q); otherwise read q, write qr, no copy first.
  const rq = await ropeForward(gpu, x.qr, qin, rope, BT, NH, HS, T); //                             qr = rope(qin)
  const rk = await ropeForward(gpu, x.kr, kin, rope, BT, NKV, HS, T); //                            kr = rope(kin)
  add([rq, rk]);
  c.atPos0?.(rq, 4);
  c.atPos0?.(rk, 4);
  const kv = c.kvCache ? await c.kvCache(l, x.kr, x.v) : { keys: x.kr, values: x.v, S: T };
  const at = await attentionForward(gpu, x.att, x.lse, x.qr, kv.keys, kv.values, { B, Tq: T, S: kv.S, NH, NKV, HS, pos0: 0 });
  add(at); //                                                                                       att = softmax(qr·krᵀ)·v
  c.atPos0?.(at, 5);
  // xmid = x + att·Woᵀ: added in place when xmid is x (inference), else with x read as the residual.
  await project.forward(l, 'o_proj', x.xmid, x.att, x.xmid === x.xin, x.xmid === x.xin ? undefined : x.xin);
  add(await rmsnormForward(gpu, x.h2, x.rstd2, x.xmid, Lw.mlpNorm, BT, C, eps)); //               h2 = norm(xmid)
  await project.adapterInputs(l, ['gate_proj', 'up_proj'], x.h2); //                                u_gate, u_up = h2·Aᵀ (LoRA)
  await project.forward(l, 'gate_proj', x.gate, x.h2, false); //                                    gate = h2·Wgᵀ
  await project.forward(l, 'up_proj', x.up, x.h2, false); //                                        up = h2·Wuᵀ
  add(await swigluForward(gpu, x.act, x.gate, x.up, BT * I)); //                                   act = silu(gate)·up
  if (x.xout) {
    // x' = xmid + act·Wdᵀ, in place or with xmid read as the residual.
    await project.forward(l, 'down_proj', x.xout, x.act, x.xout === x.xmid, x.xout === x.xmid ? undefined : x.xmid);
  } else {
    await project.adapterInput(l, 'down_proj', x.act); //                                            (recomputing: only u of act·Wdᵀ's adapter)
  }
}

/** The activation gradients a layer's backward pass works in (overwritten; dx is added into). */
export interface LayerGrads {
  /** d(residual): on entry d x', on exit d xin. */
  dx: Tensor;
  dh: Tensor;
  dact: Tensor; dgate: Tensor; dup: Tensor;
  datt: Tensor;
  /** d qr, d kr (after attention's backward, then un-rotated in place), dv, and attention's row sums D. */
  dqn: Tensor; dkn: Tensor; dv: Tensor; D: Tensor;
  /** d q, d k before Qwen3's q/k norms. */
  dq: Tensor; dk: Tensor;
}

/** Layer l, backward: the forward's lines in reverse. `x` must hold the forward's activations. */
export async function layerBackward(c: LayerContext, l: number, x: LayerTensors, g: LayerGrads, full: FullGrads | null): Promise<void> {
  const { gpu, cfg, rope, B, T, add, project } = c;
  const { C, I, NH, NKV, HS } = cfg;
  const BT = B * T;
  const Lw = c.w.layers[l];
  const Lg = full?.layers[l];
  await project.backward(l, 'down_proj', g.dact, g.dx, x.act, false); //                             undoes x' = xmid + act·Wdᵀ
  add(await swigluBackward(gpu, g.dgate, g.dup, g.dact, x.gate, x.up, BT * I)); //                   undoes act = silu(gate)·up
  await project.backward(l, 'gate_proj', g.dh, g.dgate, x.h2, false); //                             undoes gate = h2·Wgᵀ
  await project.backward(l, 'up_proj', g.dh, g.dup, x.h2, true); //                                  undoes up = h2·Wuᵀ
  if (Lg) add(await rmsnormBackwardWeight(gpu, Lg.mlpNorm, g.dh, x.xmid, x.rstd2, BT, C));
  add(await rmsnormBackward(gpu, g.dx, g.dh, x.xmid, Lw.mlpNorm, x.rstd2, BT, C, true)); //          undoes h2 = norm(xmid); dx is now d xmid
  await project.backward(l, 'o_proj', g.datt, g.dx, x.att, false); //                                undoes xmid = x + att·Woᵀ
  add(await attentionBackward(gpu, g.dqn, g.dkn, g.dv, g.D, g.datt, x.att, x.lse, x.qr, x.kr, x.v, { B, T, NH, NKV, HS })); // undoes att = softmax(qr·krᵀ)·v
  add(await ropeBackward(gpu, g.dqn, rope, BT, NH, HS, T)); //                                        undoes the rotations
  add(await ropeBackward(gpu, g.dkn, rope, BT, NKV, HS, T));
  let dq = g.dqn, dk = g.dkn; //                                                                      (RoPE read q itself: nothing more to undo)
  if (Lw.qNorm && Lw.kNorm) {
    if (Lg) {
      add(await rmsnormBackwardWeight(gpu, Lg.qNorm!, g.dqn, x.q, x.rstdq, BT * NH, HS));
      add(await rmsnormBackwardWeight(gpu, Lg.kNorm!, g.dkn, x.k, x.rstdk, BT * NKV, HS));
    }
    add(await rmsnormBackward(gpu, g.dq, g.dqn, x.q, Lw.qNorm, x.rstdq, BT * NH, HS, false)); //        undoes qr = norm(q)
    add(await rmsnormBackward(gpu, g.dk, g.dkn, x.k, Lw.kNorm, x.rstdk, BT * NKV, HS, false)); //       undoes kr = norm(k)
    [dq, dk] = [g.dq, g.dk];
  }
  await project.backward(l, 'q_proj', g.dh, dq, x.h1, false); //                                      undoes q = h1·Wqᵀ
  await project.backward(l, 'k_proj', g.dh, dk, x.h1, true); //                                       undoes k = h1·Wkᵀ
  await project.backward(l, 'v_proj', g.dh, g.dv, x.h1, true); //                                     undoes v = h1·Wvᵀ
  if (Lg) add(await rmsnormBackwardWeight(gpu, Lg.attnNorm, g.dh, x.xin, x.rstd1, BT, C));
  add(await rmsnormBackward(gpu, g.dx, g.dh, x.xin, Lw.attnNorm, x.rstd1, BT, C, true)); //           undoes h1 = norm(x); dx is now d xin
}
