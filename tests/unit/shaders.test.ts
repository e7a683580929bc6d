import { describe, expect, it } from 'vitest';
import { shaderLocation, shaderNames, shaderSource } from '../../src/gpu/shaders';
import { deserializeError, LimitTooLowError, serializeError, ShaderCompileError } from '../../src/errors';

describe('shader loading', () => {
  it('finds every shaders/*.wgsl file, each starting with a header comment', () => {
    expect(shaderNames()).toEqual(expect.arrayContaining(['matmul', 'elementwise', 'reduce']));
    for (const name of shaderNames()) expect(shaderSource(name).startsWith(`// ${name}.wgsl`)).toBe(true);
  });

  it('throws for an unknown shader, listing the known ones', () => {
    expect(() => shaderSource('nope')).toThrow(/known shaders: .*matmul/);
  });

  it('appends the libraries a shader names, and maps compile-error lines back to their file', () => {
    const linear = shaderSource('linear');
    expect(linear).toContain('// uses: lib/gemm-tile.wgsl');
    expect(linear).toContain('// lib/gemm-tile.wgsl');
    expect(shaderNames()).not.toContain('lib/gemm-tile');
    const own = linear.indexOf('\n// lib/gemm-tile.wgsl');
    const libStart = linear.slice(0, own).split('\n').length + 1;   // 1-based line of the library's header
    expect(shaderLocation('linear', 3)).toEqual({ file: 'linear.wgsl', line: 3 });
    expect(shaderLocation('linear', libStart)).toEqual({ file: 'lib/gemm-tile.wgsl', line: 1 });
    expect(linear.split('\n')[libStart - 1]).toBe(shaderSource('matmul').split('\n').find((l) => l.startsWith('// lib/gemm-tile.wgsl')));
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
