// The offline demo's teacher: a program that really works the chain. It reads the chain from the
// question text, writes one step per operation, and names the option whose value is the result — it
// never looks at the gold label, so its answers are checked by distill() exactly as a language model's
// would be. Replies are short on purpose: every character is a token the student trains on and
// generates at evaluation.
//
//   "3+1*7=?" with options 0…9  →  "3+1=4 4*7=8 [[I]]"

import type { Question } from '../data/dataset';
import { letterOf } from '../data/dataset';
import { TeacherError } from '../errors';
import type { Teacher, TeacherReply, TeacherRequest } from '../teacher/teacher';
import { chainValue, parseChain, workedChain } from './world';

/** The teacher's reply for a question, or null when the question is not a chain "3+1*7=?". */
export function solve(q: Pick<Question, 'question' | 'options'>): string | null {
  const chain = parseChain(q.question);
  if (!chain) return null;
  const value = chainValue(chain);
  const k = q.options.findIndex((o) => /^\s*\d+\s*$/.test(o) && Number(o) === value);
  const worked = workedChain(chain);
  // The steps end in the letter the value has among the world's options (0 → A …); name the option
  // this question actually lists instead. No option equals the value: the work is still shown but no
  // option is named (distill() then falls back to a direct target, as for a teacher that got it wrong).
  return worked.replace(/\[\[[A-J]\]\]$/, k < 0 ? '[[?]]' : `[[${letterOf(k)}]]`);
}

/** A Teacher that works digit chains step by step. */
export class ArithmeticTeacher implements Teacher {
  readonly id = 'demo:digit-chains';
  /** Pure computation: no reason to limit parallel requests. */
  readonly concurrency = 64;
  /** The same reply every time: distill() makes no retries for it. */
  readonly deterministic = true;

  async generate(req: TeacherRequest, signal?: AbortSignal): Promise<TeacherReply> {
    if (signal?.aborted) throw new DOMException('teacher generation was stopped', 'AbortError');
    const text = solve(req.question);
    if (text === null) {
      throw new TeacherError(`the demo teacher cannot read question ${req.question.id}: ${JSON.stringify(req.question.question)}`, 'it only answers digit chains written like "3+1*7=?" (operations +1, +3, *3, *7)');
    }
    // Character-level demo tokenizer: a character is a token.
    return { text, completionTokens: text.length };
  }
}
