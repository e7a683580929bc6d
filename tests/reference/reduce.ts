// Float64 CPU reference for shaders/reduce.wgsl: sum, sum of squares and L2 norm.

export function reduceForward(x: ArrayLike<number>, op: 'sum' | 'sumsq' | 'norm'): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += op === 'sum' ? x[i] : x[i] * x[i];
  return op === 'norm' ? Math.sqrt(s) : s;
}
