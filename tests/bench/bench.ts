// `npm run bench`: measured throughput on this machine's adapter. Numbers are printed, never
// asserted (machines are shared and noisy). Every kernel timed here is also checked once against the
// CPU reference on the same inputs, so a fast wrong kernel cannot look good.

import { createDevice, type Gpu } from '../../src/gpu/device';
import { record, releaseDispatch, run, type Dispatch } from '../../src/gpu/dispatch';
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from '../../src/kernels/matmul';
import { firstMismatch } from '../reference/compare';
import * as ref from '../reference/matmul';
import { randomArray } from '../reference/random';
import type { Tensor } from '../../src/gpu/tensor';

/** Run `d` repeatedly in one submission until `minMs` have passed; returns seconds per run. */
async function timeDispatch(gpu: Gpu, d: Dispatch, minMs = 400): Promise<number> {
  await run(gpu, [d]); // warm-up: pipeline and caches
  let reps = 1;
  for (;;) {
    const encoder = gpu.device.createCommandEncoder();
    record(encoder, new Array(reps).fill(d));
    const t0 = performance.now();
    gpu.device.queue.submit([encoder.finish()]);
    await gpu.device.queue.onSubmittedWorkDone();
    const ms = performance.now() - t0;
    if (ms >= minMs || reps >= 4096) return ms / 1000 / reps;
    reps = Math.min(4096, Math.max(reps * 2, Math.ceil((reps * minMs) / Math.max(ms, 1))));
  }
}

async function benchMatmul(gpu: Gpu, sizes: [number, number, number][]): Promise<void> {
  console.log('\nmatmul (f32, tiled 64×64×16), GFLOP/s = 2·M·N·K / time');
  console.log('    M      N      K    forward  bwd-input  bwd-weight');
  for (const [M, N, K] of sizes) {
    const X = randomArray(M * K, 1), W = randomArray(N * K, 2), dY = randomArray(M * N, 3);
    const t = {
      X: gpu.tensor('X', [M, K]), W: gpu.tensor('W', [N, K]), dY: gpu.tensor('dY', [M, N]),
      Y: gpu.tensor('Y', [M, N]), dX: gpu.tensor('dX', [M, K]), dW: gpu.tensor('dW', [N, K]),
    };
    gpu.write(t.X, X);
    gpu.write(t.W, W);
    gpu.write(t.dY, dY);
    const cases: [Dispatch, Tensor, () => Float64Array][] = [
      [await matmulForward(gpu, t.Y, t.X, t.W, M, N, K), t.Y, () => ref.matmulForward(X, W, M, N, K)],
      [await matmulBackwardInput(gpu, t.dX, t.dY, t.W, M, N, K), t.dX, () => ref.matmulBackwardInput(dY, W, M, N, K)],
      [await matmulBackwardWeight(gpu, t.dW, t.dY, t.X, M, N, K), t.dW, () => ref.matmulBackwardWeight(dY, X, M, N, K)],
    ];
    const rates: string[] = [];
    for (const [d, out, want] of cases) {
      const secs = await timeDispatch(gpu, d);
      rates.push(((2 * M * N * K) / secs / 1e9).toFixed(2).padStart(10));
      // Every layout writes with `=`, so the timed repetitions leave the plain product behind.
      if (M * N * K <= 2 ** 27) {
        const bad = firstMismatch(await gpu.read(out), want(), 1e-4, 1e-4);
        if (bad) throw new Error(`${d.label} at ${M}×${N}×${K} is wrong: ${JSON.stringify(bad)}`);
      }
      releaseDispatch(gpu, d);
    }
    console.log(`${String(M).padStart(5)}  ${String(N).padStart(5)}  ${String(K).padStart(5)} ${rates.join(' ')}`);
    for (const x of Object.values(t)) gpu.destroyBuffer(x.buffer);
  }
}

async function main(): Promise<void> {
  const gpu = await createDevice();
  console.log(`entrotune bench — ${new Date().toISOString()}`);
  console.log(`adapter: ${gpu.describe()}`);
  const full = process.argv.includes('--full') || !gpu.adapter.isSoftware;
  const sizes: [number, number, number][] = full
    ? [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [2048, 2048, 2048], [1024, 4864, 896]]
    : [[64, 64, 64], [128, 128, 128], [256, 256, 256], [128, 576, 576]];
  await benchMatmul(gpu, sizes);
  gpu.destroy();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
