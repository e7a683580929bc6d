// A QLoRA training step at the published sizes (synthetic NF4 weights of a real config.json), profiled
// per kernel against the adapter's measured ceilings: time, FLOPs and bytes from each launch's cost,
// achieved GFLOP/s and GB/s, and the fraction of the FMA peak and of the copy bandwidth they reach.

import type { Gpu } from '../../src/gpu/device';
import { syntheticModelFiles } from './synthetic';
import type { Peak } from './peak';
import { byKernel, timeEach, type KernelShare } from './profile';
import { withTrainer } from './training';

/** The published sizes the issue names, as file names in tests/fixtures/configs. */
export const PUBLISHED_SIZES = ['SmolLM2-135M-Instruct', 'Qwen2.5-0.5B-Instruct', 'Llama-3.2-1B-Instruct'];

export interface StepProfile {
  model: string;
  /** B×T of the batch (every token trained in the second half of each row). */
  batch: string;
  r: number;
  kernels: string;
  source: string;
  launches: number;
  loadSeconds: number;
  /** Wall time of one warm trainStep (forward, backward, norm, AdamW, the loss readback). */
  msPerStep: number;
  tokensPerSecond: number;
  profile: KernelShare[];
}

/**
 * Load `config` with synthetic NF4 weights, build the step's plan, time every launch of one step
 * (which also warms it), then time one trainStep for tokens/s.
 */
export async function profilePublished(gpu: Gpu, name: string, config: Record<string, unknown>, B: number, T: number, r: number): Promise<StepProfile> {
  const t0 = performance.now();
  let loaded = 0;
  return withTrainer(gpu, { model: name, files: async () => syntheticModelFiles(config), quant: 'nf4', mode: 'lora', r, B, T }, async (trainer, batch) => {
    loaded = (performance.now() - t0) / 1000;
    process.stderr.write(`  ${name}: loaded in ${loaded.toFixed(1)} s, profiling a ${B}×${T} step…\n`);
    const ds = await trainer.stepDispatches(batch);
    const { seconds, source } = await timeEach(gpu, ds);
    process.stderr.write(`  ${name}: timing a step…\n`);
    const t1 = performance.now();
    await trainer.trainStep(batch);
    const secs = (performance.now() - t1) / 1000;
    return {
      model: name, batch: `${B}×${T}`, r, kernels: gpu.kernels, source, launches: ds.length, loadSeconds: loaded,
      msPerStep: secs * 1000, tokensPerSecond: (B * T) / secs, profile: byKernel(ds, seconds),
    };
  });
}

const fmt = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(x < 0.001 ? 3 : 1)}%` : '—');

/** Per kernel: time, work, achieved rates and fractions of the measured ceilings; the whole step last. */
export function rooflineTable(p: readonly KernelShare[], peak: Peak, top = 16): string {
  const rows = [
    '| kernel | launches | ms | share | GFLOP | MB | FLOP/B | GFLOP/s | GB/s | of FMA peak | of copy BW |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const line = (k: Pick<KernelShare, 'kernel' | 'launches' | 'seconds' | 'share' | 'flops' | 'bytes'>) => {
    const gflops = k.flops / k.seconds / 1e9;
    const gbps = k.bytes / k.seconds / 1e9;
    rows.push(
      `| ${k.kernel} | ${k.launches} | ${fmt(k.seconds * 1000, 1)} | ${pct(k.share)} | ${fmt(k.flops / 1e9, 3)} | ${fmt(k.bytes / 1e6, 1)} | ${fmt(k.flops / k.bytes, 1)} | ` +
        `${fmt(gflops, 2)} | ${fmt(gbps, 2)} | ${pct(gflops / peak.gflops)} | ${pct(gbps / peak.gbps)} |`,
    );
  };
  const sum = (ks: readonly KernelShare[], kernel: string) => ({
    kernel,
    launches: ks.reduce((s, k) => s + k.launches, 0),
    seconds: ks.reduce((s, k) => s + k.seconds, 0),
    share: ks.reduce((s, k) => s + k.share, 0),
    flops: ks.reduce((s, k) => s + k.flops, 0),
    bytes: ks.reduce((s, k) => s + k.bytes, 0),
  });
  for (const k of p.slice(0, top)) line(k);
  const rest = p.slice(top);
  if (rest.length) line(sum(rest, `(${rest.length} others)`));
  line(sum(p, '**whole step**'));
  return rows.join('\n');
}

/** What `--json` carries per size. */
export function stepJson(s: StepProfile, peak: Peak) {
  return {
    model: s.model, batch: s.batch, r: s.r, kernels: s.kernels, source: s.source, launches: s.launches,
    loadSeconds: s.loadSeconds, msPerStep: s.msPerStep, tokensPerSecond: s.tokensPerSecond,
    perKernel: s.profile.map((k) => ({
      kernel: k.kernel, launches: k.launches, seconds: k.seconds, flops: k.flops, bytes: k.bytes,
      fractionOfPeak: k.flops / k.seconds / 1e9 / peak.gflops,
      fractionOfBandwidth: k.bytes / k.seconds / 1e9 / peak.gbps,
    })),
  };
}
