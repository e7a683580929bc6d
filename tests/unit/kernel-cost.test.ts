// The cost each launcher attaches to its dispatch (src/gpu/dispatch.ts, read by `npm run bench`) against
// hand counts, and the bench's peak kernel (shaders/peak.wgsl) against its CPU check, including a
// broken variant of it that the check must catch. Launches are built, never timed.

import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createDevice, type Gpu } from '../../src/gpu/device';
import { releaseDispatch, run, type Dispatch } from '../../src/gpu/dispatch';
import { shaderSource } from '../../src/gpu/shaders';
import { binding, type Tensor } from '../../src/gpu/tensor';
import { attentionForward } from '../../src/kernels/attention';
import { crossEntropy } from '../../src/kernels/crossentropy';
import { linearBackwardInput, linearForward } from '../../src/kernels/linear';
import { matmulBackwardWeight, matmulForward } from '../../src/kernels/matmul';
import { wordsFor, type QWeight } from '../../src/kernels/quantize';
import { loadModelFromFiles } from '../../src/model/load-model';
import { nodeDirFiles } from '../../src/model/node-files';
import { Trainer } from '../../src/train/trainer';
import { benchBatch } from '../bench/training';
import { expectedFma, fmaMismatch, FMA_PER_ITER, peakFma } from '../bench/peak';
import { getGpu } from '../gpu/gpu';

/** An NF4 weight [N, K] in one chunk (contents never read: only launches are built). */
function nf4Weight(gpu: Gpu, N: number, K: number): QWeight {
  const words = gpu.tensor('w', [wordsFor(N * K, 4)], 'u32');
  const scale = gpu.tensor('w.scale', [Math.ceil((N * K) / 64)]);
  return { name: 'w', N, K, bits: 4, chunks: [{ row0: 0, rows: N, words, scale }], bias: null };
}

function costOf(ds: Dispatch | Dispatch[]): { flops: number; bytes: number } {
  const list = Array.isArray(ds) ? ds : [ds];
  return list.reduce((s, d) => ({ flops: s.flops + d.cost!.flops, bytes: s.bytes + d.cost!.bytes }), { flops: 0, bytes: 0 });
}

