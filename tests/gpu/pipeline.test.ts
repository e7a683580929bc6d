// The whole pipeline and both baselines, end to end on a fixture model, with a teacher that solves
// the sample arithmetic questions; the report's numbers must add up and come from the real targets.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { splitTrainTest } from '../../src/data/dataset';
import { parseDataset } from '../../src/data/formats';
import { loadModel } from '../../src/index';
import { runPipeline } from '../../src/pipeline/pipeline';
import { memoryRunStorage } from '../../src/pipeline/storage';
import type { Model } from '../../src/model/model';
import { arithmeticTeacher } from './arithmetic-teacher';
import { getGpu } from './gpu';

const DATA = join(__dirname, '../fixtures/data/arith-sample.jsonl');

describe('the pipeline', () => {
  it('runs the pipeline in two phases and the reverse routing with a consistent report', async () => {
    const gpu = await getGpu();
    const model = await loadModel(gpu, { kind: 'dir', path: join(__dirname, '../fixtures/tiny/llama') }, { quant: 'none' });
    const { questions } = parseDataset(readFileSync(DATA, 'utf8'), 'arith-sample.jsonl');
    const { train, test } = splitTrainTest(questions.slice(0, 12), { testFraction: 0.34, seed: 1 });
    const storage = memoryRunStorage();
    const calls: string[] = [];
    const events: string[] = [];
    const report = await runPipeline(model, {
      train, test, teacher: arithmeticTeacher(calls), storage,
      methods: ['pipeline', 'reverse'], order: 'two-phase', thresholds: [0.5, 0.9],
      trainConfig: { lr: 5e-3, r: 4, alpha: 8 }, loop: { epochs: 1, batchSize: 4 },
      eval: { maxNewTokens: 12, maxBatch: 8 },
      onEvent: (e) => events.push(e.phase),
    });
    const [p, r] = report.methods;
    expect(report.methods.map((m) => m.method)).toEqual(['pipeline', 'reverse']);
    // Routing: counts add up; the pipeline sends only the hard bucket to the teacher, reverse the rest.
    for (const m of report.methods) {
      expect(m.targets.direct + m.targets.cot + m.targets.fallback).toBe(train.length);
      expect(m.accuracy.n).toBe(test.length);
      expect(m.buckets.easy.n + m.buckets.medium.n + m.buckets.hard.n).toBe(test.length);
    }
    const { easy, medium, hard } = report.scoring.train;
    expect(easy + medium + hard).toBe(train.length);
    expect(p.targets.cot + p.targets.fallback).toBe(hard);
    expect(r.targets.cot + r.targets.fallback).toBe(easy + medium);
    // Between them the two methods send every question to the teacher exactly once.
    expect(p.teacher.questions + r.teacher.questions).toBe(train.length);
    // Two phases: the direct targets' steps, then the chains of thought's, each in batches of 4.
    expect(p.steps).toBe(Math.ceil((p.targets.direct + p.targets.fallback) / 4) + Math.ceil(p.targets.cot / 4));
    expect(r.steps).toBe(Math.ceil(train.length / 4)); // one shuffled mix: the order applies to the pipeline only
    // Teacher: every question was asked once greedily; the wrong ones were asked again.
    for (const m of [p, r]) expect(m.teacher.kept + m.teacher.retried + m.teacher.fallback).toBe(m.teacher.questions);
    expect(p.teacher.retried + r.teacher.retried).toBeGreaterThan(0);
    expect(report.teacherUsage.calls).toBe(calls.length);
    expect(p.teacher.calls + r.teacher.calls).toBe(calls.length);
    expect(report.tokenSaving).toBeNull(); // no distill-all in this run
    const routed = new TextDecoder().decode((await storage.read('pipeline.train.jsonl'))!).trim().split('\n').map((l) => JSON.parse(l));
    expect(routed).toHaveLength(train.length);
    expect(routed.filter((x) => x.target === 'cot')).toHaveLength(p.targets.cot);
    expect(routed.every((r) => r.messages.at(-1).role === 'assistant')).toBe(true);
    expect(events).toContain('teacher');
    expect(events).toContain('eval');
    const md = new TextDecoder().decode((await storage.read('report.md'))!);
    console.log(md);
    expect(md).toContain('| pipeline |');
    model.dispose();
  }, 600_000);

  it('fine-tunes fully on a token budget: the same steps for every method, each from the base, the base back at the end, a stopped run resumed with the time of both processes', async () => {
    const gpu = await getGpu();
    const model = await loadModel(gpu, { kind: 'dir', path: join(__dirname, '../fixtures/tiny/llama') }, { quant: 'none' });
    const { questions } = parseDataset(readFileSync(DATA, 'utf8'), 'arith-sample.jsonl');
    const { train, test } = splitTrainTest(questions.slice(0, 10), { testFraction: 0.3, seed: 1 });
    const probe = model.encodePrompt('What is 2 + 2?');
    const logits = (m: Model) => m.logits([probe], [[0, probe.length - 1]]);
    const before = await logits(model);
    const same = async () => {
      const now = await logits(model);
      return Math.max(...now.map((x, i) => Math.abs(x - before[i])));
    };
    // 1280 tokens in steps of 2 rows of up to 128 tokens: 5 steps for each method, whatever its data.
    const options = {
      train, test, teacher: arithmeticTeacher(), methods: ['pipeline', 'sft-all'] as const, thresholds: [0.5, 0.9] as [number, number],
      trainConfig: { mode: 'full' as const, lr: 1e-2 }, loop: { batchSize: 2, pack: 128 }, trainTokens: 1280, eval: { maxNewTokens: 8, maxBatch: 8 },
    };
    const storage = memoryRunStorage();
    // Stopped during the second method: the base is written back all the same.
    const ctrl = new AbortController();
    await expect(runPipeline(model, {
      ...options, methods: [...options.methods], storage, signal: ctrl.signal,
      onEvent: (e) => {
        if (e.phase === 'train' && e.method === 'sft-all' && e.step === 2) ctrl.abort();
      },
    })).rejects.toThrow(/stopped at step 2/);
    expect(await same()).toBe(0);
    // What the stopped process spent is kept in the run's folder …
    const spent = async () => {
      const t = new Map<string, number>();
      for (const l of new TextDecoder().decode((await storage.read('times.jsonl'))!).trim().split('\n')) {
        const r = JSON.parse(l) as { id: string; seconds: number };
        t.set(r.id, (t.get(r.id) ?? 0) + r.seconds);
      }
      return t;
    };
    const first = await spent();
    for (const clock of ['run', 'train pipeline', 'eval pipeline', 'train sft-all']) expect(first.get(clock), clock).toBeGreaterThan(0);
    expect(first.has('eval sft-all')).toBe(false);

    const logs: string[] = [];
    const report = await runPipeline(model, { ...options, methods: [...options.methods], storage, onEvent: (e) => e.phase === 'log' && logs.push(e.text) });
    expect(logs.filter((t) => t.startsWith('sft-all: resuming from step 2 '))).toHaveLength(1);
    // … and the resumed run's report counts it: pipeline had finished (this process only reloaded its
    // checkpoint and evaluation records), sft-all trained in both, and the run took both processes' time.
    const [rp, rs] = report.methods;
    const all = await spent();
    expect(rp.trainSeconds).toBeGreaterThanOrEqual(first.get('train pipeline')!);
    expect(rp.evalSeconds).toBeGreaterThanOrEqual(first.get('eval pipeline')!);
    expect(rs.trainSeconds).toBeGreaterThan(first.get('train sft-all')!);
    expect(rs.trainSeconds).toBeCloseTo(all.get('train sft-all')!, 6);
    expect(report.seconds).toBeGreaterThan(first.get('run')! + rs.trainSeconds - first.get('train sft-all')!);
    expect(report.seconds).toBeCloseTo(all.get('run')!, 6);
    expect(report.budget).toEqual({ trainTokens: 1280, rowsPerStep: 2, pack: 128, steps: 5 });
    for (const m of report.methods) {
      expect(m.steps).toBe(5);
      expect(m.weights).toBe('model');
      expect(m.trainTokens!.trained).toBeGreaterThan(0);
      expect(m.trainTokens!.processed).toBeGreaterThan(m.trainTokens!.trained); // the prompts are processed, not trained
      expect(m.epochs).toBeGreaterThan(1); // 7 questions fill fewer than the 10 rows of the budget: they are cycled
    }
    expect(await same()).toBe(0);
    // Each output is a model folder (as `train --full` writes), not an adapter.
    const out = await storage.sink('sft-all');
    expect(await out.read('model.safetensors')).not.toBeNull();
    expect(await out.read('config.json')).not.toBeNull();
    expect(await out.read('adapter_config.json')).toBeNull();

    // sft-all started from the base, not from the pipeline's weights: alone on a fresh run it takes
    // the same steps (and its resumed half matches the uninterrupted run).
    const alone = await runPipeline(model, { ...options, methods: ['sft-all'], storage: memoryRunStorage() });
    const [s] = report.methods.filter((m) => m.method === 'sft-all');
    expect(alone.methods[0].loss.first).toBeCloseTo(s.loss.first, 5);
    expect(alone.methods[0].loss.last).toBeCloseTo(s.loss.last, 4);
    expect(alone.methods[0].trainTokens).toEqual(s.trainTokens);
    expect(await same()).toBe(0);
    console.log(new TextDecoder().decode((await storage.read('report.md'))!));
    model.dispose();
  }, 600_000);
});
