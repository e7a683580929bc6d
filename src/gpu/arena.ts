// Memory is a plan: a table of named tensor specs becomes an arena of GPU buffers, counted and
// checked against the device's limits before anything is allocated (planArena is pure and works
// from shapes alone), then allocated once (Arena).
//
// Every tensor gets its own GPUBuffer. Packing several tensors into one buffer would save a few
// hundred objects but WebGPU validates usage per buffer, not per range: a dispatch may not bind one
// buffer both as writable storage and as anything else, so a kernel writing tensor `h` while
// reading tensor `x` of the same buffer would be rejected.

import { LimitTooLowError, ShapeError } from '../errors';
import type { Gpu } from './device';
import { formatBytes, type MemoryCategory } from './memory';
import { alignUp, BYTES_PER_ELEMENT, numel, type DType, type Tensor } from './tensor';

export interface TensorSpec {
  name: string;
  shape: readonly number[];
  dtype?: DType;
}

export interface ArenaLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  minStorageBufferOffsetAlignment: number;
}

export interface Placement {
  spec: TensorSpec & { dtype: DType };
  bytes: number;
  buffer: number;
  offset: number;
}

export interface ArenaLayout {
  name: string;
  /** Size of each buffer, in bytes (aligned). */
  buffers: number[];
  placements: Placement[];
  totalBytes: number;
}

/**
 * One buffer per tensor, sizes rounded up to 256 bytes. A tensor larger than one binding is
 * refused: the caller must split it (e.g. the lm_head in vocab chunks).
 */
export function planArena(name: string, specs: readonly TensorSpec[], limits: ArenaLimits): ArenaLayout {
  const align = Math.max(256, limits.minStorageBufferOffsetAlignment);
  const buffers: number[] = [];
  const placements: Placement[] = [];
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) throw new ShapeError(`arena ${name}: tensor ${s.name} is listed twice`);
    seen.add(s.name);
    if (s.shape.some((d) => !Number.isInteger(d) || d < 0)) throw new ShapeError(`arena ${name}: tensor ${s.name} has a bad shape [${s.shape}]`);
    const dtype = s.dtype ?? 'f32';
    const bytes = numel(s.shape) * BYTES_PER_ELEMENT[dtype];
    if (bytes > limits.maxStorageBufferBindingSize) {
      throw new LimitTooLowError(
        'maxStorageBufferBindingSize',
        bytes,
        limits.maxStorageBufferBindingSize,
        `tensor ${s.name} [${s.shape}] (${formatBytes(bytes)}) must be split into chunks that fit one binding`,
      );
    }
    placements.push({ spec: { ...s, dtype }, bytes, buffer: buffers.length, offset: 0 });
    buffers.push(alignUp(Math.max(bytes, 4), align));
  }
  return { name, buffers, placements, totalBytes: buffers.reduce((a, b) => a + b, 0) };
}

// GPUBufferUsage is a global only once WebGPU is loaded; these numbers are fixed by the spec.
export const STORAGE_COPY = 0x0080 /* STORAGE */ | 0x0004 /* COPY_SRC */ | 0x0008 /* COPY_DST */;

/** The allocated form of a layout: named tensors backed by a few buffers. */
export class Arena {
  readonly tensors = new Map<string, Tensor>();
  private readonly gpuBuffers: GPUBuffer[] = [];

  constructor(
    private readonly gpu: Gpu,
    readonly layout: ArenaLayout,
    readonly category: MemoryCategory,
    usage = STORAGE_COPY,
  ) {
    for (const [i, size] of layout.buffers.entries()) {
      this.gpuBuffers.push(gpu.createBuffer(`${layout.name}:${layout.placements[i].spec.name}`, size, usage, category));
    }
    for (const p of layout.placements) {
      this.tensors.set(p.spec.name, {
        name: p.spec.name,
        buffer: this.gpuBuffers[p.buffer],
        offset: p.offset,
        bytes: p.bytes,
        shape: p.spec.shape,
        dtype: p.spec.dtype,
      });
    }
  }

  static create(gpu: Gpu, name: string, specs: readonly TensorSpec[], category: MemoryCategory): Arena {
    return new Arena(gpu, planArena(name, specs, gpu.limits), category);
  }

  get(name: string): Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new ShapeError(`arena ${this.layout.name} has no tensor ${name}`);
    return t;
  }

  get bytes(): number {
    return this.layout.totalBytes;
  }

  describe(): string {
    return `${this.layout.name}: ${formatBytes(this.bytes)} in ${this.layout.buffers.length} buffer(s), ${this.tensors.size} tensors`;
  }

  destroy(): void {
    for (const b of this.gpuBuffers) this.gpu.destroyBuffer(b);
    this.gpuBuffers.length = 0;
    this.tensors.clear();
  }
}