describe('launch costs match a hand count', () => {
  it('matmul M×N×K: 2MNK FLOPs, each operand moved once (the output twice when +=), in either kernel set', async () => {
    const [M, N, K] = [37, 70, 129];
    for (const kernels of ['software', 'gpu'] as const) {
      const gpu = await createDevice({ kernels });
      const X = gpu.tensor('X', [M, K]), W = gpu.tensor('W', [N, K]), Y = gpu.tensor('Y', [M, N]), dW = gpu.tensor('dW', [N, K]);
      const f = await matmulForward(gpu, Y, X, W, M, N, K);
      expect(f.cost).toEqual({ flops: 2 * M * N * K, bytes: 4 * (M * K + N * K + M * N) });
      const b = await matmulBackwardWeight(gpu, dW, Y, X, M, N, K, { accumulate: true });
      expect(b.cost).toEqual({ flops: 2 * M * N * K, bytes: 4 * (M * N + M * K + 2 * N * K) });
      const batched = await matmulForward(gpu, gpu.tensor('Y3', [3, M, N]), gpu.tensor('X3', [3, M, K]), gpu.tensor('W3', [3, N, K]), M, N, K, { batch: 3 });
      expect(batched.cost!.flops).toBe(3 * 2 * M * N * K);
      gpu.destroy();
    }
  });

  it('a linear over NF4 weights reads 0.5625 bytes per weight (4 bits + one f32 scale per 64)', async () => {
    const gpu = await getGpu();
    const [M, N, K] = [48, 192, 320];
    const W = nf4Weight(gpu, N, K);
    const fwd = costOf(await linearForward(gpu, gpu.tensor('Y', [M, N]), gpu.tensor('X', [M, K]), W, M));
    expect(fwd.flops).toBe(2 * M * N * K);
    expect(fwd.bytes - 4 * (M * K + M * N)).toBe(0.5625 * N * K);
    const bwd = costOf(await linearBackwardInput(gpu, gpu.tensor('dX', [M, K]), gpu.tensor('dY', [M, N]), W, M, { accumulate: true }));
    expect(bwd.flops).toBe(2 * M * N * K);
    expect(bwd.bytes - 4 * (M * N + 2 * M * K)).toBe(0.5625 * N * K);
  });

  it('causal attention counts T(T+1)/2 (query, key) pairs per head', async () => {
    const gpu = await getGpu();
    const [B, T, NH, NKV, HS] = [2, 5, 4, 2, 8];
    const q = gpu.tensor('q', [B, T, NH, HS]), kv = gpu.tensor('k', [B, T, NKV, HS]);
    const d = await attentionForward(gpu, gpu.tensor('y', [B, T, NH, HS]), gpu.tensor('lse', [B, NH, T]), q, kv, kv, { B, Tq: T, S: T, NH, NKV, HS, pos0: 0 });
    expect(d.cost!.flops).toBe(B * NH * 15 * (4 * HS + 5));
  });

  it('the lm_head takes two products without dW (two walks) and three with it, and launches count per pass', async () => {
    const gpu = await getGpu();
    const [N, V, C, chunk] = [48, 1000, 64, 256]; // 4 passes, the last partial
    const W = nf4Weight(gpu, V, C);
    const args = { h: gpu.tensor('h', [N, C]), W, targets: gpu.tensor('t', [N], 'u32'), N, chunk, dh: gpu.tensor('dh', [N, C]), logits: gpu.tensor('logits', [N, chunk]) };
    const product = 2 * N * V * C;
    const lmHead = (ds: Dispatch[]) => costOf(ds.filter((d) => d.label.startsWith('linear:') || d.label.startsWith('matmul:'))).flops;
    const labels = (ds: Dispatch[]) => ds.map((d) => d.label.replace(/_sw$/, ''));
    const two = (await crossEntropy(gpu, args)).dispatches;
    expect(lmHead(two)).toBe(2 * product);
    // per pass: logits, ce_online, dh += p·W; then ce_loss, the target rows' gather, ce_finish
    expect(labels(two).filter((l) => l === 'crossentropy:ce_online')).toHaveLength(4);
    expect(two).toHaveLength(4 * 3 + 3);
    const three = (await crossEntropy(gpu, { ...args, dW: gpu.tensor('dW', [V, C]) })).dispatches;
    expect(lmHead(three)).toBe(4 * product); // two logits walks, dh and dW
    // walk 1: logits, ce_stats; ce_loss; walk 2: logits, ce_backward, dW, dh
    expect(three).toHaveLength(4 * 2 + 1 + 4 * 4);
  });

  it('every launch of a training step carries a cost', async () => {
    const gpu = await getGpu();
    const model = await loadModelFromFiles(gpu, await nodeDirFiles(join(__dirname, '../fixtures/tiny/qwen3')), 'tiny qwen3', { quant: 'nf4' });
    const trainer = await Trainer.create(model, { r: 4, alpha: 8 });
    const ds = await trainer.stepDispatches(benchBatch(model.cfg.V, 2, 16));
    const missing = ds.filter((d) => !(d.cost && Number.isFinite(d.cost.flops) && d.cost.bytes > 0)).map((d) => d.label);
    expect(missing).toEqual([]);
    // LoRA's optimiser: one Σg² reduce (2 launches) and one clipped AdamW over the flat buffers, not per tensor.
    const optimiser = ds.filter((d) => /^(reduce|adamw):/.test(d.label)).map((d) => d.label);
    expect(optimiser).toHaveLength(3);
    expect(optimiser[2]).toBe('adamw:adamw_step_clipped');
    trainer.dispose();
    model.dispose();
  });

  it('a LoRA step rotates q and k into qr and kr with no copy first, unless q/k norms wrote them (then in place)', async () => {
    const gpu = await getGpu();
    for (const [arch, entry] of [['qwen2', 'rope:rope_forward_out'], ['qwen3', 'rope:rope_forward']]) {
      const model = await loadModelFromFiles(gpu, await nodeDirFiles(join(__dirname, `../fixtures/tiny/${arch}`)), `tiny ${arch}`, { quant: 'nf4' });
      const trainer = await Trainer.create(model, { r: 4, alpha: 8, recompute: 'always' });
      const labels = (await trainer.stepDispatches(benchBatch(model.cfg.V, 2, 16))).map((d) => d.label);
      // q and k per layer, in the forward and again in the backward's recomputed forward.
      expect(labels.filter((l) => l.startsWith('rope:rope_forward')), arch).toEqual(Array(4 * model.cfg.L).fill(entry));
      trainer.dispose();
      model.dispose();
    }
  });

  it("a LoRA step computes q, k and v's u = h1·Aᵀ in one launch and gate and up's in one; with dropout, one per target", async () => {
    const gpu = await getGpu();
    const model = await loadModelFromFiles(gpu, await nodeDirFiles(join(__dirname, '../fixtures/tiny/qwen2')), 'tiny qwen2', { quant: 'nf4' });
    for (const [dropout, perLayer] of [[0, 4], [0.1, 7]]) {
      const trainer = await Trainer.create(model, { r: 4, alpha: 8, recompute: 'never', dropout });
      const labels = (await trainer.stepDispatches(benchBatch(model.cfg.V, 2, 16))).map((d) => d.label);
      // The forward's u = x·Aᵀ launches (the backward's products are the other two forms): {q, k, v}, o, {gate, up}, down.
      expect(labels.filter((l) => l.startsWith('matmul:matmul_forward')), `dropout ${dropout}`).toHaveLength(perLayer * model.cfg.L);
      trainer.dispose();
    }
    model.dispose();
  });
});

