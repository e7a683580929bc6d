// The demo's conversation formats. The demo model is character-level, so every prompt character is
// a token: the multiple-choice prompt has no system message, only the question and its options.
//
//   multiple choice (scoring, SFT, evaluation):  <|user|>478+356=?\nA. 924\nB. 834\nC. 934\nD. 824<|end|><|assistant|>
//       direct target  "B"                                   CoT target  "8+6=14 7+5+1=13 4+3+1=8 834 [[B]]"
//   worked sum (only in the base model's "general" training):  <|user|>478+356<|end|><|assistant|>8+6=14 7+5+1=13 4+3+1=8 834

import { letterOf } from '../data/dataset';
import type { PromptTemplate } from '../data/prompts';
import { promptMessages } from '../data/prompts';
import type { ChatMessage } from '../tokenizer/tokenizer';
import { solve } from './teacher';
import { workedSolution, type WorldQuestion } from './world';

/** The demo's scoring/training prompt: no system message (it would cost ~100 tokens per example). */
export const DEMO_PROMPT: PromptTemplate = { labels: 'letters', system: '', user: '{question}\n{options}' };

/** The multiple-choice prompt of a question (ends before the assistant turn). */
export function mcPrompt(q: WorldQuestion): ChatMessage[] {
  return promptMessages(q, DEMO_PROMPT);
}

/** Multiple-choice prompt + the gold letter. */
export function mcDirect(q: WorldQuestion): ChatMessage[] {
  return [...mcPrompt(q), { role: 'assistant', content: letterOf(q.answer) }];
}

/** Multiple-choice prompt + the teacher's worked solution ending in [[X]]. */
export function mcWorked(q: WorldQuestion): ChatMessage[] {
  return [...mcPrompt(q), { role: 'assistant', content: solve(q)! }];
}

/** The system message that asks for the worked solution in the base model's "general" data (the demo's
 *  own prompt has none, so the base model answers directly there until distillation teaches otherwise). */
export const WORK_CUE = 'Work it out.';

/** Multiple-choice prompt with the work cue + the worked solution ending in [[X]] (base model data only). */
export function mcWorkedCued(q: WorldQuestion): ChatMessage[] {
  return [{ role: 'system', content: WORK_CUE }, ...mcWorked(q)];
}

/** A bare sum "a+b" answered with the worked column addition (no options, no letter). */
export function sumWorked(a: number, b: number): ChatMessage[] {
  return [
    { role: 'user', content: `${a}+${b}` },
    { role: 'assistant', content: workedSolution(a, b) },
  ];
}
