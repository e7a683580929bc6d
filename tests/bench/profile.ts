// Where a training step's time goes, per kernel. With `timestamp-query` every dispatch gets its own
// compute pass with begin/end timestamps, all in one submission (the GPU's own clock). Without it
// (SwiftShader) each dispatch is submitted on its own and timed on the host, repeated until it has
// run for a while: the submit overhead is then shared out evenly, which is fair for a ranking.

import type { Gpu } from '../../src/gpu/device';
import { record, run, type Dispatch } from '../../src/gpu/dispatch';

export interface KernelShare {
  /** shader:entry */
  kernel: string;
  seconds: number;
  share: number;
  launches: number;
  /** Summed from each launch's cost (src/gpu/dispatch.ts); NaN when a launcher gave none. */
  flops: number;
  bytes: number;
}

/** Seconds per dispatch, in order. */
export async function timeEach(gpu: Gpu, dispatches: readonly Dispatch[], minMs = 60): Promise<{ seconds: number[]; source: 'timestamp-query' | 'host timer' }> {
  if (gpu.has('timestamp-query')) return { seconds: await timestamps(gpu, dispatches), source: 'timestamp-query' };
  const seconds: number[] = [];
  for (const d of dispatches) seconds.push(await timeRepeated(gpu, d, minMs));
  return { seconds, source: 'host timer' };
}

/** Seconds per run of `d`, recorded `reps` times in one submission, reps grown until `minMs` have passed. */
export async function timeRepeated(gpu: Gpu, d: Dispatch, minMs: number): Promise<number> {
  await run(gpu, [d]); // warm-up: pipeline and caches
  let reps = 1;
  for (;;) {
    const enc = gpu.device.createCommandEncoder();
    record(enc, new Array(reps).fill(d));
    const t0 = performance.now();
    gpu.device.queue.submit([enc.finish()]);
    await gpu.device.queue.onSubmittedWorkDone();
    const ms = performance.now() - t0;
    if (ms >= minMs || reps >= 4096) return ms / 1000 / reps;
    reps = Math.min(4096, Math.max(reps * 2, Math.ceil((reps * minMs) / Math.max(ms, 1))));
  }
}

/** WebGPU's limit on a query set: 4096 timestamps, i.e. 2048 dispatches per submission. */
const MAX_QUERIES = 4096;

/** Seconds per dispatch from begin/end timestamps, in submissions of at most 2048 dispatches, in order. */
async function timestamps(gpu: Gpu, dispatches: readonly Dispatch[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < dispatches.length; i += MAX_QUERIES / 2) out.push(...(await timestampBatch(gpu, dispatches.slice(i, i + MAX_QUERIES / 2))));
  return out;
}

async function timestampBatch(gpu: Gpu, dispatches: readonly Dispatch[]): Promise<number[]> {
  const n = dispatches.length * 2;
  gpu.device.pushErrorScope('validation');
  const querySet = gpu.device.createQuerySet({ type: 'timestamp', count: n });
  const resolve = gpu.device.createBuffer({ size: n * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const read = gpu.device.createBuffer({ size: n * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = gpu.device.createCommandEncoder();
  dispatches.forEach((d, i) => {
    const pass = enc.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(...d.workgroups);
    pass.end();
  });
  enc.resolveQuerySet(querySet, 0, n, resolve, 0);
  enc.copyBufferToBuffer(resolve, 0, read, 0, n * 8);
  gpu.device.queue.submit([enc.finish()]);
  // A refused query set or pass would leave zeros behind: a profile of nothing. Say so instead.
  const err = await gpu.device.popErrorScope();
  if (err) throw new Error(`timing ${dispatches.length} dispatches with timestamps: ${err.message}`);
  await read.mapAsync(GPUMapMode.READ);
  const ns = new BigInt64Array(read.getMappedRange().slice(0));
  read.unmap();
  for (const b of [resolve, read]) b.destroy();
  querySet.destroy();
  return dispatches.map((_, i) => Math.max(0, Number(ns[2 * i + 1] - ns[2 * i])) / 1e9);
}

/** Seconds, FLOPs and bytes per kernel (shader:entry), largest time first, with its share of the total. */
export function byKernel(dispatches: readonly Dispatch[], seconds: readonly number[]): KernelShare[] {
  const sum = new Map<string, { seconds: number; launches: number; flops: number; bytes: number }>();
  dispatches.forEach((d, i) => {
    const e = sum.get(d.label) ?? { seconds: 0, launches: 0, flops: 0, bytes: 0 };
    e.seconds += seconds[i];
    e.launches++;
    e.flops += d.cost?.flops ?? NaN;
    e.bytes += d.cost?.bytes ?? NaN;
    sum.set(d.label, e);
  });
  const total = seconds.reduce((a, b) => a + b, 0);
  return [...sum.entries()]
    .map(([kernel, e]) => ({ kernel, ...e, share: total > 0 ? e.seconds / total : 0 }))
    .sort((a, b) => b.seconds - a.seconds);
}
