// The "teacher" that is already in the dataset: each question's own chain of thought (`rationale`;
// MMLU-Pro's `cot_content` is read into it by src/data/dataset.ts). Nothing is generated and the gold
// label is never consulted: MMLU-Pro's closing "The answer is (X)." becomes "The answer is [[X]]." so
// distill() can read it; a rationale that names no answer is returned as it is (and distill() then
// falls back to the direct answer). Every attempt gets the same reply, so the teacher says it is
// deterministic and distill() makes no retries for it by default.

import type { Question } from '../data/dataset';
import { LETTERS, type LabelStyle } from '../data/prompts';
import type { Teacher, TeacherReply, TeacherRequest } from './teacher';

export interface ColumnTeacherOptions {
  /** Names the column in the id (answers are cached per teacher id). Default 'rationale'. */
  name?: string;
  /** Where a question's chain of thought is; default the field called `name` (`rationale`). */
  rationaleOf?: (q: Question) => string | undefined;
  /** How the closing answer is labelled for distill(): 'letters' (default) or 'numbers'. */
  style?: LabelStyle;
}

export function columnTeacher(o: ColumnTeacherOptions = {}): Teacher {
  const field = o.name ?? 'rationale';
  const rationaleOf = o.rationaleOf ?? ((q: Question) => (q as unknown as Record<string, string | undefined>)[field]);
  const style = o.style ?? 'letters';
  return {
    id: `column:${field}`,
    // Nothing is computed, so the pipeline may ask for every question at once.
    concurrency: 256,
    deterministic: true,
    async generate(req: TeacherRequest): Promise<TeacherReply> {
      const text = closingAnswer(rationaleOf(req.question)?.trim() ?? '', style);
      // No tokenizer here: about four characters per token.
      return { text, completionTokens: Math.ceil(text.length / 4) };
    },
  };
}

/** MMLU-Pro's "A: Let's think step by step. … The answer is (X)." → "Let's think step by step. … The answer is [[X]]." */
export function closingAnswer(rationale: string, style: LabelStyle = 'letters'): string {
  // MMLU-Pro's few-shot format prefixes the chain of thought with the "A:" of its "Q:/A:" turns.
  let text = rationale.replace(/^A:\s*(?=Let's think step by step)/, '');
  if (/\[\[[^[\]]*\]\]/.test(text)) return text; // already in our form
  const m = /([Tt]he answer is) \(?([A-J])\)?\.?\s*$/.exec(text);
  if (!m) return text;
  const i = LETTERS.indexOf(m[2]);
  text = `${text.slice(0, m.index)}${m[1]} [[${style === 'letters' ? m[2] : String(i + 1)}]].`;
  return text;
}
