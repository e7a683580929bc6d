// A tensor is a typed view into a GPU buffer: where it lives, how many bytes, what shape.
// Views let one buffer hold many tensors (see arena.ts); a binding is { buffer, offset, size }.

export type DType = 'f32' | 'u32' | 'i32';

export const BYTES_PER_ELEMENT: Record<DType, number> = { f32: 4, u32: 4, i32: 4 };

export interface Tensor {
  readonly name: string;
  readonly buffer: GPUBuffer;
  /** Byte offset inside `buffer`; a multiple of minStorageBufferOffsetAlignment (256). */
  readonly offset: number;
  /** Bytes of the data proper (shape × element size), without alignment padding. */
  readonly bytes: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function binding(t: Tensor): GPUBufferBinding {
  return { buffer: t.buffer, offset: t.offset, size: Math.max(4, t.bytes) };
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
