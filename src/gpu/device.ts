// One way to get a GPUDevice, in the browser (navigator.gpu) and in Node (the `webgpu` package, Dawn).
// We ask for the adapter's own limits (the defaults cap a binding at 128 MiB and a buffer at 256 MiB)
// and for the optional features we can use, and report what was granted.

import { DeviceLostError, EntrotuneError, GpuError, LimitTooLowError, ShapeError, WebGpuUnavailableError } from '../errors';
import { STORAGE_COPY } from './arena';
import { formatBytes, MemoryCounter, type MemoryCategory } from './memory';
import { BYTES_PER_ELEMENT, numel, type DType, type Tensor } from './tensor';
import { PipelineCache } from './pipelines';
import { Readback } from './readback';

/** Features entrotune uses when present; every kernel also has a path without them. */
export const OPTIONAL_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;
export type OptionalFeature = (typeof OPTIONAL_FEATURES)[number];

/** Limits we raise to the adapter's maximum (everything else stays at the default). */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxBindGroups',
] as const;

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A short human name, e.g. "google/swiftshader" or "nvidia/hopper". */
  name: string;
  /** True for CPU emulation (SwiftShader, lavapipe): fine for correctness, slow for real work. */
  isSoftware: boolean;
}

export interface GrantedLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBuffersPerShaderStage: number;
  minStorageBufferOffsetAlignment: number;
  minUniformBufferOffsetAlignment: number;
}

/**
 * Which kernels the launchers use (src/kernels/). `gpu`: workgroup-memory tiles and barriers, written
 * for real GPUs. `software`: no barriers and no workgroup memory, one invocation per row or per 4×4
 * block, for CPU adapters (SwiftShader charges ~0.2 ms per workgroup of any shader with a barrier,
 * which made the tiled kernels 8–13× slower there than the same work done barrier-free).
 */
export type KernelSet = 'gpu' | 'software';
export type KernelChoice = 'auto' | KernelSet;
export const KERNEL_CHOICES: readonly KernelChoice[] = ['auto', 'gpu', 'software'];

export interface CreateDeviceOptions {
  /** Kernel set; 'auto' (default) picks `software` on a fallback/software adapter and `gpu` elsewhere. */
  kernels?: KernelChoice;
  /** A GPU object to use instead of the environment's (e.g. from the `webgpu` package). */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /** Features to leave off even when the adapter has them (tests use this to exercise f32 paths). */
  disableFeatures?: OptionalFeature[];
  /** Called once if the device is lost; the Gpu object is unusable afterwards. */
  onLost?: (err: DeviceLostError) => void;
  /** Called for WebGPU errors no error scope caught (they are also kept in `gpu.uncapturedErrors`). */
  onUncapturedError?: (err: GpuError) => void;
}

/** The device and everything built once per device: pipelines, memory accounting, readback. */
export class Gpu {
  readonly pipelines: PipelineCache;
  readonly memory = new MemoryCounter();
  readonly readback: Readback;
  readonly uncapturedErrors: GpuError[] = [];
  /** Set when the device is lost; every later submit should throw it. */
  lostError: DeviceLostError | null = null;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterSummary,
    readonly features: ReadonlySet<OptionalFeature>,
    readonly limits: GrantedLimits,
    /** The kernel set every launcher uses on this device, chosen once at creation. */
    readonly kernels: KernelSet = 'gpu',
  ) {
    this.pipelines = new PipelineCache(device);
    this.readback = new Readback(this);
  }

  has(feature: OptionalFeature): boolean {
    return this.features.has(feature);
  }

  /** Throws the device-lost error, if any, so callers fail before recording more work. */
  assertAlive(): void {
    if (this.lostError) throw this.lostError;
  }

  /** Every buffer goes through here so that bytes are counted (current and peak). */
  createBuffer(label: string, size: number, usage: number, category: MemoryCategory = 'other'): GPUBuffer {
    this.assertAlive();
    if (size > this.limits.maxBufferSize) {
      throw new LimitTooLowError('maxBufferSize', size, this.limits.maxBufferSize, `split ${label} (${formatBytes(size)}) into smaller buffers`);
    }
    const buffer = this.device.createBuffer({ label, size: Math.max(4, Math.ceil(size / 4) * 4), usage });
    this.memory.add(buffer, buffer.size, category);
    return buffer;
  }

  destroyBuffer(buffer: GPUBuffer): void {
    this.memory.remove(buffer);
    buffer.destroy();
  }

  /** A standalone tensor in its own buffer (arenas are the planned way; this is for small things and tests). */
  tensor(name: string, shape: readonly number[], dtype: DType = 'f32', category: MemoryCategory = 'scratch'): Tensor {
    const bytes = numel(shape) * BYTES_PER_ELEMENT[dtype];
    if (bytes > this.limits.maxStorageBufferBindingSize) {
      throw new LimitTooLowError('maxStorageBufferBindingSize', bytes, this.limits.maxStorageBufferBindingSize, `split ${name} into chunks that fit one binding`);
    }
    const buffer = this.createBuffer(name, bytes, STORAGE_COPY, category);
    return { name, buffer, offset: 0, bytes, shape, dtype };
  }

  /** Copy host data into a tensor (sizes must agree). */
  write(t: Tensor, data: Float32Array | Uint32Array | Int32Array): void {
    if (data.byteLength !== t.bytes) throw new ShapeError(`write ${t.name}: ${data.byteLength} bytes for a tensor of ${t.bytes}`);
    this.device.queue.writeBuffer(t.buffer, t.offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Read a tensor back as f32 (u32/i32 tensors: use readback.read and view the bytes). */
  async read(t: Tensor): Promise<Float32Array> {
    return new Float32Array(await this.readback.read(t.buffer, t.offset, t.bytes));
  }

  /** A one-paragraph description for logs and the UI. */
  describe(): string {
    const f = [...this.features].join(', ') || 'none';
    const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
    return (
      `${this.adapter.name} (${this.adapter.description || this.adapter.device || 'no description'})` +
      `${this.adapter.isSoftware ? ' [software]' : ''}; kernels: ${this.kernels}; features: ${f}; ` +
      `max binding ${mib(this.limits.maxStorageBufferBindingSize)}, max buffer ${mib(this.limits.maxBufferSize)}, ` +
      `workgroup storage ${this.limits.maxComputeWorkgroupStorageSize} B`
    );
  }

  destroy(): void {
    this.readback.destroy();
    this.device.destroy();
  }
}

const BROWSER_HINT =
  'use a browser with WebGPU: Chrome/Edge 113+ (on Linux start it with --enable-unsafe-webgpu ' +
  '--enable-features=Vulkan), Safari 26+, or Firefox 141+ on Windows; pages must come from https:// or http://localhost';

/** Find the environment's GPU object: navigator.gpu in browsers and workers, Dawn in Node. */
async function environmentGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  // import.meta.env.SSR is true in Node builds and tests, false in browser builds, where this
  // branch (and Dawn with it) is removed from the bundle.
  if (import.meta.env.SSR) {
    const { nodeGpu } = await import('./node-gpu');
    return nodeGpu();
  }
  throw new WebGpuUnavailableError('this browser has no WebGPU (navigator.gpu is missing)', BROWSER_HINT);
}

