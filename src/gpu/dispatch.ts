// A Dispatch is one kernel launch built ahead of time: pipeline, bind group, uniform parameters and
// workgroup counts. Plans build them once; steps only record them into a command encoder.
// Binding convention for every shader: @binding(0) is the uniform `Params` (when the launcher has
// parameters), then the tensors in launcher order: outputs first, then inputs.

import { GpuError } from '../errors';
import type { Gpu } from './device';
import type { PipelineKey } from './pipelines';
import { binding, type Tensor } from './tensor';

export type Param = readonly ['u32' | 'i32' | 'f32', number];

/**
 * The work one launch must do whatever the kernel, from its sizes (for the bench's roofline, never for
 * behaviour). flops: a multiply-add counts 2; exp, sqrt and division 1 each; index maths, comparisons
 * and dequantising a weight count nothing. bytes: the least global-memory traffic: every input element
 * read once, every output written once (and read too when it is added into), quantised weights at their
 * packed size with their scales. A tiled kernel that loads a value twice moves more than this; the
 * bench's achieved GB/s are measured against this floor.
 */
export interface Cost {
  readonly flops: number;
  readonly bytes: number;
}

export interface Dispatch {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
  readonly uniform: GPUBuffer | null;
  /** Set by the launcher from the sizes it was given (sizes rewritten later in the uniform are not seen). */
  readonly cost?: Cost;
}

const UNIFORM_COPY_DST = 0x0040 | 0x0008;

/** Pack parameters as consecutive 4-byte fields (WGSL struct of u32/i32/f32, 16-byte padded). */
export function packParams(params: readonly Param[]): ArrayBuffer {
  const buf = new ArrayBuffer(Math.max(16, Math.ceil((params.length * 4) / 16) * 16));
  const view = new DataView(buf);
  params.forEach(([type, value], i) => {
    if (type === 'f32') view.setFloat32(i * 4, value, true);
    else if (type === 'i32') view.setInt32(i * 4, value, true);
    else view.setUint32(i * 4, value, true);
  });
  return buf;
}

export async function makeDispatch(
  gpu: Gpu,
  key: PipelineKey,
  tensors: readonly (Tensor | GPUBufferBinding)[],
  params: readonly Param[] | null,
  workgroups: readonly [number, number?, number?],
  cost?: Cost,
): Promise<Dispatch> {
  const pipeline = await gpu.pipelines.get(key);
  const label = `${key.shader}:${key.entry}`;
  const entries: GPUBindGroupEntry[] = [];
  let uniform: GPUBuffer | null = null;
  let next = 0;
  if (params) {
    const data = packParams(params);
    uniform = gpu.createBuffer(`${label}:params`, data.byteLength, UNIFORM_COPY_DST, 'uniforms');
    gpu.device.queue.writeBuffer(uniform, 0, data);
    entries.push({ binding: next++, resource: { buffer: uniform } });
  }
  for (const t of tensors) entries.push({ binding: next++, resource: 'name' in t ? binding(t) : t });
  const [x, y = 1, z = 1] = workgroups;
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  if (x > max || y > max || z > max) throw new GpuError(`${label}: ${x}×${y}×${z} workgroups exceed ${max} per dimension`, 'this is a bug in the launcher: tile the dispatch');
  gpu.device.pushErrorScope('validation');
  const bindGroup = gpu.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });
  const err = await gpu.device.popErrorScope();
  if (err) throw new GpuError(`${label}: bind group: ${err.message}`, 'check the launcher\'s tensors against the shader\'s bindings');
  return { label, pipeline, bindGroup, workgroups: [x, y, z], uniform, cost };
}

/** Record dispatches, in order, into one compute pass. */
export function record(encoder: GPUCommandEncoder, dispatches: readonly Dispatch[]): void {
  const pass = encoder.beginComputePass();
  for (const d of dispatches) {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
  }
  pass.end();
}

/** Record and submit, turning validation errors into GpuError, and wait until the GPU is done. */
export async function run(gpu: Gpu, dispatches: readonly Dispatch[]): Promise<void> {
  gpu.assertAlive();
  gpu.device.pushErrorScope('validation');
  const encoder = gpu.device.createCommandEncoder();
  record(encoder, dispatches);
  gpu.device.queue.submit([encoder.finish()]);
  const err = await gpu.device.popErrorScope();
  if (err) throw new GpuError(`submit: ${err.message}`, 'this is a bug in entrotune; please report it');
  await gpu.device.queue.onSubmittedWorkDone();
  gpu.assertAlive();
}

export function releaseDispatch(gpu: Gpu, d: Dispatch): void {
  if (d.uniform) gpu.destroyBuffer(d.uniform);
}
