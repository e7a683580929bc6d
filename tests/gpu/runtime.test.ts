import { describe, expect, it } from 'vitest';
import { ShaderCompileError } from '../../src/errors';
import { Arena } from '../../src/gpu/arena';
import { getGpu, upload } from './gpu';

describe('the WebGPU runtime', () => {
  it('reports the adapter, the granted limits and features', async () => {
    const gpu = await getGpu();
    expect(gpu.adapter.name.length).toBeGreaterThan(0);
    // We asked for the adapter's own limits, not the 128 MiB default.
    expect(gpu.limits.maxStorageBufferBindingSize).toBeGreaterThan(128 * 2 ** 20);
    expect(gpu.describe()).toContain('max binding');
    for (const f of gpu.features) expect(['shader-f16', 'subgroups', 'timestamp-query']).toContain(f);
  });

  it('turns a WGSL compile error into ShaderCompileError with file and line', async () => {
    const gpu = await getGpu();
    const code = '@compute @workgroup_size(1)\nfn main() {\n  let x: f32 = undefined_thing;\n}\n';
    const err = await gpu.pipelines.fromSource('broken.wgsl', code, 'main').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShaderCompileError);
    expect((err as ShaderCompileError).line).toBe(3);
    expect((err as Error).message).toMatch(/^broken\.wgsl:3:\d+: .*undefined_thing/);
  });

  it('caches pipelines by shader, entry, constants and dtype', async () => {
    const gpu = await getGpu();
    const a = await gpu.pipelines.get({ shader: 'reduce', entry: 'reduce_sum', constants: { FINAL_SQRT: 0 } });
    const b = await gpu.pipelines.get({ shader: 'reduce', entry: 'reduce_sum', constants: { FINAL_SQRT: 0 } });
    const c = await gpu.pipelines.get({ shader: 'reduce', entry: 'reduce_sum', constants: { FINAL_SQRT: 1 } });
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('counts bytes, current and peak, through arenas and frees them', async () => {
    const gpu = await getGpu();
    const before = gpu.memory.current;
    const arena = Arena.create(gpu, 'acts', [{ name: 'x', shape: [3, 5] }, { name: 'y', shape: [100] }], 'activations');
    expect(gpu.memory.current - before).toBe(256 + 512);
    expect(arena.describe()).toBe('acts: 768 B in 2 buffer(s), 2 tensors'); // 60 B and 400 B, each padded to a multiple of 256
    expect(gpu.memory.peak).toBeGreaterThanOrEqual(gpu.memory.current);
    gpu.write(arena.get('y'), new Float32Array(100).fill(2));
    expect(Array.from(await gpu.read(arena.get('y')))).toEqual(new Array(100).fill(2));
    expect(gpu.memory.categories().activations).toBe(768);
    arena.destroy();
    expect(gpu.memory.categories().activations).toBeUndefined();
  });

  it('reads back through one reused staging buffer', async () => {
    const gpu = await getGpu();
    const t = upload(gpu, 't', Float32Array.from([1, 2, 3]));
    const [a, b] = await Promise.all([gpu.read(t), gpu.read(t)]);
    expect(Array.from(a)).toEqual([1, 2, 3]);
    expect(Array.from(b)).toEqual([1, 2, 3]);
    expect(gpu.memory.categories().staging).toBeGreaterThan(0);
    gpu.destroyBuffer(t.buffer);
  });
});
