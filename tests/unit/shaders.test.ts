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

/**
 * Stores into one component of a vector in a workgroup array: `V[i][c] = …` or `V[i].x = …`. The WGSL memory
 * model lets such a store touch the whole vector, and on Metal (and D3D through FXC, which writes the whole
 * float4 back) invocations storing neighbouring components of one vector race. SwiftShader stores one
 * component, so no kernel test here can see it: this check reads the source instead.
 */
function componentStores(text: string): string[] {
  const source = text.replace(/\/\/.*$/gm, ''); // comments may show the old forms
  const vectorArrays = [...source.matchAll(/var<workgroup>\s+(\w+)\s*:\s*array<\s*vec[234]/g)].map((m) => m[1]);
  const found: string[] = [];
  for (const name of vectorArrays) {
    for (const m of source.matchAll(new RegExp(`\\b${name}\\[`, 'g'))) {
      let i = m.index! + name.length;
      let depth = 0;
      do {
        if (source[i] === '[') depth++;
        else if (source[i] === ']') depth--;
        i++;
      } while (depth > 0 && i < source.length);
      const rest = source.slice(i, i + 200);
      const component = /^\s*(\[[^\]]*\]|\.[xyzw])\s*=[^=]/.exec(rest);
      if (component) found.push(source.slice(m.index!, i) + component[0].trimEnd());
    }
  }
  return found;
}

describe('workgroup vectors are stored whole (one writer per vector)', () => {
  it('no shader stores a single component of a workgroup vector', () => {
    const offenders = shaderNames().flatMap((n) => componentStores(shaderSource(n)).map((s) => `${n}.wgsl: ${s}`));
    expect(offenders).toEqual([]);
  });

  it('the check finds such a store', () => {
    expect(componentStores('var<workgroup> T: array<vec4<f32>, 8>;\nfn f(i: u32) { T[i / 4u][i % 4u] = 1.0; T[i].y = 2.0; let a = T[i][0] == 1.0; T[i] = vec4<f32>(0.0); }')).toEqual(['T[i / 4u][i % 4u] =', 'T[i].y =']);
  });
});
