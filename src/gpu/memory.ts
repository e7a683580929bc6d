// Byte accounting for every GPU buffer entrotune creates: current and peak, by category,
// so the planner's figures can be checked against what was really allocated.

export type MemoryCategory = 'base' | 'lora' | 'grads' | 'optimizer' | 'activations' | 'scratch' | 'staging' | 'uniforms' | 'other';

export class MemoryCounter {
  current = 0;
  peak = 0;
  private readonly byBuffer = new Map<GPUBuffer, { bytes: number; category: MemoryCategory }>();
  private readonly byCategory = new Map<MemoryCategory, number>();

  add(buffer: GPUBuffer, bytes: number, category: MemoryCategory): void {
    this.byBuffer.set(buffer, { bytes, category });
    this.byCategory.set(category, (this.byCategory.get(category) ?? 0) + bytes);
    this.current += bytes;
    this.peak = Math.max(this.peak, this.current);
  }

  remove(buffer: GPUBuffer): void {
    const entry = this.byBuffer.get(buffer);
    if (!entry) return;
    this.byBuffer.delete(buffer);
    this.byCategory.set(entry.category, (this.byCategory.get(entry.category) ?? 0) - entry.bytes);
    this.current -= entry.bytes;
  }

  categories(): Record<string, number> {
    return Object.fromEntries([...this.byCategory].filter(([, b]) => b > 0));
  }

  resetPeak(): void {
    this.peak = this.current;
  }
}

/** "412.0 MiB" */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 2 ** 20) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 2 ** 30) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}
