// The HTTP teacher against a real OpenAI-compatible server on 127.0.0.1 (tests/fixtures/openai-server.ts):
// URL forms, what is sent and read back, retries (500, 429 with Retry-After, network, timeout), the
// errors a retry cannot fix, caller aborts, the concurrency limit, teacher specs, and distill()
// end to end with its answer cache.

import { afterEach, describe, expect, it } from 'vitest';
import type { Question } from '../../src/data/dataset';
import { TeacherError } from '../../src/errors';
import { memoryStore } from '../../src/score/store';
import { distill, type TeacherAnswer } from '../../src/teacher/cot';
import { httpTeacher, normaliseTeacherUrl, parseTeacherSpec, retryAfterMs, type HttpTeacherOptions } from '../../src/teacher/http';
import type { TeacherRequest } from '../../src/teacher/teacher';
import { solveArithmetic, startOpenAiServer, type OpenAiServer, type OpenAiServerOptions } from '../fixtures/openai-server';

const KEY = 'sk-test-0123456789abcdef';

const question: Question = { id: 'q0', question: 'What is 2 + 3?', options: ['4', '5', '6', '7'], answer: 1, subject: 'arithmetic' };

function request(o: Partial<TeacherRequest> = {}): TeacherRequest {
  return { messages: [{ role: 'user', content: 'What is 2 + 3?' }], temperature: 0, maxTokens: 64, seed: 5, question, ...o };
}

let servers: OpenAiServer[] = [];
async function serve(o: OpenAiServerOptions): Promise<OpenAiServer> {
  const s = await startOpenAiServer(o);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

/** Fast retries for tests. */
function teacher(url: string, o: Partial<HttpTeacherOptions> = {}) {
  return httpTeacher({ url, model: 'test-model', backoffMs: 5, timeoutMs: 5000, ...o });
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => expect.unreachable('expected a rejection'), (err: unknown) => err);
}

