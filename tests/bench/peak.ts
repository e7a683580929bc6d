// The adapter's measured ceilings (shaders/peak.wgsl): f32 FMA throughput and the bandwidth of a plain
// copy kernel, in the same run as the profile they scale. Each result is checked on the CPU, so a
// kernel that skipped its work cannot set a ceiling.

import type { Gpu } from '../../src/gpu/device';
import { makeDispatch, releaseDispatch, type Dispatch } from '../../src/gpu/dispatch';
import type { Tensor } from '../../src/gpu/tensor';
import { timeEach } from './profile';

export interface Peak {
  /** f32 FMA peak, GFLOP/s (a multiply-add counts 2). */
  gflops: number;
  /** Copy bandwidth, GB/s (bytes read + bytes written). */
  gbps: number;
  source: 'timestamp-query' | 'host timer';
  /** The launches timed: invocations × iterations, and bytes copied. */
  fma: { invocations: number; iters: number; seconds: number };
  copy: { bytes: number; seconds: number };
}

/** FMAs per invocation per outer iteration of peak_fma: 4 chains × 4 lanes × 4 unrolled steps. */
export const FMA_PER_ITER = 64;

/** out[n] = peak_fma's checked sum after `iters` outer iterations (m = c = 1). */
export async function peakFma(gpu: Gpu, out: Tensor, n: number, iters: number): Promise<Dispatch> {
  return makeDispatch(gpu, { shader: 'peak', entry: 'peak_fma' }, [out], [['u32', iters], ['f32', 1], ['f32', 1], ['u32', n]], [Math.ceil(n / 256)], {
    flops: 2 * FMA_PER_ITER * iters * n,
    bytes: 4 * n,
  });
}

/** dst[n4 vec4] = src. */
export async function peakCopy(gpu: Gpu, dst: Tensor, src: Tensor, n4: number): Promise<Dispatch> {
  const groups = Math.min(Math.ceil(n4 / 256), gpu.limits.maxComputeWorkgroupsPerDimension);
  return makeDispatch(gpu, { shader: 'peak', entry: 'peak_copy' }, [dst, src], [['u32', n4]], [groups], { flops: 0, bytes: 32 * n4 });
}

/** What peak_fma must leave in out[i]: 16 lanes starting at (i mod 1024) + 0..15, each raised by 4·iters. */
export function expectedFma(i: number, iters: number): number {
  return 16 * (i % 1024) + 120 + 16 * 4 * iters;
}

/** The first element of peak_fma's output that is not exactly what the loop must give, or null. */
export function fmaMismatch(out: ArrayLike<number>, iters: number): string | null {
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== expectedFma(i, iters)) return `peak_fma: out[${i}] = ${out[i]}, expected ${expectedFma(i, iters)} after ${iters} iterations`;
  }
  return null;
}

/** Fastest of `k` launches of d, in seconds (timestamp-query when the adapter has it). */
async function fastest(gpu: Gpu, d: Dispatch, k: number): Promise<{ seconds: number; source: Peak['source'] }> {
  const { seconds, source } = await timeEach(gpu, new Array(k).fill(d), 30);
  return { seconds: Math.min(...seconds), source };
}

/**
 * Measure both ceilings. Sizes grow until one launch takes about `minMs` (a busy software adapter
 * needs the fewest); every result is checked, and a wrong one throws.
 */
export async function measurePeak(gpu: Gpu, minMs = 30): Promise<Peak> {
  // FMA: enough invocations to fill any GPU (software adapters run a sixteenth of them).
  const n = gpu.adapter.isSoftware ? 1 << 14 : 1 << 20;
  const out = gpu.tensor('peak-fma-out', [n]);
  let iters = 16;
  let d = await peakFma(gpu, out, n, iters);
  let t = await fastest(gpu, d, 3);
  while (t.seconds * 1000 < minMs && iters < 65536) {
    releaseDispatch(gpu, d);
    iters = Math.min(65536, iters * Math.max(2, Math.ceil(minMs / Math.max(t.seconds * 1000, 0.01))));
    d = await peakFma(gpu, out, n, iters);
    t = await fastest(gpu, d, 3);
  }
  t = await fastest(gpu, d, 5);
  const bad = fmaMismatch(await gpu.read(out), iters);
  const gflops = d.cost!.flops / t.seconds / 1e9;
  releaseDispatch(gpu, d);
  gpu.destroyBuffer(out.buffer);
  if (bad) throw new Error(bad);

  // Copy: 16 MiB each way on a software adapter, up to 256 MiB on a GPU (within the binding limit).
  const limit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
  const bytes = Math.min(gpu.adapter.isSoftware ? 2 ** 24 : 2 ** 28, Math.floor(limit / 16) * 16);
  const n4 = bytes / 16;
  const src = gpu.tensor('peak-copy-src', [n4 * 4]);
  const dst = gpu.tensor('peak-copy-dst', [n4 * 4]);
  const data = new Float32Array(n4 * 4);
  for (let i = 0; i < data.length; i++) data[i] = i % 65521;
  gpu.write(src, data);
  const c = await peakCopy(gpu, dst, src, n4);
  const ct = await fastest(gpu, c, 5);
  const copied = await gpu.read(dst);
  releaseDispatch(gpu, c);
  for (const x of [src, dst]) gpu.destroyBuffer(x.buffer);
  for (let i = 0; i < data.length; i++) {
    if (copied[i] !== data[i]) throw new Error(`peak_copy: dst[${i}] = ${copied[i]}, expected ${data[i]}`);
  }
  return {
    gflops,
    gbps: c.cost!.bytes / ct.seconds / 1e9,
    source: t.source,
    fma: { invocations: n, iters, seconds: t.seconds },
    copy: { bytes: 2 * bytes, seconds: ct.seconds },
  };
}
