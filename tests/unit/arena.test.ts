import { describe, expect, it } from 'vitest';
import { LimitTooLowError, ShapeError } from '../../src/errors';
import { planArena } from '../../src/gpu/arena';

const limits = { maxBufferSize: 4096, maxStorageBufferBindingSize: 2048, minStorageBufferOffsetAlignment: 256 };

describe('planArena', () => {
  it('gives every tensor its own buffer, rounded up to 256 bytes', () => {
    const plan = planArena('a', [
      { name: 'x', shape: [10] }, // 40 B → 256
      { name: 'y', shape: [500] }, // 2000 B → 2048
      { name: 'z', shape: [2], dtype: 'u32' }, // 8 B → 256
    ], limits);
    expect(plan.placements.map((p) => [p.buffer, p.offset, p.bytes])).toEqual([[0, 0, 40], [1, 0, 2000], [2, 0, 8]]);
    expect(plan.buffers).toEqual([256, 2048, 256]);
    expect(plan.totalBytes).toBe(2560);
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
