// `entrotune pipeline` end to end with a teacher behind a real OpenAI-compatible HTTP server on
// 127.0.0.1: killed during teacher generation and started again, it never repeats a call whose
// reply it had stored, and the final report's numbers add up.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDataset } from '../../src/data/formats';
import { solveArithmetic, startOpenAiServer, type ChatRequestBody } from '../fixtures/openai-server';
import { CLI, ROOT, run } from './cli';

const MODEL = join(ROOT, 'tests/fixtures/tiny/llama');
const DATA = join(ROOT, 'tests/fixtures/data/arith-sample.jsonl');
const questions = parseDataset(readFileSync(DATA, 'utf8'), 'arith-sample.jsonl').questions;
const idOf = (body: ChatRequestBody) => questions.find((q) => String(body.messages.at(-1)?.content).startsWith(q.question))?.id;
const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);

// The teacher gets every third question wrong when greedy, right when asked again with temperature.
const server = await startOpenAiServer({
  delayMs: 150,
  answer: (body) => {
    const s = solveArithmetic(body)!;
    const n = Number(idOf(body)?.slice(-1) ?? 0);
    const pick = (body.temperature ?? 0) === 0 && n % 3 === 0 ? s.wrong : s.right;
    return `Work it out: ${body.messages.at(-1)!.content.split('\n')[0]} [[${pick}]]`;
  },
});
afterAll(() => server.close());

describe('entrotune pipeline', () => {
  it('runs the pipeline and both baselines with an HTTP teacher, and a killed run repeats no teacher call', async () => {
    const out = mkdtempSync(join(tmpdir(), 'entrotune-pipeline-'));
    const args = ['pipeline', '--model', MODEL, '--data', DATA, '--limit', '12', '--test-fraction', '0.34', '--teacher', `${server.url}#tiny-teacher`,
      '--out', out, '--concurrency', '1', '--r', '4', '--lr', '5e-3', '--batch', '4', '--max-new-tokens', '12', '--quant', 'none'];
    const p = spawn(process.execPath, [CLI, ...args], { cwd: ROOT });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    const teacherFile = join(out, 'teacher.jsonl');
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (lines(teacherFile).length >= 3) { clearInterval(t); p.kill('SIGKILL'); resolve(); }
      }, 5);
      p.on('close', () => { clearInterval(t); reject(new Error(`the run ended before it could be killed:\n${stderr}`)); });
    });
    await new Promise((r) => p.on('close', r));
    const stored = new Set(lines(teacherFile).flatMap((l) => { try { const a = JSON.parse(l); return [`${a.question}|${a.temperature}`]; } catch { return []; } }));
    const before = server.calls.length;
    expect(stored.size).toBeGreaterThanOrEqual(3);

    const r = await run(args);
    expect(r.code, r.stderr).toBe(0);
    const again = server.calls.slice(before).map((b) => `${idOf(b)}|${b.temperature ?? 0}`);
    for (const k of again) expect(stored.has(k), `repeated teacher call ${k}`).toBe(false);

    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.methods.map((m: { method: string }) => m.method)).toEqual(['pipeline', 'sft-all', 'distill-all']);
    const [pl, sft, dist] = report.methods;
    for (const m of report.methods) expect(m.targets.direct + m.targets.cot + m.targets.fallback).toBe(report.data.train);
    expect(dist.teacher.questions).toBe(report.data.train);
    expect(dist.teacher.kept + dist.teacher.retried + dist.teacher.fallback).toBe(report.data.train);
    expect(dist.teacher.retried).toBeGreaterThan(0);
    expect(sft.teacher.calls).toBe(0);
    expect(report.teacherUsage.calls).toBe(again.length);
    expect(report.teacherUsage.cached).toBeGreaterThanOrEqual(stored.size);
    // Target tokens are counted from the routed sets written next to the report.
    expect(report.tokenSaving).toBeCloseTo(1 - pl.targetTokens / dist.targetTokens, 10);
    const routed = lines(join(out, 'distill-all.train.jsonl')).map((l) => JSON.parse(l));
    expect(routed).toHaveLength(report.data.train);
    expect(routed.filter((x) => x.target === 'cot').length).toBe(dist.targets.cot);
    for (const m of ['pipeline', 'sft-all', 'distill-all']) {
      expect(existsSync(join(out, m, 'adapter_model.safetensors')), m).toBe(true);
      expect(JSON.parse(readFileSync(join(out, m, 'adapter_config.json'), 'utf8')).peft_type).toBe('LORA');
    }
    expect(r.stdout).toContain('| pipeline |');
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('target-token saving');

    // The exported adapter evaluates on its own, with the same greedy decoding.
    const e = await run(['eval', '--model', MODEL, '--adapter', join(out, 'pipeline'), '--data', DATA, '--max-new-tokens', '4', '--quant', 'none', '--out', out]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/accuracy \d+\.\d% \[[\d.]+, [\d.]+\] on 24 questions/);
    expect(lines(join(out, 'eval.jsonl'))).toHaveLength(24);
  }, 600_000);
});
