// Float64 CPU reference for shaders/adamw.wgsl: one step of PyTorch's torch.optim.AdamW (decoupled
// weight decay, bias-corrected moments, amsgrad off, maximize off) on a flat tensor, with the
// gradient first multiplied by gradScale (the trainer's global-norm clip factor, 1 = no clipping).
//
//   g = grad · gradScale
//   p ← p − lr·wd·p                                  (decay from the parameter before this step's update)
//   m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
//   p ← p − lr · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + eps)      (t counts steps from 1)

import type { AdamwClippedStep, AdamwStep } from '../../src/kernels/adamw';

export interface AdamwState {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** The state after one step: new arrays, the inputs untouched. */
export function adamwStep(s: AdamwState, grad: ArrayLike<number>, o: AdamwStep): AdamwState {
  const n = s.p.length;
  const p = new Float64Array(n), m = new Float64Array(n), v = new Float64Array(n);
  const bc1 = 1 - o.beta1 ** o.t, bc2 = 1 - o.beta2 ** o.t;
  for (let i = 0; i < n; i++) {
    const g = grad[i] * o.gradScale;
    m[i] = o.beta1 * s.m[i] + (1 - o.beta1) * g;
    v[i] = o.beta2 * s.v[i] + (1 - o.beta2) * g * g;
    const decayed = s.p[i] - o.lr * o.weightDecay * s.p[i];
    p[i] = decayed - (o.lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + o.eps);
  }
  return { p, m, v };
}

/**
 * adamw_step_clipped: the trainer's step with clipping and the NaN/Inf guard found from the
 * accumulated gradient's Σg² (`sumsq`, f64 here) and the micro-batch losses. A non-finite Σg² or
 * loss leaves the state unchanged (skipped: true).
 *   norm = sqrt(sumsq) / micro,  clip = gradClip / norm when gradClip > 0 and norm > gradClip, else 1
 *   then adamwStep with gradScale = clip / micro
 */
export function adamwClippedStep(s: AdamwState, grad: ArrayLike<number>, o: AdamwClippedStep, sumsq: number, losses: ArrayLike<number>): AdamwState & { skipped: boolean } {
  const norm = Math.sqrt(sumsq) / o.micro;
  if (!Number.isFinite(norm) || !Array.from(losses).every(Number.isFinite)) return { p: Float64Array.from(s.p), m: Float64Array.from(s.m), v: Float64Array.from(s.v), skipped: true };
  const clip = o.gradClip > 0 && norm > o.gradClip ? o.gradClip / norm : 1;
  return { ...adamwStep(s, grad, { ...o, gradScale: clip / o.micro }), skipped: false };
}
