// Evaluation on held-out questions: greedy decoding of the student's answer to the same prompt it
// was trained with, the answer read from the last [[…]] when it reasoned, otherwise from its first
// token (a direct answer). Records are stored as they are made, so a stopped evaluation resumes.

import type { Question } from '../data/dataset';
import { encodePrompt, PROMPTS, type LabelStyle, type PromptTemplate } from '../data/prompts';
import { EntrotuneError } from '../errors';
import { greedyBatch, type GreedyProgress } from '../model/batch-generate';
import type { Model } from '../model/model';
import type { RecordStore } from '../score/store';
import { lastBracketed, parseLabel } from '../teacher/cot';

export interface EvalRecord {
  id: string;
  gold: number;
  /** The option the answer names, null when it names none. */
  pred: number | null;
  correct: boolean;
  /** The answer reasoned: some text, then a well-formed final [[X]] naming an option. */
  reasoned: boolean;
  /** The answer has [[ but no well-formed final [[X]] after some text ("[[[[…", "[[Q]]", brackets mid-way). */
  malformed: boolean;
  /** Tokens generated. */
  tokens: number;
  text: string;
}

export interface EvalOptions {
  prompt?: PromptTemplate;
  /** Longest answer generated (default 256): room for a chain of thought. */
  maxNewTokens?: number;
  /** Prompts decoded together (default 16). */
  maxBatch?: number;
  store?: RecordStore<EvalRecord>;
  signal?: AbortSignal;
  /** As answers come (at most every half second, and at the end): answered, of total, right so far,
   *  and tokens generated in this session. */
  onProgress?: (p: EvalProgress) => void;
}

/**
 * The option an answer names: the last [[…]] if it has brackets, else its first token. It counts as
 * reasoned only when text comes first and a well-formed [[X]] naming an option ends it; an answer with
 * brackets that are not that is malformed (its option, if the last [[…]] still names one, is kept).
 */
export function answerOf(text: string, firstToken: string, style: LabelStyle, n: number): { pred: number | null; reasoned: boolean; malformed: boolean } {
  if (!text.includes('[[')) return { pred: parseLabel(firstToken, style, n), reasoned: false, malformed: false };
  const last = lastBracketed(text);
  const pred = last ? parseLabel(last[1], style, n) : null;
  const before = last ? text.slice(0, last.index) : '';
  const after = last ? text.slice(last.index + last[0].length) : '';
  const reasoned = pred !== null && /[\p{L}\p{N}]/u.test(before) && !before.includes('[[') && /^[\s.!]*$/.test(after);
  return { pred, reasoned, malformed: !reasoned };
}

export interface EvalProgress {
  done: number;
  total: number;
  correct: number;
  tokens: number;
}

export async function evaluate(model: Model, questions: Question[], o: EvalOptions = {}): Promise<EvalRecord[]> {
  const tok = model.tokenizer;
  if (!tok) throw new EntrotuneError(`${model.name} has no tokenizer.json`, 'evaluation needs the tokenizer and chat template');
  const prompt = o.prompt ?? PROMPTS.letters;
  const wanted = new Set(questions.map((q) => q.id));
  // Records of this question set already stored (a store may hold others: they are not counted).
  const done = new Map((o.store ? await o.store.load() : []).filter((r) => wanted.has(r.id)).map((r) => [r.id, r]));
  const todo = questions.filter((q) => !done.has(q.id));
  let correct = [...done.values()].filter((r) => r.correct).length;
  const chunk = Math.max(1, (o.maxBatch ?? 16) * 4); // one store write per few batches
  let tokens = 0, shown = 0;
  for (let s = 0; s < todo.length; s += chunk) {
    if (o.signal?.aborted) throw new DOMException('evaluation was stopped', 'AbortError');
    const part = todo.slice(s, s + chunk);
    const before = { done: done.size, tokens };
    // Each answer is read as soon as it is complete, so "right so far" moves with the answers.
    const read = (q: Question, ids: number[]): EvalRecord => {
      const text = tok.decode(ids, { skipSpecialTokens: true });
      const first = ids.length ? tok.decode(ids.slice(0, 1), { skipSpecialTokens: true }) : '';
      const { pred, reasoned, malformed } = answerOf(text, first, prompt.labels, q.options.length);
      return { id: q.id, gold: q.answer, pred, correct: pred === q.answer, reasoned, malformed, tokens: ids.length, text };
    };
    const records: EvalRecord[] = new Array(part.length);
    const onAnswer = (i: number, ids: number[]) => {
      records[i] = read(part[i], ids);
      if (records[i].correct) correct++;
    };
    const onProgress = (p: GreedyProgress) => {
      const now = performance.now();
      if (now - shown < 500) return;
      shown = now;
      o.onProgress?.({ done: before.done + p.done, total: questions.length, correct, tokens: before.tokens + p.tokens });
    };
    const ids = await greedyBatch(model, part.map((q) => encodePrompt(tok, q, prompt)), { maxNewTokens: o.maxNewTokens ?? 256, maxBatch: o.maxBatch, signal: o.signal, onProgress, onAnswer });
    tokens += ids.reduce((n, x) => n + x.length, 0);
    await o.store?.append(records);
    for (const r of records) done.set(r.id, r);
    o.onProgress?.({ done: done.size, total: questions.length, correct, tokens });
  }
  return questions.map((q) => done.get(q.id)!);
}