describe('httpTeacher', () => {
  it('accepts a base URL with or without /v1 or the full endpoint, and names itself by the normalised URL', async () => {
    const s = await serve({ answer: () => 'ok' });
    const origin = s.url.slice(0, -'/v1'.length);
    for (const url of [origin, `${origin}/`, s.url, `${s.url}/`, `${s.url}/chat/completions`, `${s.url}/chat/completions/`]) {
      const t = teacher(url);
      expect(t.id).toBe(`http:${s.url}#test-model`);
      expect((await t.generate(request())).text).toBe('ok');
    }
    expect(s.requests.map((r) => `${r.method} ${r.path}`)).toEqual(Array(6).fill('POST /v1/chat/completions'));

    expect(normaliseTeacherUrl('https://API.example.com/openai/v1/')).toEqual({ base: 'https://api.example.com/openai/v1', endpoint: 'https://api.example.com/openai/v1/chat/completions' });
    expect(normaliseTeacherUrl('https://h.example/v1beta/openai/chat/completions?api-version=2')).toEqual({ base: 'https://h.example/v1beta/openai', endpoint: 'https://h.example/v1beta/openai/chat/completions?api-version=2' });
    expect(() => normaliseTeacherUrl('localhost:8080')).toThrow(TeacherError);
    expect(() => normaliseTeacherUrl('not a url')).toThrow(TeacherError);
  });

  it('sends model, messages, temperature, max_tokens and seed, with the key as a Bearer token only', async () => {
    const s = await serve({ answer: () => 'Five. [[B]]' });
    const t = teacher(s.url, { apiKey: KEY });
    const req = request({ temperature: 0.7, maxTokens: 33, seed: 9 });
    await t.generate(req);
    expect(s.calls).toEqual([{ model: 'test-model', messages: req.messages, temperature: 0.7, max_tokens: 33, seed: 9 }]);
    expect(s.requests[0].headers.authorization).toBe(`Bearer ${KEY}`);
    expect(s.requests[0].headers['content-type']).toBe('application/json');
    expect(t.id).not.toContain(KEY);
    expect(JSON.stringify(t)).not.toContain(KEY);
    // Without a key no Authorization header; without a seed no seed field.
    await teacher(s.url).generate(request({ seed: undefined }));
    expect(s.requests[1].headers.authorization).toBeUndefined();
    expect(s.calls[1]).not.toHaveProperty('seed');
  });

  it('reads usage, and estimates from characters when the server gives none', async () => {
    const text = 'two plus three is five [[B]]';
    const withUsage = await serve({ answer: () => text });
    // The fixture counts whitespace-separated words as tokens.
    expect(await teacher(withUsage.url).generate(request())).toEqual({ text, completionTokens: 6, promptTokens: 5 });
    const without = await serve({ answer: () => text, usage: false });
    expect(await teacher(without.url).generate(request())).toEqual({ text, completionTokens: Math.ceil(text.length / 4) });
  });

  it('retries a 500 with backoff and then succeeds; gives up after `retries` with the last status', async () => {
    const flaky = await serve({ answer: (_, call) => (call < 2 ? { status: 500, body: { error: { message: 'overloaded' } } } : 'fine') });
    expect((await teacher(flaky.url, { retries: 3 }).generate(request())).text).toBe('fine');
    expect(flaky.calls).toHaveLength(3);

    const down = await serve({ answer: () => ({ status: 503, body: 'upstream unavailable' }) });
    const err = await rejection(teacher(down.url, { retries: 2 }).generate(request()));
    expect(err).toBeInstanceOf(TeacherError);
    expect((err as Error).message).toMatch(/failed 3 times; last: HTTP 503: upstream unavailable/);
    expect((err as Error).message).toMatch(/HINT: check that the server is running/);
    expect(down.calls).toHaveLength(3);
  });

  it('waits as long as Retry-After says on a 429', async () => {
    const s = await serve({ answer: (_, call) => (call === 0 ? { status: 429, headers: { 'retry-after': '1' } } : 'after the wait') });
    const t0 = performance.now();
    expect((await teacher(s.url, { backoffMs: 1 }).generate(request())).text).toBe('after the wait');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950);
    expect(s.calls).toHaveLength(2);
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(5000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it('stops at once on 401 with a TeacherError that names the status but not the key', async () => {
    const s = await serve({ answer: () => ({ status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}` } } }) });
    const err = await rejection(teacher(s.url, { apiKey: KEY, retries: 3 }).generate(request()));
    expect(err).toBeInstanceOf(TeacherError);
    const message = (err as Error).message;
    expect(message).toContain('HTTP 401');
    expect(message).toMatch(/HINT: check the API key/);
    expect(message).not.toContain(KEY);
    expect(message).toContain('Incorrect API key provided: ***');
    expect(s.calls).toHaveLength(1);
  });

  it('stops at once on 404 and 400, pointing at the URL and the model name', async () => {
    const missing = await serve({ answer: () => ({ status: 404, body: { error: { message: "model 'test-model' not found" } } }) });
    const e404 = (await rejection(teacher(missing.url).generate(request()))) as Error;
    expect(e404).toBeInstanceOf(TeacherError);
    expect(e404.message).toMatch(/HTTP 404: model 'test-model' not found/);
    expect(e404.message).toMatch(/check the URL .* and the model name 'test-model'/);
    expect(missing.calls).toHaveLength(1);

    const bad = await serve({ answer: () => ({ status: 400, body: { error: { message: 'unknown field seed' } } }) });
    const e400 = (await rejection(teacher(bad.url).generate(request()))) as Error;
    expect(e400).toBeInstanceOf(TeacherError);
    expect(e400.message).toMatch(/HTTP 400: unknown field seed\nHINT: check the model name 'test-model'/);
    expect(bad.calls).toHaveLength(1);

    // A wrong path on a server that answers 200 with something else entirely.
    const html = await serve({ answer: () => ({ status: 200, body: '<html>welcome</html>' }) });
    const eHtml = (await rejection(teacher(html.url).generate(request()))) as Error;
    expect(eHtml).toBeInstanceOf(TeacherError);
    expect(eHtml.message).toMatch(/did not answer like an OpenAI chat endpoint: <html>welcome<\/html>/);
  });

  it('retries network failures, then reports the cause', async () => {
    const s = await serve({ answer: () => 'never' });
    await s.close();
    servers = [];
    const err = (await rejection(teacher(s.url, { retries: 1 }).generate(request()))) as Error;
    expect(err).toBeInstanceOf(TeacherError);
    expect(err.message).toMatch(/failed 2 times; last: .*ECONNREFUSED/);
  });

  it('times out a slow request, retries it, then gives up', async () => {
    const s = await serve({ answer: () => 'too late', delayMs: 3000 });
    const t0 = performance.now();
    const err = (await rejection(teacher(s.url, { timeoutMs: 200, retries: 1 }).generate(request()))) as Error;
    expect(err).toBeInstanceOf(TeacherError);
    expect(err.message).toMatch(/failed 2 times; last: no answer within 200 ms/);
    expect(s.calls).toHaveLength(2);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('does not retry what the caller aborted, in flight or during a backoff', async () => {
    const slow = await serve({ answer: () => 'too late', delayMs: 2000 });
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(), 300);
    const err = await rejection(teacher(slow.url, { retries: 3 }).generate(request(), ctrl.signal));
    expect((err as Error).name).toBe('AbortError');
    await new Promise((r) => setTimeout(r, 200));
    expect(slow.calls).toHaveLength(1);

    const failing = await serve({ answer: () => ({ status: 500 }) });
    const ctrl2 = new AbortController();
    const t0 = performance.now();
    const p = teacher(failing.url, { retries: 3, backoffMs: 10_000 }).generate(request(), ctrl2.signal);
    await new Promise((r) => setTimeout(r, 300));
    ctrl2.abort();
    expect(((await rejection(p)) as Error).name).toBe('AbortError');
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(failing.calls).toHaveLength(1);
  });

  it('keeps at most `concurrency` requests in flight however often generate() is called', async () => {
    const s = await serve({ answer: (body) => `reply to ${String(body.messages[0].content)}`, delayMs: 150 });
    const t = teacher(s.url, { concurrency: 3 });
    expect(t.concurrency).toBe(3);
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => t.generate(request({ messages: [{ role: 'user', content: `q${i}` }] }))));
    expect(replies.map((r) => r.text)).toEqual(Array.from({ length: 10 }, (_, i) => `reply to q${i}`));
    expect(s.calls).toHaveLength(10);
    expect(s.maxInFlight).toBe(3);
    expect(s.inFlight).toBe(0);
  });

  it('refuses nonsense options', () => {
    expect(() => httpTeacher({ url: 'http://127.0.0.1:1/v1', model: ' ' })).toThrow(TeacherError);
    expect(() => httpTeacher({ url: 'http://127.0.0.1:1/v1', model: 'm', concurrency: 0 })).toThrow(/concurrency must be an integer ≥ 1/);
  });
});

describe('parseTeacherSpec', () => {
  it('reads the four kinds', () => {
    expect(parseTeacherSpec('http://127.0.0.1:8080/v1#qwen2.5:7b')).toEqual({ kind: 'http', url: 'http://127.0.0.1:8080/v1', model: 'qwen2.5:7b' });
    expect(parseTeacherSpec('https://api.example.com/v1')).toEqual({ kind: 'http', url: 'https://api.example.com/v1', model: 'default' });
    expect(parseTeacherSpec(' http://localhost:11434# ')).toEqual({ kind: 'http', url: 'http://localhost:11434', model: 'default' });
    expect(parseTeacherSpec('own:Qwen/Qwen2.5-1.5B-Instruct')).toEqual({ kind: 'own', source: 'Qwen/Qwen2.5-1.5B-Instruct' });
    expect(parseTeacherSpec('own:https://example.com/models/q')).toEqual({ kind: 'own', source: 'https://example.com/models/q' });
    expect(parseTeacherSpec('column')).toEqual({ kind: 'column', field: 'rationale' });
    expect(parseTeacherSpec('column:explanation')).toEqual({ kind: 'column', field: 'explanation' });
    expect(parseTeacherSpec('webllm:Qwen2.5-7B-Instruct-q4f16_1-MLC')).toEqual({ kind: 'webllm', model: 'Qwen2.5-7B-Instruct-q4f16_1-MLC' });
  });

  it('refuses what it cannot read, listing the forms', () => {
    expect(() => parseTeacherSpec('ollama')).toThrow(/unknown teacher 'ollama'\nHINT: give one of: http/);
    expect(() => parseTeacherSpec('own:')).toThrow(TeacherError);
    expect(() => parseTeacherSpec('webllm:')).toThrow(TeacherError);
    expect(() => parseTeacherSpec('column:')).toThrow(TeacherError);
    expect(() => parseTeacherSpec('http://')).toThrow(TeacherError);
  });
});

describe('distill() with the HTTP teacher', () => {
  const q = (id: string, a: number, b: number): Question => {
    const sum = a + b;
    const options = [sum - 1, sum, sum + 1, sum + 2].map(String);
    return { id, question: `What is ${a} + ${b}?`, options, answer: 1, subject: 'arithmetic' };
  };
  const questions = [q('easy1', 2, 3), q('easy2', 10, 4), q('late', 7, 8), q('never', 20, 22)];

  it('keeps right answers, retries wrong ones, falls back, and never asks twice', async () => {
    const s = await serve({
      answer: (body) => {
        const solved = solveArithmetic(body)!;
        const text = String(body.messages[1].content);
        const wrong = text.includes('20 + 22') || (text.includes('7 + 8') && body.temperature === 0);
        return `Adding the two numbers step by step. [[${wrong ? solved.wrong : solved.right}]]`;
      },
    });
    const store = memoryStore<TeacherAnswer>();
    const first = await distill(questions, teacher(s.url), store, { retries: 2, maxTokens: 128 });
    expect(first.map((t) => [t.question, t.outcome, t.attempts, t.calls])).toEqual([
      ['easy1', 'kept', 1, 1],
      ['easy2', 'kept', 1, 1],
      ['late', 'retried', 2, 2],
      ['never', 'fallback', 3, 3],
    ]);
    expect(first[0].rationale).toBe('Adding the two numbers step by step. [[B]]');
    expect(first[3].rationale).toBeUndefined();
    expect(first[2].completionTokens).toBe(2 * 8); // usage, as the fixture counts it
    expect(s.calls).toHaveLength(7);
    // The retries asked with temperature and the next seed.
    const late = s.calls.filter((c) => String(c.messages[1].content).includes('7 + 8'));
    expect(late.map((c) => [c.temperature, c.seed, c.max_tokens])).toEqual([[0, 0, 128], [0.7, 1, 128]]);
    expect(store.records).toHaveLength(7);

    // Same questions, same store, a new teacher object with the same id: everything from the cache.
    const second = await distill(questions, teacher(s.url), store, { retries: 2, maxTokens: 128 });
    expect(s.calls).toHaveLength(7);
    expect(second.map((t) => [t.outcome, t.attempts, t.calls])).toEqual(first.map((t) => [t.outcome, t.attempts, 0]));
    expect(second.map((t) => t.rationale)).toEqual(first.map((t) => t.rationale));
  });
});