describe('the peak FMA kernel is checked on the CPU', () => {
  const n = 2048;
  const iters = 5;

  async function runFma(gpu: Gpu, d: Dispatch, out: Tensor): Promise<Float32Array> {
    await run(gpu, [d]);
    return gpu.read(out);
  }

  it('passes when the kernel does all its work, and fails when the claimed work is more than was done', async () => {
    const gpu = await getGpu();
    const out = gpu.tensor('out', [n]);
    const d = await peakFma(gpu, out, n, iters);
    expect(d.cost!.flops).toBe(2 * FMA_PER_ITER * iters * n);
    const got = await runFma(gpu, d, out);
    expect(got[n - 1]).toBe(expectedFma(n - 1, iters));
    expect(fmaMismatch(got, iters)).toBeNull();
    expect(fmaMismatch(got, iters + 1)).toMatch(/out\[0\] = .* after 6 iterations/);
    releaseDispatch(gpu, d);
  });

  it('fails for a kernel that skips one of its unrolled steps', async () => {
    const gpu = await getGpu();
    const source = shaderSource('peak');
    const broken = source.replace('for (var u = 0u; u < 4u; u++)', 'for (var u = 0u; u < 3u; u++)');
    expect(broken).not.toBe(source);
    const pipeline = await gpu.pipelines.fromSource('peak-broken.wgsl', broken, 'peak_fma');
    const out = gpu.tensor('out', [n]);
    const good = await peakFma(gpu, out, n, iters);
    // The same uniform and output, bound to the broken pipeline.
    const bindGroup = gpu.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: good.uniform! } }, { binding: 1, resource: binding(out) }],
    });
    const got = await runFma(gpu, { ...good, pipeline, bindGroup }, out);
    expect(fmaMismatch(got, iters)).toMatch(/^peak_fma: out\[0\] = 360, expected 440 after 5 iterations$/);
    releaseDispatch(gpu, good);
  });
});
