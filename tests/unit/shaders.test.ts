import { describe, expect, it } from 'vitest';
import { shaderNames, shaderSource } from '../../src/gpu/shaders';
import { deserializeError, LimitTooLowError, serializeError, ShaderCompileError } from '../../src/errors';

describe('shader loading', () => {
  it('finds every shaders/*.wgsl file, each starting with a header comment', () => {
    expect(shaderNames()).toEqual(expect.arrayContaining(['matmul', 'elementwise', 'reduce']));
    for (const name of shaderNames()) expect(shaderSource(name).startsWith(`// ${name}.wgsl`)).toBe(true);
  });

  it('throws for an unknown shader, listing the known ones', () => {
    expect(() => shaderSource('nope')).toThrow(/known shaders: .*matmul/);
  });
});

describe('typed errors cross worker boundaries as themselves', () => {
  it('keeps class, code and message', () => {
    const e = deserializeError(serializeError(new LimitTooLowError('maxBufferSize', 10, 5, 'lower the batch size')));
    expect(e).toBeInstanceOf(LimitTooLowError);
    expect(e.message).toMatch(/HINT: lower the batch size/);
    const s = deserializeError(serializeError(new ShaderCompileError('a.wgsl', 3, 4, 'bad')));
    expect(s).toBeInstanceOf(ShaderCompileError);
    expect(s.message).toContain('a.wgsl:3:4: bad');
  });
});
