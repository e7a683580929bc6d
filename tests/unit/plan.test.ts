import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromHfConfig } from '../../src/model/config';
import { planInference, DEFAULT_LIMITS } from '../../src/model/plan';

const DIR = join(__dirname, '../fixtures/configs');
const configs = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => [f.replace('.json', ''), fromHfConfig(JSON.parse(readFileSync(join(DIR, f), 'utf8')))] as const);

describe('inference memory plan from config.json alone', () => {
  it('keeps NF4 base weights ≤ 0.57 bytes per parameter for every published model', () => {
    for (const [name, cfg] of configs) {
      const plan = planInference(cfg, { quant: 'nf4', batch: 1, seqLen: 512 });
      expect(plan.bytesPerParameter, name).toBeLessThanOrEqual(0.57);
      expect(plan.bytesPerParameter, name).toBeGreaterThan(0.5);
    }
  });

  it('splits the vocabulary matrix of Qwen2.5-3B into chunks under the default 128 MiB binding', () => {
    const cfg = configs.find(([n]) => n === 'Qwen2.5-3B-Instruct')![1];
    const plan = planInference(cfg, { quant: 'nf4', batch: 1, seqLen: 512, limits: DEFAULT_LIMITS });
    expect(plan.chunkedMatrices.find((c) => c.name === 'embed_tokens')!.chunks).toBeGreaterThanOrEqual(2);
  });

  it('counts f32 weights at 4 bytes per parameter', () => {
    const cfg = configs.find(([n]) => n === 'SmolLM2-135M-Instruct')![1];
    const plan = planInference(cfg, { quant: 'none', batch: 1, seqLen: 16, limits: { ...DEFAULT_LIMITS, maxStorageBufferBindingSize: 2 ** 30, maxBufferSize: 2 ** 30 } });
    expect(plan.bytesPerParameter).toBeCloseTo(4, 2);
  });
});
