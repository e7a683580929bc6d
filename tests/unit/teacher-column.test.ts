// The rationale column as a teacher: MMLU-Pro's cot_content read through parseDataset, its closing
// "The answer is (X)." turned into [[X]], rationales that name no answer (or the wrong one) left for
// distill() to reject, and questions without one.

import { describe, expect, it } from 'vitest';
import type { Question } from '../../src/data/dataset';
import { parseDataset } from '../../src/data/formats';
import { memoryStore } from '../../src/score/store';
import { closingAnswer, columnTeacher } from '../../src/teacher/column';
import { cotMessages, distill, extractBracketed, type TeacherAnswer } from '../../src/teacher/cot';
import type { TeacherRequest } from '../../src/teacher/teacher';

const MMLU_PRO_ROW = {
  question_id: 70,
  question: 'Typical advertising regulatory bodies suggest that adverts must not encourage _________.',
  options: ['Safe practices', 'Unsafe practices', 'Wants', 'N/A'],
  answer: 'B',
  answer_index: 1,
  cot_content: "A: Let's think step by step. Adverts must not encourage unsafe practices. The answer is (B).",
  src: 'ori_mmlu-business_ethics',
  category: 'business',
};

function request(q: Question): TeacherRequest {
  return { messages: cotMessages(q), temperature: 0, maxTokens: 512, seed: 0, question: q };
}

describe('columnTeacher', () => {
  it("answers with MMLU-Pro's cot_content, its closing answer in brackets", async () => {
    const { questions } = parseDataset(JSON.stringify(MMLU_PRO_ROW), 'mmlu-pro.jsonl');
    expect(questions[0].rationale).toBe(MMLU_PRO_ROW.cot_content);
    const t = columnTeacher();
    expect(t.id).toBe('column:rationale');
    expect(t.concurrency).toBeGreaterThanOrEqual(64);
    const reply = await t.generate(request(questions[0]));
    expect(reply.text).toBe("Let's think step by step. Adverts must not encourage unsafe practices. The answer is [[B]].");
    expect(reply.completionTokens).toBe(Math.ceil(reply.text.length / 4));
    expect(extractBracketed(reply.text, 'letters', questions[0].options.length)).toBe(1);
  });

  it('never uses the gold label: a rationale with the wrong answer or none stays as it is', () => {
    expect(closingAnswer('So it is 4. The answer is (D).')).toBe('So it is 4. The answer is [[D]].');
    expect(closingAnswer('the answer is C')).toBe('the answer is [[C]].');
    expect(closingAnswer('The answer is (B).', 'numbers')).toBe('The answer is [[2]].');
    expect(closingAnswer('Clearly B. [[B]]\n')).toBe('Clearly B. [[B]]\n');
    expect(closingAnswer('The answer is (B), I think.')).toBe('The answer is (B), I think.');
    expect(closingAnswer('Add the numbers.')).toBe('Add the numbers.');
    expect(closingAnswer('')).toBe('');
  });

  it('gives an empty reply with 0 tokens for a question without a rationale', async () => {
    const q: Question = { id: 'x', question: 'What is 1 + 1?', options: ['1', '2'], answer: 1, subject: 'math' };
    expect(await columnTeacher().generate(request(q))).toEqual({ text: '', completionTokens: 0 });
  });

  it('reads another column when told where, and names it in the id', async () => {
    const q: Question = { id: 'y', question: 'Q?', options: ['a', 'b'], answer: 0, subject: 'math' };
    const other = new Map([['y', 'Because. The answer is (A).']]);
    const t = columnTeacher({ name: 'explanation', rationaleOf: (x) => other.get(x.id) });
    expect(t.id).toBe('column:explanation');
    expect((await t.generate(request(q))).text).toBe('Because. The answer is [[A]].');
  });

  it('through distill(): right rationales kept, wrong or answerless ones fall back', async () => {
    const base = { options: ['1', '2', '3', '4'], answer: 2, subject: 'math' };
    const questions: Question[] = [
      { ...base, id: 'right', question: '1 + 2?', rationale: "A: Let's think step by step. 1 + 2 = 3. The answer is (C)." },
      { ...base, id: 'wrong', question: '1 + 2?', rationale: 'It is 4. The answer is (D).' },
      { ...base, id: 'silent', question: '1 + 2?', rationale: 'Add them.' },
      { ...base, id: 'none', question: '1 + 2?' },
    ];
    const store = memoryStore<TeacherAnswer>();
    const out = await distill(questions, columnTeacher(), store, { retries: 0 });
    expect(out.map((t) => [t.question, t.outcome])).toEqual([
      ['right', 'kept'],
      ['wrong', 'fallback'],
      ['silent', 'fallback'],
      ['none', 'fallback'],
    ]);
    expect(out[0].rationale).toBe("Let's think step by step. 1 + 2 = 3. The answer is [[C]].");
  });

  it('is deterministic, so distill() asks it once per question unless told to retry', async () => {
    const q: Question = { id: 'w', question: '1 + 2?', options: ['1', '2', '3', '4'], answer: 2, subject: 'math', rationale: 'It is 4. The answer is (D).' };
    const t = columnTeacher();
    expect(t.deterministic).toBe(true);
    let calls = 0;
    const counted = { ...t, generate: (req: Parameters<typeof t.generate>[0]) => { calls++; return t.generate(req); } };
    expect((await distill([q], counted, memoryStore<TeacherAnswer>()))[0].outcome).toBe('fallback');
    expect(calls).toBe(1);
    await distill([q], counted, memoryStore<TeacherAnswer>(), { retries: 2 });
    expect(calls).toBe(4);
  });
});
