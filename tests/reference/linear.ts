// Float64 CPU reference for shaders/linear.wgsl: the products of matmul.wgsl over a weight that was
// dequantised first (quantize.ts's loadedWeights), plus the bias. The loops live once, in matmul.ts.

import { matmulBackwardInput, matmulForward } from './matmul';

/** Y[M,N] = X[M,K]·Wᵀ + bias */
export function linearForward(X: ArrayLike<number>, W: ArrayLike<number>, bias: ArrayLike<number> | null, M: number, N: number, K: number): Float64Array {
  const Y = matmulForward(X, W, M, N, K);
  if (bias) for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) Y[m * N + n] += bias[n];
  return Y;
}

/** dX[M,K] = dY[M,N] · W[N,K] (the gradient of Y = X·Wᵀ to X): matmul_backward_input's product. */
export const linearBackwardInput = matmulBackwardInput;
