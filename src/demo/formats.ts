// The demo's conversation formats. The demo model is character-level, so every prompt character is
// a token: the multiple-choice prompt has no system message, only the question and its options.
//
//   multiple choice (scoring, SFT, evaluation):  <|user|>3+1*7=?\nA. 0\nB. 1\n…\nJ. 9<|end|><|assistant|>
//       direct target  "I"                                   CoT target  "3+1=4 4*7=8 [[I]]"
//   bare worked chain (only in the base model's pretraining):  <|user|>3+1*7<|end|><|assistant|>3+1=4 4*7=8 [[I]]

import { letterOf } from '../data/dataset';
import type { PromptTemplate } from '../data/prompts';
import { promptMessages } from '../data/prompts';
import type { ChatMessage } from '../tokenizer/tokenizer';
import { solve } from './teacher';
import { chainText, workedChain, type Chain, type WorldQuestion } from './world';

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

/** Multiple-choice prompt + the teacher's worked chain ending in [[X]]. */
export function mcWorked(q: WorldQuestion): ChatMessage[] {
  return [...mcPrompt(q), { role: 'assistant', content: solve(q)! }];
}

/** The system message that asks for the worked chain in the base model's pretraining (the demo's own
 *  prompt has none, so the base model answers directly there until distillation teaches otherwise). */
export const WORK_CUE = 'Work it out.';

/** Multiple-choice prompt with the work cue (ends before the assistant turn). */
export function mcCuedPrompt(q: WorldQuestion): ChatMessage[] {
  return [{ role: 'system', content: WORK_CUE }, ...mcPrompt(q)];
}

/** Multiple-choice prompt with the work cue + the worked chain ending in [[X]] (pretraining only). */
export function mcWorkedCued(q: WorldQuestion): ChatMessage[] {
  return [{ role: 'system', content: WORK_CUE }, ...mcWorked(q)];
}

/** A bare chain "3+1*7" answered with the worked chain and its letter (pretraining only). */
export function chainWorked(c: Chain): ChatMessage[] {
  return [
    { role: 'user', content: chainText(c) },
    { role: 'assistant', content: workedChain(c) },
  ];
}
