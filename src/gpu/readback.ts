// The one way back from the GPU: a reused MAP_READ staging buffer that grows when needed. Reads are
// queued so two callers never map the same staging buffer at once. A training step reads back a few
// scalars through here, never whole activations.

import type { Gpu } from './device';

const MAP_READ = 0x0001;
const COPY_DST = 0x0008;

export class Readback {
  private staging: GPUBuffer | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly gpu: Gpu) {}

  /** Copy `bytes` bytes from `buffer` at `offset` into a fresh ArrayBuffer (offset and size: multiples of 4). */
  read(buffer: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    const job = this.queue.then(() => this.readNow(buffer, offset, bytes));
    this.queue = job.catch(() => undefined);
    return job;
  }

  private async readNow(buffer: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    this.gpu.assertAlive();
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    if (!this.staging || this.staging.size < size) {
      if (this.staging) this.gpu.destroyBuffer(this.staging);
      // Grow geometrically so a sequence of slightly larger reads does not reallocate each time.
      const grown = Math.max(size, Math.min(2 * (this.staging?.size ?? 0), this.gpu.limits.maxBufferSize));
      this.staging = this.gpu.createBuffer('readback-staging', grown, MAP_READ | COPY_DST, 'staging');
    }
    const staging = this.staging;
    const encoder = this.gpu.device.createCommandEncoder({ label: 'readback' });
    encoder.copyBufferToBuffer(buffer, offset, staging, 0, size);
    this.gpu.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_READ, 0, size);
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    return out;
  }

  destroy(): void {
    if (this.staging) this.gpu.destroyBuffer(this.staging);
    this.staging = null;
  }
}
