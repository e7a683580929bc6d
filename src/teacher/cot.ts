// The chain-of-thought prompt and what is done with its answers: the paper's "think step by step,
// end with [[n]]" (and a letters variant), extraction of the last [[…]], and distillation with
// retries. A CoT is kept only if its answer is the gold one; otherwise it is asked again (up to
// `retries` more times, with temperature) and finally replaced by a direct-answer target. Every
// teacher reply is stored as it arrives, keyed by teacher, prompt and settings, so a crash or a
// reload never pays for the same call twice.

import type { Question } from '../data/dataset';
import { LETTERS, label, renderOptions, type LabelStyle } from '../data/prompts';
import type { RecordStore } from '../score/store';
import type { ChatMessage } from '../tokenizer/tokenizer';
import type { Teacher, TeacherReply } from './teacher';

export const COT_SYSTEM: Record<LabelStyle, string> = {
  numbers: 'The following is a multiple choice question about {subject}. Think step by step, then finish with the number of the correct option in double square brackets, like [[2]].',
  letters: 'The following is a multiple choice question about {subject}. Think step by step, then finish with the letter of the correct option in double square brackets, like [[B]].',
};

export function cotMessages(q: Question, style: LabelStyle = 'letters'): ChatMessage[] {
  return [
    { role: 'system', content: COT_SYSTEM[style].replace('{subject}', q.subject.replace(/_/g, ' ')) },
    { role: 'user', content: `${q.question}\n${renderOptions(style, q.options)}` },
  ];
}

/** The last [[…]] of `text` (its inside in [1], its place in .index), or undefined when it has none. */
export function lastBracketed(text: string): RegExpExecArray | undefined {
  return [...text.matchAll(/\[\[\s*([^[\]]*?)\s*\]\]/g)].at(-1);
}

/** The option index named by the last [[…]] in `text`, or null (no brackets, or not a label of the n options). */
export function extractBracketed(text: string, style: LabelStyle, n: number): number | null {
  const last = lastBracketed(text);
  return last ? parseLabel(last[1], style, n) : null;
}

/** "B", "b", "(B)", "B.", "2" → option index; null when it names no option. */
export function parseLabel(s: string, style: LabelStyle, n: number): number | null {
  const t = s.trim().replace(/^\(|[).:]$/g, '').trim();
  if (style === 'letters') {
    const i = t.length === 1 ? LETTERS.indexOf(t.toUpperCase()) : -1;
    return i >= 0 && i < n ? i : null;
  }
  if (!/^\d+$/.test(t)) return null;
  const i = Number(t) - 1;
  return i >= 0 && i < n ? i : null;
}

/** One stored teacher reply. `id` is the cache key. */
export interface TeacherAnswer {
  id: string;
  teacher: string;
  question: string;
  attempt: number;
  temperature: number;
  text: string;
  completionTokens: number;
  promptTokens?: number;
}

export type CotOutcome = 'kept' | 'retried' | 'fallback';

export interface CotTarget {
  question: string;
  outcome: CotOutcome;
  /** The kept chain of thought (absent for a fallback). */
  rationale?: string;
  /** Teacher replies this question took (cached ones included). */
  attempts: number;
  /** Of those, how many were real calls in this run (not from the cache). */
  calls: number;
  completionTokens: number;
}

export interface DistillOptions {
  style?: LabelStyle;
  /** Extra attempts after a wrong first answer (default 2). */
  retries?: number;
  /** Temperature of the retries (the first attempt is greedy). Default 0.7. */
  retryTemperature?: number;
  maxTokens?: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number; calls: number; cached: number; kept: number; retried: number; fallback: number }) => void;
}

/** A short, stable hash (53 bits, base 36) for cache keys. */
export function hashKey(text: string): string {
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/** The cache key of one attempt: teacher, the exact prompt and every setting that changes the reply. */
export function answerKey(teacher: string, messages: ChatMessage[], temperature: number, maxTokens: number, seed: number, attempt: number): string {
  return hashKey(JSON.stringify({ teacher, messages, temperature, maxTokens, seed, attempt }));
}

/** Chains of thought for `questions`, asking the teacher only for what the store does not hold yet. */
export async function distill(questions: Question[], teacher: Teacher, store: RecordStore<TeacherAnswer>, o: DistillOptions = {}): Promise<CotTarget[]> {
  const style = o.style ?? 'letters';
  const retries = o.retries ?? (teacher.deterministic ? 0 : 2);
  const maxTokens = o.maxTokens ?? 512;
  const seed = o.seed ?? 0;
  const known = new Map((await store.load()).map((a) => [a.id, a]));
  const counts = { done: 0, total: questions.length, calls: 0, cached: 0, kept: 0, retried: 0, fallback: 0 };
  const out: CotTarget[] = new Array(questions.length);

  const one = async (q: Question): Promise<CotTarget> => {
    const messages = cotMessages(q, style);
    const t: CotTarget = { question: q.id, outcome: 'fallback', attempts: 0, calls: 0, completionTokens: 0 };
    for (let attempt = 0; attempt <= retries; attempt++) {
      const temperature = attempt === 0 ? 0 : (o.retryTemperature ?? 0.7);
      const id = answerKey(teacher.id, messages, temperature, maxTokens, seed, attempt);
      let a = known.get(id);
      if (a) {
        counts.cached++;
      } else {
        if (o.signal?.aborted) throw new DOMException('teacher generation was stopped', 'AbortError');
        const r: TeacherReply = await teacher.generate({ messages, temperature, maxTokens, seed: seed + attempt, question: q }, o.signal);
        a = { id, teacher: teacher.id, question: q.id, attempt, temperature, text: r.text, completionTokens: r.completionTokens, promptTokens: r.promptTokens };
        await store.append([a]); // stored before it is used: a crash after this line never repeats the call
        known.set(id, a);
        counts.calls++;
        t.calls++;
      }
      t.attempts++;
      t.completionTokens += a.completionTokens;
      if (extractBracketed(a.text, style, q.options.length) === q.answer) {
        t.outcome = attempt === 0 ? 'kept' : 'retried';
        t.rationale = a.text.trim();
        break;
      }
    }
    counts[t.outcome]++;
    counts.done++;
    o.onProgress?.({ ...counts });
    return t;
  };

  // A pool of `concurrency` workers over the questions, in order.
  let next = 0;
  const worker = async () => {
    while (next < questions.length) {
      const i = next++;
      out[i] = await one(questions[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(teacher.concurrency, questions.length)) }, worker));
  return out;
}

/** The direct-answer target of a question: its gold label. */
export function directTarget(q: Question, style: LabelStyle = 'letters'): string {
  return label(style, q.answer);
}
