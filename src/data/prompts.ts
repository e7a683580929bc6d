// Prompts for multiple-choice questions, rendered through the model's own chat template with the
// generation prompt, so the next token is the model's first answer token.
//
// Two built-in templates:
//   - `letters` (default): options labelled A–J, "answer with the letter only". Every label is one
//     token in the tokenizers we support.
//   - `numbers`: the paper's prompt, options numbered 1., 2., …, "answer with the number only". With
//     ten options "10" is two tokens for Qwen ("1","0"), so option 10 cannot be told from option 1 by
//     the first token — the reason letters are the default.
// Both are editable: {subject}, {question} and {options} are replaced; nothing else is special.

import { EntrotuneError } from '../errors';
import type { ChatMessage, Tokenizer } from '../tokenizer/tokenizer';
import type { Question } from './dataset';

export type LabelStyle = 'letters' | 'numbers';

export interface PromptTemplate {
  labels: LabelStyle;
  system: string;
  user: string;
}

export const LETTERS = 'ABCDEFGHIJ';

export const PROMPTS: Record<LabelStyle, PromptTemplate> = {
  letters: {
    labels: 'letters',
    system: 'The following is a multiple choice question about {subject}. Answer with the letter of the correct option only.',
    user: '{question}\n{options}',
  },
  numbers: {
    labels: 'numbers',
    system: 'The following is a multiple choice question about {subject}. Answer with the number of the correct option only.',
    user: '{question}\n{options}',
  },
};

export function label(style: LabelStyle, i: number): string {
  return style === 'letters' ? LETTERS[i] : String(i + 1);
}

export function renderOptions(style: LabelStyle, options: string[]): string {
  return options.map((o, i) => `${label(style, i)}. ${o}`).join('\n');
}

function fill(text: string, q: Question, style: LabelStyle): string {
  return text.replace(/\{(subject|question|options)\}/g, (_, k: string) => (k === 'subject' ? q.subject.replace(/_/g, ' ') : k === 'question' ? q.question : renderOptions(style, q.options)));
}

export function promptMessages(q: Question, t: PromptTemplate = PROMPTS.letters): ChatMessage[] {
  if (q.options.length > 10) throw new EntrotuneError(`question ${q.id} has ${q.options.length} options; at most 10 (A–J) are supported`);
  const messages: ChatMessage[] = [];
  if (t.system.trim()) messages.push({ role: 'system', content: fill(t.system, q, t.labels) });
  messages.push({ role: 'user', content: fill(t.user, q, t.labels) });
  return messages;
}

/** Token ids of the chat-templated prompt, ending with the generation prompt. */
export function encodePrompt(tok: Tokenizer, q: Question, t: PromptTemplate = PROMPTS.letters): number[] {
  return tok.encode(tok.applyChatTemplate(promptMessages(q, t), { addGenerationPrompt: true }));
}

export interface LabelTokens {
  /** ids[i] = the first token of label i (A, B, … or 1, 2, …). */
  ids: number[];
  /** Labels whose first token is shared with another label (e.g. "1" and "10"), by index. */
  ambiguous: number[];
}

/** The first token of each of `n` labels as the model would write it right after the generation prompt. */
export function labelTokens(tok: Tokenizer, style: LabelStyle, n = 10): LabelTokens {
  const ids = Array.from({ length: n }, (_, i) => {
    const enc = tok.encode(label(style, i));
    if (!enc.length) throw new EntrotuneError(`the tokenizer gives no token for label "${label(style, i)}"`);
    return enc[0];
  });
  const ambiguous = ids.flatMap((id, i) => (ids.indexOf(id) !== i || ids.lastIndexOf(id) !== i ? [i] : []));
  return { ids, ambiguous };
}
