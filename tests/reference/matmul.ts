// Float64 CPU references for shaders/matmul.wgsl. Plain loops; the spec, not the fast path.

/** Y[M,N] = X[M,K] · W[N,K]ᵀ */
export function matmulForward(X: ArrayLike<number>, W: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  const Y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += X[m * K + k] * W[n * K + k];
      Y[m * N + n] = s;
    }
  }
  return Y;
}

/** dX[M,K] = dY[M,N] · W[N,K] */
export function matmulBackwardInput(dY: ArrayLike<number>, W: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  const dX = new Float64Array(M * K);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dY[m * N + n] * W[n * K + k];
      dX[m * K + k] = s;
    }
  }
  return dX;
}

/** dW[N,K] = dY[M,N]ᵀ · X[M,K] */
export function matmulBackwardWeight(dY: ArrayLike<number>, X: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  const dW = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let m = 0; m < M; m++) s += dY[m * N + n] * X[m * K + k];
      dW[n * K + k] = s;
    }
  }
  return dW;
}
