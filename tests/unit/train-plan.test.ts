import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LimitTooLowError } from '../../src/errors';
import { fromHfConfig } from '../../src/model/config';
import { planTraining, trainingPlanTable } from '../../src/train/plan';
import { U_GROUPS } from '../../src/train/train-plan';
import { LORA_TARGETS, projectionShape } from '../../src/model/architecture';

const DIR = join(__dirname, '../fixtures/configs');
const cfg = (name: string) => fromHfConfig(JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')));
const GiB = 2 ** 30;
const limits = { maxStorageBufferBindingSize: 2 * GiB - 4, maxBufferSize: 2 * GiB - 4, minStorageBufferOffsetAlignment: 256 };

describe('training memory plan from config.json alone (QLoRA nf4, batch×seq 1×1024, r=16)', () => {
  it('meets the targets: Qwen2.5-0.5B ≤ 1.2 GiB, Llama-3.2-3B ≤ 4 GiB', () => {
    const o = { quant: 'nf4' as const, batch: 1, seqLen: 1024, r: 16, limits };
    expect(planTraining(cfg('Qwen2.5-0.5B-Instruct'), o).total).toBeLessThanOrEqual(1.2 * GiB);
    expect(planTraining(cfg('Llama-3.2-3B-Instruct'), o).total).toBeLessThanOrEqual(4 * GiB);
    const all = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort().map((f) => ({ name: f.replace('.json', ''), cfg: fromHfConfig(JSON.parse(readFileSync(join(DIR, f), 'utf8'))) }));
    console.log(trainingPlanTable(all, o));
  });

  it('plans what the trainer allocates: recompute auto keeps small models\' layers, not large ones\'', () => {
    const demo = fromHfConfig(JSON.parse(readFileSync(join(__dirname, '../../public/demo/model/config.json'), 'utf8')));
    const o = { quant: 'none' as const, batch: 8, seqLen: 96, r: 4, limits };
    const acts = (p: ReturnType<typeof planTraining>) => p.arenas.find((a) => a.name.startsWith('activations'))!;
    const kept = planTraining(demo, o), recomputed = planTraining(demo, { ...o, recompute: 'always' });
    expect(acts(kept).name).toContain('every layer kept');
    expect(acts(recomputed).name).toContain('recomputed per layer');
    expect(acts(kept).bytes).toBeGreaterThan(acts(recomputed).bytes);
    expect(acts(planTraining(cfg('Qwen2.5-0.5B-Instruct'), { quant: 'nf4', batch: 1, seqLen: 1024, r: 16, limits })).name).toContain('recomputed per layer');
  });

  it('refuses a plan over budget, naming the setting to lower', () => {
    expect(() => planTraining(cfg('Qwen2.5-0.5B-Instruct'), { quant: 'nf4', batch: 16, seqLen: 2048, r: 16, limits, budgetBytes: 2 * GiB })).toThrow(LimitTooLowError);
    expect(() => planTraining(cfg('Qwen2.5-0.5B-Instruct'), { quant: 'nf4', batch: 16, seqLen: 2048, r: 16, limits, budgetBytes: 2 * GiB })).toThrow(/lower the batch size or the sequence length/);
  });
});

describe("the adapter's u groups", () => {
  it('hold every target once, in LORA_TARGETS order, and only targets that read the same input share a group', () => {
    expect(U_GROUPS.flatMap((g) => g.targets)).toEqual([...LORA_TARGETS]);
    // A group is one batched launch u = x·Aᵀ, so its targets must read the same x.
    const qwen = cfg('Qwen3-0.6B'); // NH·HS = 2048 ≠ C = 1024: o_proj reads another width than q, k, v
    for (const g of U_GROUPS) expect(new Set(g.targets.map((t) => projectionShape(qwen, t).in)).size, g.name).toBe(1);
  });
});
