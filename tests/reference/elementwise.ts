// Float64 CPU references for shaders/elementwise.wgsl.

export function addForward(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => a[i] + b[i]);
}

export function scaleForward(a: ArrayLike<number>, alpha: number): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => alpha * a[i]);
}

export function axpyForward(out: ArrayLike<number>, a: ArrayLike<number>, alpha: number): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => out[i] + alpha * a[i]);
}
