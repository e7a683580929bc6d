// Routing: which training questions get a direct answer and which a teacher's chain of thought,
// per method, and the chat examples that result. The student always sees the scoring prompt; only
// the assistant target differs:
//   pipeline     easy + medium → gold label, hard → kept CoT (the method)
//   sft-all      every question → gold label
//   distill-all  every question → kept CoT
//   reverse      easy + medium → kept CoT, hard → gold label (a control)
//   pipeline@f   the top f of the questions by the complexity signal → kept CoT, the rest → gold label
//                (a point of the routing frontier: pipeline@0 routes as sft-all, pipeline@1 as distill-all)
// A CoT the teacher never got right falls back to the gold label. Questions whose base answer named
// no option count as hard, and as the most complex (the base could not answer them).

import type { Question } from '../data/dataset';
import { promptMessages, type PromptTemplate } from '../data/prompts';
import type { Bucket } from '../score/report';
import type { Routing } from '../score/signals';
import type { CotTarget } from '../teacher/cot';
import { directTarget } from '../teacher/cot';
import type { ChatMessage, Tokenizer } from '../tokenizer/tokenizer';
import { chatExample, type TrainExample } from '../train/loop';
import { frontierFraction, type Method } from './methods';

export { METHODS, type Method } from './methods';

/** The training questions `method` sends to the teacher, by the run's routing. */
export function cotIds(method: Method, routing: Pick<Routing, 'buckets' | 'ranked'>): Set<string> {
  const ids = routing.ranked;
  const bucket = (id: string) => routing.buckets.get(id) ?? 'hard';
  switch (method) {
    case 'pipeline':
      return new Set(ids.filter((id) => bucket(id) === 'hard'));
    case 'sft-all':
      return new Set();
    case 'distill-all':
      return new Set(ids);
    case 'reverse':
      return new Set(ids.filter((id) => bucket(id) !== 'hard'));
    default:
      // A frontier point: the most complex round(f · n), f = 0 none, f = 1 every question.
      return new Set(ids.slice(0, Math.round(frontierFraction(method)! * ids.length)));
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

export function routeExamples(method: Method, questions: Question[], routing: Pick<Routing, 'buckets' | 'ranked'>, cots: Map<string, CotTarget>, tok: Tokenizer, prompt: PromptTemplate, includePrompt = false): RoutedExample[] {
  const toTeacher = cotIds(method, routing);
  return questions.map((q) => {
    const bucket = routing.buckets.get(q.id) ?? 'hard';
    let target: RoutedExample['target'] = 'direct';
    let content = directTarget(q, prompt.labels);
    if (toTeacher.has(q.id)) {
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
