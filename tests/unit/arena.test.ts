import { describe, expect, it } from 'vitest';
import { LimitTooLowError, ShapeError } from '../../src/errors';
import { planArena } from '../../src/gpu/arena';

const limits = { maxBufferSize: 4096, maxStorageBufferBindingSize: 2048, minStorageBufferOffsetAlignment: 256 };

describe('planArena', () => {
  it('aligns every tensor to 256 bytes and splits buffers at maxBufferSize', () => {
    const plan = planArena('a', [
      { name: 'x', shape: [10] }, // 40 B → 256
      { name: 'y', shape: [500] }, // 2000 B → 2048
      { name: 'z', shape: [500] }, // 2000 B → 2048: 2304 + 2048 > 4096, so a new buffer
    ], limits);
    expect(plan.placements.map((p) => [p.buffer, p.offset, p.bytes])).toEqual([[0, 0, 40], [0, 256, 2000], [1, 0, 2000]]);
    expect(plan.buffers).toEqual([2304, 2048]);
    expect(plan.totalBytes).toBe(4352);
  });

  it('refuses a tensor larger than one binding, naming it and what to do', () => {
    expect(() => planArena('a', [{ name: 'lm_head', shape: [1000] }], limits)).toThrow(LimitTooLowError);
    expect(() => planArena('a', [{ name: 'lm_head', shape: [1000] }], limits)).toThrow(/lm_head.*split/);
  });

  it('refuses duplicate names and bad shapes', () => {
    expect(() => planArena('a', [{ name: 'x', shape: [1] }, { name: 'x', shape: [2] }], limits)).toThrow(ShapeError);
    expect(() => planArena('a', [{ name: 'x', shape: [1.5] }], limits)).toThrow(/bad shape/);
  });
});
