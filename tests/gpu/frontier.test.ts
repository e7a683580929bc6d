// The routing frontier end to end on a tiny model: pipeline@0, @0.5 and @1 beside sft-all and
// distill-all in one run (one teacher cache), stopped during a point and resumed. The ends must train on
// exactly the baselines' targets, each point must send the most complex questions to the teacher, and
// its teacher tokens and calls must be what its routed set holds.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { splitTrainTest } from '../../src/data/dataset';
import { parseDataset } from '../../src/data/formats';
import { loadModel } from '../../src/index';
import { runPipeline } from '../../src/pipeline/pipeline';
import { memoryRunStorage } from '../../src/pipeline/storage';
import type { ScoreRecord } from '../../src/score/score';
import type { ChatMessage } from '../../src/tokenizer/tokenizer';
import { chatExample } from '../../src/train/loop';
import { getGpu } from './gpu';
import { arithmeticTeacher } from './arithmetic-teacher';

const DATA = join(__dirname, '../fixtures/data/arith-sample.jsonl');

interface Routed { id: string; target: 'direct' | 'cot' | 'fallback'; messages: ChatMessage[] }

describe('the routing frontier', () => {
  it('trains pipeline@f from the same base: 0 and 1 are sft-all and distill-all, every point\'s teacher cost is its routed set\'s', async () => {
    const gpu = await getGpu();
    const model = await loadModel(gpu, { kind: 'dir', path: join(__dirname, '../fixtures/tiny/llama') }, { quant: 'none' });
    const tok = model.tokenizer!;
    const { questions } = parseDataset(readFileSync(DATA, 'utf8'), 'arith-sample.jsonl');
    const { train, test } = splitTrainTest(questions.slice(0, 12), { testFraction: 0.34, seed: 1 });
    const storage = memoryRunStorage();
    // The tiny random model names no option for any question, which would make every question equally
    // complex; the run's stored scores (which a run reuses instead of scoring again) give it a spread:
    // distinct entropies, right and wrong answers, and one question that named no option.
    const scored: ScoreRecord[] = [...train, ...test].map((q, i) => ({
      id: q.id, subject: q.subject, entropy: ((i * 7) % 12) / 4, entropyOptions: 0.1 * i, optionMass: 0.5, top1: 0.5, margin: 0.2,
      pred: i === 3 ? null : q.answer, predToken: 1, gold: q.answer, correct: i === 3 ? null : i % 3 !== 0, promptTokens: 30,
    }));
    await (await storage.records<ScoreRecord>('scores.jsonl')).append(scored);
    const calls: string[] = [];
    const options = {
      train, test, teacher: arithmeticTeacher(calls), storage,
      methods: ['sft-all', 'distill-all', 'pipeline@0', 'pipeline@0.5', 'pipeline@1'] as const,
      trainConfig: { lr: 5e-3, r: 4, alpha: 8 }, loop: { batchSize: 2, pack: 128, checkpointEvery: 1 }, trainTokens: 512,
      eval: { maxNewTokens: 8, maxBatch: 8 },
    };
    // Stopped during a frontier point: it resumes from its own checkpoint folder.
    const ctrl = new AbortController();
    await expect(runPipeline(model, {
      ...options, methods: [...options.methods], signal: ctrl.signal,
      onEvent: (e) => {
        if (e.phase === 'train' && e.method === 'pipeline@0.5' && e.step === 1) ctrl.abort();
      },
    })).rejects.toThrow(/stopped at step 1/);
    model.setAdapter(null); // (what the engine does after a stopped run: the pipeline starts from the base)
    const logs: string[] = [];
    const report = await runPipeline(model, { ...options, methods: [...options.methods], onEvent: (e) => e.phase === 'log' && logs.push(e.text) });
    expect(logs.filter((t) => t.startsWith('pipeline@0.5: resuming from step 1 '))).toHaveLength(1);

    const read = async (name: string) => new TextDecoder().decode((await storage.read(name))!).trim().split('\n').map((l) => JSON.parse(l));
    const routed = async (m: string): Promise<Routed[]> => read(`${m}.train.jsonl`);
    // The ends route exactly as the baselines: the same questions, buckets, targets and messages.
    expect(await routed('pipeline@0')).toEqual(await routed('sft-all'));
    expect(await routed('pipeline@1')).toEqual(await routed('distill-all'));

    // Each point sends round(f · n) questions, the most complex by entropy (no option named: most of all).
    const scores = new Map((await read('scores.jsonl') as ScoreRecord[]).map((r) => [r.id, r]));
    const complexity = (id: string) => (scores.get(id)!.correct === null ? Infinity : scores.get(id)!.entropy);
    expect(report.frontier!.map((p) => p.fraction)).toEqual([0, 0.5, 1]);
    expect(report.scoring.train).toEqual({ easy: 2, medium: 3, hard: 3 }); // a real split, not everything hard
    for (const p of report.frontier!) {
      const rows = await routed(p.method);
      const toTeacher = rows.filter((r) => r.target !== 'direct');
      expect(toTeacher.length).toBe(Math.round(p.fraction * train.length));
      expect(p.questions).toBe(toTeacher.length);
      const direct = rows.filter((r) => r.target === 'direct').map((r) => complexity(r.id));
      for (const r of toTeacher) expect(complexity(r.id)).toBeGreaterThan(Math.max(-Infinity, ...direct));
      // Teacher target tokens: the assistant tokens of the kept chains in its routed set.
      const tokens = rows.filter((r) => r.target === 'cot').reduce((s, r) => s + chatExample(tok, r.messages).labels.filter((l) => l !== -100).length, 0);
      expect(p.teacherTargetTokens).toBe(tokens);
      expect(p.cot).toBe(rows.filter((r) => r.target === 'cot').length);
      // Teacher calls: every reply its questions took (asked once for the whole run, retries included).
      const ids = new Set(toTeacher.map((r) => r.id));
      expect(p.teacherCalls).toBe(calls.filter((c) => ids.has(c.split('@')[0])).length);
      expect(p.accuracy.n).toBe(test.length);
    }
    const byName = new Map(report.methods.map((m) => [m.method, m]));
    expect(report.frontier![0].teacherTargetTokens).toBe(0);
    expect(report.frontier![2].teacherTargetTokens).toBe(byName.get('distill-all')!.cotTargetTokens);
    expect(report.frontier![2].teacherTargetTokens).toBeGreaterThan(0);
    // One cache for the whole run: no question was asked twice at the same temperature.
    expect(new Set(calls).size).toBe(calls.length);
    const md = new TextDecoder().decode((await storage.read('report.md'))!);
    expect(md).toContain('## The routing frontier');
    expect(md).toMatch(/<svg [^>]*>[\s\S]*held-out accuracy[\s\S]*<\/svg>/);
    console.log(md);
    model.dispose();
  }, 600_000);
});
