// Launchers for shaders/matmul.wgsl: the three layouts of a linear layer (y = x·Wᵀ, dX = dY·W,
// dW = dYᵀ·X). Each returns a Dispatch built once and recorded as often as needed.

import { ShapeError } from '../errors';
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
  /** Elements between batch items of C, A and B (default: each operand's whole matrix). A stride of 0
   *  repeats an operand for every item; a larger one skips padding between views of one buffer. */
  strides?: { c: number; a: number; b: number };
}

const TILE = 64;
/** The widest side the GPU set's skinny entries take (LoRA ranks up to 16). */
const SKINNY = 16;

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
  const st = o.strides ?? { c: R * S, a: aSize, b: bSize };
  needElements(entry, C, (batch - 1) * st.c + R * S);
  needElements(entry, A, (batch - 1) * st.a + aSize);
  needElements(entry, B, (batch - 1) * st.b + bSize);
  if (batch > 1 && st.c < R * S) throw new ShapeError(`${entry}: batch items of ${C.name} overlap (stride ${st.c} < ${R * S})`);
  const params = [
    ['u32', R], ['u32', S], ['u32', D],
    ['u32', o.accumulate ? 1 : 0],
    ['f32', o.alpha ?? 1],
    ['u32', st.a], ['u32', st.b], ['u32', st.c],
  ] as const;
  // 2 FLOPs per multiply-add of C[R,S] = A·B over D; A and B read once (an operand repeated with stride 0
  // once in all), C written (and read when +=).
  const reads = (size: number, stride: number) => (stride === 0 ? size : batch * size);
  const cost = { flops: 2 * batch * R * S * D, bytes: 4 * (reads(aSize, st.a) + reads(bSize, st.b) + batch * R * S * (o.accumulate ? 2 : 1)) };
  // Software set: one 4×4 block per invocation.
  if (gpu.kernels === 'software') {
    const grid = gridSoftware(gpu.limits.maxComputeWorkgroupsPerDimension, ceilDiv(R, 4) * ceilDiv(S, 4));
    return makeDispatch(gpu, { shader: 'matmul', entry: entryFor(gpu, entry) }, [C, A, B], params, [...grid, batch], cost);
  }
  // GPU set: a side at most SKINNY wide (a LoRA rank) gets workgroups of 16 wide outputs × that side;
  // anything else one 64×64 tile per workgroup.
  if (S <= SKINNY || R <= SKINNY) {
    const narrowRows = S > SKINNY;
    const key = { shader: 'matmul', entry: `${entry}_skinny`, constants: { NARROW_ROWS: narrowRows ? 1 : 0 } };
    return makeDispatch(gpu, key, [C, A, B], params, [ceilDiv(narrowRows ? S : R, 16), 1, batch], cost);
  }
  return makeDispatch(gpu, { shader: 'matmul', entry }, [C, A, B], params, [ceilDiv(S, TILE), ceilDiv(R, TILE), batch], cost);
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
