// The offline demo command end to end on the committed demo model, at a size that fits the test
// suite (two seeds of a smoke run): the tables are printed per seed and over the seeds, the report adds
// up, every method had the same token budget, the question sets are written in the users' JSONL
// schema, and each method's output is a full model folder (the demo fine-tunes every weight).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './cli';
import { parseDataset } from '../../src/data/formats';

describe('entrotune demo', () => {
  it('runs the three methods for two seeds and prints the tables, the spread over the seeds and the targets', async () => {
    const out = mkdtempSync(join(tmpdir(), 'entrotune-demo-'));
    const r = await run(['demo', '--quick', '--seeds', '0,1', '--train', '12', '--test', '8', '--train-tokens', '1024', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    // A smoke run says so, before it starts and where its targets are printed; no issue is named.
    expect(r.stderr).toContain('--quick is a smoke run of the machinery');
    expect(r.stdout).toMatch(/^targets \(a smoke run of the machinery: .*not expected to be met/m);
    expect(r.stdout).not.toMatch(/issue/i);
    for (const seed of [0, 1]) expect(r.stdout).toContain(`# offline demo, seed ${seed}`);
    for (const m of ['base (before training)', 'pipeline', 'sft-all', 'distill-all']) expect(r.stdout).toContain(`| ${m} |`);
    expect(r.stdout).toContain('# 2 seeds (0, 1): held-out accuracy in %, mean [min–max]');
    // Four targets per seed and four over the seeds, one line each.
    expect(r.stdout.match(/^ {2}(met {4}|NOT met) {2}/gm)).toHaveLength(12);
    expect(r.stdout).toMatch(/^ {2}(met {4}|NOT met) {2}entropy ROC AUC ≥ 0\.7 \(train\): \d of 2 seeds/m);
    // Progress lines say what they count.
    expect(r.stderr).toMatch(/tokens\/s: \d+ processed \(prompt \+ target\), \d+ trained \(target\)/);
    expect(r.stderr).toMatch(/whole demo \(every seed\) (≥ )?[\d.]+ (s|min)/);

    const report = JSON.parse(readFileSync(join(out, 'seed1', 'report.json'), 'utf8'));
    expect(report.data).toMatchObject({ train: 12, test: 8, invalid: 0 });
    // (Rows of 256 tokens, or fewer if the demo model's context is shorter.)
    const { budget } = report;
    expect(budget).toMatchObject({ trainTokens: 1024, rowsPerStep: 4 });
    expect(budget.pack).toBeLessThanOrEqual(256);
    expect(budget.steps).toBe(Math.ceil(1024 / (4 * budget.pack)));
    expect(report.methods.map((m: { method: string }) => m.method)).toEqual(['pipeline', 'sft-all', 'distill-all']);
    for (const m of report.methods) {
      expect(m.targets.direct + m.targets.cot + m.targets.fallback).toBe(12);
      // The demo teacher is a program that really solves the questions: it never misses, so nothing falls back.
      expect(m.targets.fallback).toBe(0);
      expect(m.steps).toBe(budget.steps);
      expect(m.weights).toBe('model');
    }
    expect(parseDataset(readFileSync(join(out, 'seed1', 'train.jsonl'), 'utf8'), 'train.jsonl', { onInvalid: 'stop' }).questions).toHaveLength(12);
    const cfg = JSON.parse(readFileSync(join(out, 'seed1', 'pipeline', 'config.json'), 'utf8'));
    expect(cfg.model_type).toBe('llama');
    expect(readFileSync(join(out, 'seed1', 'pipeline', 'model.safetensors')).length).toBeGreaterThan(100_000);
  }, 900_000);
});