function summarize(info: GPUAdapterInfo): AdapterSummary {
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const description = info.description ?? '';
  const text = `${vendor} ${architecture} ${description} ${info.device ?? ''}`.toLowerCase();
  return {
    vendor,
    architecture,
    device: info.device ?? '',
    description,
    name: [vendor, architecture].filter(Boolean).join('/') || description || 'unknown adapter',
    isSoftware: /swiftshader|llvmpipe|lavapipe|software|warp/.test(text),
  };
}

/** The kernel set for a choice: 'auto' follows the adapter (software adapters get the software set). */
export function chooseKernels(choice: KernelChoice, softwareAdapter: boolean): KernelSet {
  if (!KERNEL_CHOICES.includes(choice)) throw new EntrotuneError(`unknown kernel set "${choice}"`, `use one of ${KERNEL_CHOICES.join(', ')}`);
  return choice === 'auto' ? (softwareAdapter ? 'software' : 'gpu') : choice;
}

/** Create the device with the adapter's own limits and the optional features it has. */
export async function createDevice(options: CreateDeviceOptions = {}): Promise<Gpu> {
  const gpu = options.gpu ?? (await environmentGpu());
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new WebGpuUnavailableError(
      'WebGPU is present but no adapter was found',
      import.meta.env.SSR
        ? 'install a Vulkan driver for your GPU, or run `apt-get install -y chromium libvulkan1` to get the SwiftShader CPU implementation'
        : BROWSER_HINT + '; check chrome://gpu and that hardware acceleration is on',
    );
  }

  const disabled = new Set(options.disableFeatures ?? []);
  const features = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f) && !disabled.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];

  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures: features as GPUFeatureName[], requiredLimits });
  } catch (err) {
    throw new WebGpuUnavailableError(`requestDevice failed: ${(err as Error).message}`, 'close other GPU-heavy tabs or apps and try again');
  }

  const L = device.limits;
  const limits: GrantedLimits = {
    maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
    maxBufferSize: L.maxBufferSize,
    maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
    maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
    minStorageBufferOffsetAlignment: L.minStorageBufferOffsetAlignment,
    minUniformBufferOffsetAlignment: L.minUniformBufferOffsetAlignment,
  };
  const summary = summarize(adapter.info);
  const kernels = chooseKernels(options.kernels ?? 'auto', summary.isSoftware || !!(adapter.info as { isFallbackAdapter?: boolean }).isFallbackAdapter);
  const result = new Gpu(device, summary, new Set(features), limits, kernels);

  // The two global handlers, installed here and nowhere else.
  device.lost.then((info) => {
    if (info.reason === 'destroyed') return; // we asked for it
    result.lostError = new DeviceLostError(String(info.reason), info.message);
    options.onLost?.(result.lostError);
  });
  device.addEventListener('uncapturederror', (ev) => {
    const e = (ev as GPUUncapturedErrorEvent).error;
    const err = new GpuError(`uncaptured WebGPU ${e.constructor.name}: ${e.message}`, 'this is a bug in entrotune; please report it with the adapter name');
    result.uncapturedErrors.push(err);
    options.onUncapturedError?.(err);
  });
  return result;
}
