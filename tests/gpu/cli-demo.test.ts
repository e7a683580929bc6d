// The offline demo command end to end on the committed demo model, at a size that fits the test
// suite: the table is printed, the report adds up, the question sets are written in the users' JSONL
// schema, and each method's adapter is a PEFT adapter of the demo model.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './cli';
import { DEMO_MODEL_NAME } from '../../src/demo/settings';
import { parseDataset } from '../../src/data/dataset';

describe('entrotune demo', () => {
  it('runs the three methods on the demo model and prints the table and the targets', async () => {
    const out = mkdtempSync(join(tmpdir(), 'entrotune-demo-'));
    const r = await run(['demo', '--quick', '--train', '12', '--test', '8', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    for (const m of ['base (before training)', 'pipeline', 'sft-all', 'distill-all']) expect(r.stdout).toContain(`| ${m} |`);
    expect(r.stdout).toMatch(/targets \(issue #8\):/);
    expect(r.stdout.match(/^ {2}(met {4}|NOT met) {2}/gm)).toHaveLength(4);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.data).toMatchObject({ train: 12, test: 8, invalid: 0 });
    expect(report.methods.map((m: { method: string }) => m.method)).toEqual(['pipeline', 'sft-all', 'distill-all']);
    for (const m of report.methods) {
      expect(m.targets.direct + m.targets.cot + m.targets.fallback).toBe(12);
      // The demo teacher is a program that really solves the sums: it never misses, so nothing falls back.
      expect(m.targets.fallback).toBe(0);
    }
    expect(parseDataset(readFileSync(join(out, 'train.jsonl'), 'utf8'), 'train.jsonl', { onInvalid: 'stop' }).questions).toHaveLength(12);
    const cfg = JSON.parse(readFileSync(join(out, 'pipeline', 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ peft_type: 'LORA', r: 4, base_model_name_or_path: DEMO_MODEL_NAME });
  }, 600_000);
});
