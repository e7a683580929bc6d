// Launchers for shaders/matmul.wgsl: the three layouts of a linear layer (y = x·Wᵀ, dX = dY·W,
// dW = dYᵀ·X). Each returns a Dispatch built once and recorded as often as needed.

import type { Gpu } from '../gpu/device';
import { makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { Tensor } from '../gpu/tensor';
import { ceilDiv, entryFor, gridSoftware, needElements, needPositive } from './check';

export interface MatmulOptions {
  /** Independent products along z; each operand advances by its own whole matrix. */
  batch?: number;
  /** `+=` into the output instead of `=` (parameter gradients accumulate). */
  accumulate?: boolean;
  alpha?: number;
}

const TILE = 64;

async function launch(
  gpu: Gpu,
  entry: string,
  [C, A, B]: [Tensor, Tensor, Tensor],
  [R, S, D]: [number, number, number],
  [aSize, bSize]: [number, number],
  o: MatmulOptions,
): Promise<Dispatch> {
  const batch = o.batch ?? 1;
  needPositive(entry, { R, S, D, batch });
  needElements(entry, C, batch * R * S);
  needElements(entry, A, batch * aSize);
  needElements(entry, B, batch * bSize);
  const params = [
    ['u32', R], ['u32', S], ['u32', D],
    ['u32', o.accumulate ? 1 : 0],
    ['f32', o.alpha ?? 1],
    ['u32', aSize], ['u32', bSize], ['u32', R * S],
  ] as const;
  // GPU set: one 64×64 tile per workgroup; software set: one 4×4 block per invocation.
  const grid: [number, number, number] = gpu.kernels === 'software'
    ? [...gridSoftware(gpu.limits.maxComputeWorkgroupsPerDimension, ceilDiv(R, 4) * ceilDiv(S, 4)), batch]
    : [ceilDiv(S, TILE), ceilDiv(R, TILE), batch];
  // 2 FLOPs per multiply-add of C[R,S] = A·B over D; A and B read once, C written (and read when +=).
  const cost = { flops: 2 * batch * R * S * D, bytes: 4 * batch * (aSize + bSize + R * S * (o.accumulate ? 2 : 1)) };
  return makeDispatch(gpu, { shader: 'matmul', entry: entryFor(gpu, entry) }, [C, A, B], params, grid, cost);
}

/** Y[M,N] = X[M,K] · W[N,K]ᵀ */
export async function matmulForward(gpu: Gpu, Y: Tensor, X: Tensor, W: Tensor, M: number, N: number, K: number, o: MatmulOptions = {}): Promise<Dispatch> {
  return launch(gpu, 'matmul_forward', [Y, X, W], [M, N, K], [M * K, N * K], o);
}

/** dX[M,K] = dY[M,N] · W[N,K] */
export async function matmulBackwardInput(gpu: Gpu, dX: Tensor, dY: Tensor, W: Tensor, M: number, N: number, K: number, o: MatmulOptions = {}): Promise<Dispatch> {
  return launch(gpu, 'matmul_backward_input', [dX, dY, W], [M, K, N], [M * N, N * K], o);
}

/** dW[N,K] = dY[M,N]ᵀ · X[M,K]  (pass accumulate: true for gradient accumulation) */
export async function matmulBackwardWeight(gpu: Gpu, dW: Tensor, dY: Tensor, X: Tensor, M: number, N: number, K: number, o: MatmulOptions = {}): Promise<Dispatch> {
  return launch(gpu, 'matmul_backward_weight', [dW, dY, X], [N, K, M], [M * N, M * K], o);
}
