// Float64 CPU reference for shaders/entropy.wgsl.

/** Entropy (nats), log-sum-exp, argmax (lowest index on ties) and max of one row of logits. */
export function entropyForward(x: ArrayLike<number>): { H: number; lse: number; argmax: number; max: number } {
  let max = -Infinity, argmax = 0;
  for (let v = 0; v < x.length; v++) if (x[v] > max) { max = x[v]; argmax = v; }
  let z = 0;
  for (let v = 0; v < x.length; v++) z += Math.exp(x[v] - max);
  const lse = max + Math.log(z);
  let H = 0;
  for (let v = 0; v < x.length; v++) { const lp = x[v] - lse; H -= Math.exp(lp) * lp; }
  return { H, lse, argmax, max };
}
