// The offline demo's teacher: a program that really solves the question. It reads the sum from the
// question text, adds column by column with the carries stated, and names the option whose value is
// the total — it never looks at the gold label, so its answers are checked by distill() exactly as a
// language model's would be. Replies are short on purpose: every character is a token the student
// trains on and generates at evaluation.
//
//   "478+356=?" with options [924, 834, 934, 824]  →  "8+6=14 7+5+1=13 4+3+1=8 834 [[B]]"

import type { Question } from '../data/dataset';
import { letterOf } from '../data/dataset';
import { TeacherError } from '../errors';
import type { Teacher, TeacherReply, TeacherRequest } from '../teacher/teacher';
import { parseSum, workedSolution } from './world';

/** The teacher's reply for a question, or null when the question is not an "a+b=?" sum. */
export function solve(q: Pick<Question, 'question' | 'options'>): string | null {
  const ops = parseSum(q.question);
  if (!ops) return null;
  const total = ops.a + ops.b;
  const k = q.options.findIndex((o) => /^\s*\d+\s*$/.test(o) && Number(o) === total);
  // No option equals the total: the work is still shown, but no option is named (distill() then
  // falls back to a direct target, as it would for a teacher that got it wrong).
  return k < 0 ? `${workedSolution(ops.a, ops.b)} [[?]]` : `${workedSolution(ops.a, ops.b)} [[${letterOf(k)}]]`;
}

/** A Teacher that solves "a+b=?" questions by column addition. */
export class ArithmeticTeacher implements Teacher {
  readonly id = 'demo:column-addition';
  /** Pure computation: no reason to limit parallel requests. */
  readonly concurrency = 64;
  /** The same reply every time: distill() makes no retries for it. */
  readonly deterministic = true;

  async generate(req: TeacherRequest, signal?: AbortSignal): Promise<TeacherReply> {
    if (signal?.aborted) throw new DOMException('teacher generation was stopped', 'AbortError');
    const text = solve(req.question);
    if (text === null) {
      throw new TeacherError(`the demo teacher cannot read question ${req.question.id}: ${JSON.stringify(req.question.question)}`, 'it only answers sums written "a+b=?"');
    }
    // Character-level demo tokenizer: a character is a token.
    return { text, completionTokens: text.length };
  }
}
