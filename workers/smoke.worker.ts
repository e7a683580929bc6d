// The smallest real worker: owns a GPUDevice, runs one matmul kernel, returns the numbers and the
// adapter's name. The browser smoke test drives it through comlink.

import * as Comlink from 'comlink';
import { createDevice, type Gpu } from '../src/gpu/device';
import { releaseDispatch, run } from '../src/gpu/dispatch';
import { matmulForward } from '../src/kernels/matmul';
import { installErrorTransfer } from '../src/rpc';

installErrorTransfer();

let gpu: Promise<Gpu> | null = null;

const api = {
  async adapter(): Promise<string> {
    return (await (gpu ??= createDevice())).describe();
  },
  /** Y[M,N] = X[M,K]·W[N,K]ᵀ on the GPU. */
  async matmul(X: Float32Array, W: Float32Array, M: number, N: number, K: number): Promise<{ adapter: string; Y: Float32Array }> {
    const g = await (gpu ??= createDevice());
    const tX = g.tensor('X', [M, K]), tW = g.tensor('W', [N, K]), tY = g.tensor('Y', [M, N]);
    g.write(tX, X);
    g.write(tW, W);
    g.write(tY, new Float32Array(M * N).fill(NaN));
    const d = await matmulForward(g, tY, tX, tW, M, N, K);
    await run(g, [d]);
    const Y = await g.read(tY);
    releaseDispatch(g, d);
    for (const t of [tX, tW, tY]) g.destroyBuffer(t.buffer);
    return Comlink.transfer({ adapter: g.adapter.name, Y }, [Y.buffer]);
  },
  /** Compiles a broken shader: the page must receive a ShaderCompileError, not a plain Error. */
  async brokenShader(): Promise<void> {
    const g = await (gpu ??= createDevice());
    await g.pipelines.fromSource('broken.wgsl', '@compute @workgroup_size(1)\nfn main() { let x = nope; }\n', 'main');
  },
};

export type SmokeApi = typeof api;
Comlink.expose(api);
