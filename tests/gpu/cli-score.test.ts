// The score CLI end to end on a fixture model and the committed sample dataset, and a run killed
// midway (SIGKILL) that resumes without re-scoring what it had finished.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT, run } from './cli';

const MODEL = join(ROOT, 'tests/fixtures/tiny/llama');
const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);

describe('entrotune score', () => {
  it('scores the sample dataset and writes scores, splits and the report', async () => {
    const out = mkdtempSync(join(tmpdir(), 'entrotune-score-'));
    const r = await run(['score', '--model', MODEL, '--data', 'tests/fixtures/data/arith-sample.jsonl', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ROC AUC/);
    expect(r.stdout).toMatch(/\| easy \|/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const n = lines(join(ROOT, 'tests/fixtures/data/arith-sample.jsonl')).length;
    expect(report.total).toBe(n);
    expect(lines(join(out, 'scores.jsonl'))).toHaveLength(n);
    const split = ['easy', 'medium', 'hard'].flatMap((b) => lines(join(out, `${b}.jsonl`)).map((l) => JSON.parse(l).id));
    expect(new Set(split).size).toBe(split.length); // disjoint
    expect(split.length).toBe(report.total); // covering every example: one that named no option is hard
  });

  it('splits by another signal with a teacher budget, and reports every signal\'s ROC AUC', async () => {
    const out = mkdtempSync(join(tmpdir(), 'entrotune-score-signal-'));
    const r = await run(['score', '--model', MODEL, '--data', 'tests/fixtures/data/arith-sample.jsonl', '--out', out, '--signal', 'margin', '--teacher-budget', '5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| 1 − margin between the two likeliest options \(splits\) \|/);
    expect(r.stdout).toContain('hard: the 5 most complex questions, the teacher budget');
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report).toMatchObject({ signal: 'margin', teacherBudget: 5 });
    expect(Object.keys(report.signals)).toEqual(['entropy', 'entropy-options', 'top1', 'margin']);
    expect(report.buckets.hard.count).toBeLessThanOrEqual(5); // (answers that named no option take their share of the 5)
    expect(lines(join(out, 'hard.jsonl'))).toHaveLength(5); // exactly the budget, those included
    const bad = await run(['score', '--model', MODEL, '--data', 'tests/fixtures/data/arith-sample.jsonl', '--out', out, '--signal', 'perplexity']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("unknown complexity signal 'perplexity'");
  });

  it('resumes a run killed midway without re-scoring finished examples', async () => {
    const out = mkdtempSync(join(tmpdir(), 'entrotune-resume-'));
    const data = join(out, 'many.jsonl');
    writeFileSync(data, Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: `m${i}`, question: `What is ${i} + ${i % 7}?`, options: [`${2 * i}`, `${i + (i % 7)}`, `${i}`, `${i + 1}`], answer_index: 1, subject: i % 2 ? 'odd' : 'even' })).join('\n') + '\n');
    const scores = join(out, 'scores.jsonl');
    const p = spawn(process.execPath, [CLI, 'score', '--model', MODEL, '--data', data, '--out', out, '--batch', '2'], { cwd: ROOT });
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (lines(scores).length >= 6) { clearInterval(t); p.kill('SIGKILL'); resolve(); }
      }, 5);
      p.on('close', () => { clearInterval(t); reject(new Error('the run finished before it could be killed')); });
    });
    await new Promise((r) => p.on('close', r));
    const before = lines(scores);
    expect(before.length).toBeGreaterThanOrEqual(6);
    expect(before.length).toBeLessThan(30);
    const r = await run(['score', '--model', MODEL, '--data', data, '--out', out, '--batch', '2']);
    expect(r.code, r.stderr).toBe(0);
    const done = before.filter((l) => { try { JSON.parse(l); return true; } catch { return false; } }).length;
    expect(r.stderr).toContain(`resuming: ${done} of 30 already scored`);
    const after = lines(scores);
    expect(after).toHaveLength(30);
    expect(after.slice(0, done)).toEqual(before.slice(0, done)); // finished lines untouched
    expect(new Set(after.map((l) => JSON.parse(l).id)).size).toBe(30); // nothing scored twice
  }, 300_000); // two CLI runs; generous because CI machines are shared

  it('leaves no output folder behind when the model fails to load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'entrotune-score-bad-'));
    const out = join(dir, 'out');
    const r = await run(['score', '--model', join(dir, 'no-such-model'), '--data', 'tests/fixtures/data/arith-sample.jsonl', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no-such-model/);
    expect(existsSync(out)).toBe(false);
  });
});
