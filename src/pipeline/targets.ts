// Routing: which training questions get a direct answer and which a teacher's chain of thought,
// per method, and the chat examples that result. The student always sees the scoring prompt; only
// the assistant target differs:
//   pipeline     easy + medium → gold label, hard → kept CoT (the method)
//   sft-all      every question → gold label
//   distill-all  every question → kept CoT
//   reverse      easy + medium → kept CoT, hard → gold label (a control)
// A CoT the teacher never got right falls back to the gold label. Questions whose base answer named
// no option were not bucketed by the scorer; they count as hard (the base could not answer them).

import type { Question } from '../data/dataset';
import { promptMessages, type PromptTemplate } from '../data/prompts';
import type { Bucket } from '../score/report';
import type { CotTarget } from '../teacher/cot';
import { directTarget } from '../teacher/cot';
import type { ChatMessage, Tokenizer } from '../tokenizer/tokenizer';
import { chatExample, type TrainExample } from '../train/loop';

export const METHODS = ['pipeline', 'sft-all', 'distill-all', 'reverse'] as const;
export type Method = (typeof METHODS)[number];

export function wantsCot(method: Method, bucket: Bucket): boolean {
  switch (method) {
    case 'pipeline':
      return bucket === 'hard';
    case 'sft-all':
      return false;
    case 'distill-all':
      return true;
    case 'reverse':
      return bucket !== 'hard';
  }
}

export interface RoutedExample {
  question: Question;
  bucket: Bucket;
  /** What the student is trained to answer. */
  target: 'direct' | 'cot' | 'fallback';
  messages: ChatMessage[];
  example: TrainExample;
  /** Tokens of the assistant target (with its end-of-turn tokens), whether or not the prompt is trained too. */
  targetTokens: number;
}

export function routeExamples(method: Method, questions: Question[], buckets: Map<string, Bucket>, cots: Map<string, CotTarget>, tok: Tokenizer, prompt: PromptTemplate, includePrompt = false): RoutedExample[] {
  return questions.map((q) => {
    const bucket = buckets.get(q.id) ?? 'hard';
    let target: RoutedExample['target'] = 'direct';
    let content = directTarget(q, prompt.labels);
    if (wantsCot(method, bucket)) {
      const c = cots.get(q.id);
      if (c?.rationale) {
        target = 'cot';
        content = c.rationale;
      } else {
        target = 'fallback';
      }
    }
    const messages: ChatMessage[] = [...promptMessages(q, prompt), { role: 'assistant', content }];
    const example = chatExample(tok, messages, includePrompt);
    const assistantOnly = includePrompt ? chatExample(tok, messages, false) : example;
    return { question: q, bucket, target, messages, example, targetTokens: assistantOnly.labels.filter((l) => l !== -100).length };
  });
}

/** The routed training set as chat-format JSON lines, which Hugging Face TRL's SFTTrainer reads as they are. */
export function toTrlJsonl(routed: RoutedExample[]): string {
  return routed.map((r) => JSON.stringify({ messages: r.messages, id: r.question.id, bucket: r.bucket, target: r.target }) + '\n').join('');
}
