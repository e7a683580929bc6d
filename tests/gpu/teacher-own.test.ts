// entrotune's own engine as a teacher, on the tiny llama fixture: greedy replies are deterministic,
// token counts come from the engine, overlapping calls are served one at a time, unload() disposes.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Question } from '../../src/data/dataset';
import { loadModel } from '../../src/index';
import { cotMessages } from '../../src/teacher/cot';
import { ownTeacher } from '../../src/teacher/own';
import type { TeacherRequest } from '../../src/teacher/teacher';
import { getGpu } from './gpu';

const TINY = join(__dirname, '../fixtures/tiny/llama');

const question: Question = { id: 'q', question: 'What is 2 + 3?', options: ['4', '5', '6'], answer: 1, subject: 'arithmetic' };
const request: TeacherRequest = { messages: cotMessages(question), temperature: 0, maxTokens: 8, seed: 0, question };

describe('ownTeacher', () => {
  it('generates deterministically at temperature 0, counts tokens, and unload() disposes the model', async () => {
    const gpu = await getGpu();
    const model = await loadModel(gpu, { kind: 'dir', path: TINY }, { quant: 'none' });
    const teacher = ownTeacher(model);
    expect(teacher.id).toBe(`own:${model.name}`);
    expect(teacher.concurrency).toBe(1);

    const direct = await model.generate(request.messages, { maxNewTokens: 8, temperature: 0 });
    const a = await teacher.generate(request);
    expect(a).toEqual({ text: direct.text, completionTokens: direct.ids.length, promptTokens: direct.promptTokens });
    console.log(`own teacher: ${a.promptTokens} prompt tokens → ${a.completionTokens} generated (${JSON.stringify(a.text)})`);
    expect(a.completionTokens).toBeLessThanOrEqual(8);
    expect(a.promptTokens).toBeGreaterThan(10);

    // Two calls at once share one KV cache, so they must run one after the other: same reply twice.
    const [b, c] = await Promise.all([teacher.generate(request), teacher.generate(request)]);
    expect(b).toEqual(a);
    expect(c).toEqual(a);

    await teacher.unload!();
    await expect(model.generate(request.messages, { maxNewTokens: 1 })).rejects.toThrow(/disposed/);
  });
});
