// Scoring a dataset with single-token answer entropy: for each question, the distribution of the
// first generated token after the chat-templated prompt. Entropy over the full vocabulary is
// reduced on the GPU (entropy.wgsl); the entropy restricted to the option labels and the greedy
// answer come from the few label logits read back. Results stream out and are stored per
// example, so a killed run resumes without re-scoring what was done.

import { EntrotuneError } from '../errors';
import type { Model } from '../model/model';
import type { Question } from '../data/dataset';
import { encodePrompt, labelTokens, PROMPTS, type PromptTemplate } from '../data/prompts';
import type { RecordStore } from './store';

export interface ScoreRecord {
  id: string;
  subject: string;
  /** Entropy of the full-vocabulary next-token distribution, nats. */
  entropy: number;
  /** Entropy of the distribution renormalised over this question's option labels, nats. */
  entropyOptions: number;
  /** Probability mass the model puts on the option labels. */
  optionMass: number;
  /** Probability of the most likely next token (full vocabulary). (Absent in scores from before it was kept.) */
  top1?: number;
  /** Between the two most likely option labels, the difference of their probabilities renormalised over
   *  the options: near 0 when the model hesitates between two. (Absent in scores from before it was kept.) */
  margin?: number;
  /** Option the greedy token names, or null when it names none (an invalid answer). */
  pred: number | null;
  predToken: number;
  gold: number;
  /** null = invalid answer (excluded from ROC and the split). */
  correct: boolean | null;
  promptTokens: number;
}

export interface ScoreProgress {
  done: number;
  total: number;
  /** Already in the store when the run started. */
  resumed: number;
  questionsPerSecond: number;
}

export interface ScoreOptions {
  prompt?: PromptTemplate;
  batchSize?: number;
  store?: RecordStore<ScoreRecord>;
  onProgress?: (p: ScoreProgress) => void;
  onRecords?: (r: ScoreRecord[]) => void;
  signal?: AbortSignal;
}

function softmaxEntropy(x: ArrayLike<number>): { H: number; lse: number } {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]);
  let z = 0;
  for (let i = 0; i < x.length; i++) z += Math.exp(x[i] - m);
  const lse = m + Math.log(z);
  let H = 0;
  for (let i = 0; i < x.length; i++) {
    const lp = x[i] - lse;
    H -= Math.exp(lp) * lp;
  }
  return { H, lse };
}

/** Score every question not already in the store; returns all records (old and new) in input order. */
export async function scoreDataset(model: Model, questions: Question[], o: ScoreOptions = {}): Promise<ScoreRecord[]> {
  const tok = model.tokenizer;
  if (!tok) throw new EntrotuneError(`${model.name} has no tokenizer.json`, 'scoring renders prompts with the model\'s tokenizer and chat template');
  if (tok.thinking) {
    throw new EntrotuneError(
      `${model.name} was loaded in thinking mode: its next token after the prompt is <think>, not the answer, so single-token answer entropy measures nothing`,
      'load the model with thinking off (the default) to score it',
    );
  }
  const template = o.prompt ?? PROMPTS.letters;
  const batchSize = Math.max(1, o.batchSize ?? 8);
  const labels = labelTokens(tok, template.labels);
  const done = new Map<string, ScoreRecord>();
  for (const r of (await o.store?.load()) ?? []) done.set(r.id, r);
  const resumed = questions.filter((q) => done.has(q.id)).length;

  // Encode what is left, and batch by length so padding stays small.
  const todo = questions.filter((q) => !done.has(q.id)).map((q) => ({ q, ids: encodePrompt(tok, q, template) }));
  todo.sort((a, b) => a.ids.length - b.ids.length);
  const t0 = performance.now();
  let scored = 0;
  o.onProgress?.({ done: resumed, total: questions.length, resumed, questionsPerSecond: 0 });
  for (let i = 0; i < todo.length; i += batchSize) {
    if (o.signal?.aborted) throw new EntrotuneError('scoring was stopped; finished examples are saved', 'run it again to resume');
    const batch = todo.slice(i, i + batchSize);
    const J = Math.max(...batch.map((b) => b.q.options.length));
    const stats = await model.nextTokenStats(batch.map((b) => b.ids), labels.ids.slice(0, J));
    const records = batch.map(({ q, ids }, b): ScoreRecord => {
      const n = q.options.length;
      const lab = stats.labelLogits.subarray(b * J, b * J + n);
      const { H, lse } = softmaxEntropy(lab);
      const probs = Array.from(lab, (x) => Math.exp(x - lse)).sort((a, b) => b - a);
      const greedy = stats.greedy[b];
      const k = labels.ids.slice(0, n).indexOf(greedy);
      const pred = k >= 0 ? k : null;
      return {
        id: q.id,
        subject: q.subject,
        entropy: stats.entropy[b],
        entropyOptions: H,
        optionMass: Math.min(1, Math.exp(lse - stats.lse[b])),
        top1: Math.min(1, Math.exp(stats.maxLogit[b] - stats.lse[b])),
        margin: probs[0] - (probs[1] ?? 0),
        pred,
        predToken: greedy,
        gold: q.answer,
        correct: pred === null ? null : pred === q.answer,
        promptTokens: ids.length,
      };
    });
    await o.store?.append(records);
    for (const r of records) done.set(r.id, r);
    scored += records.length;
    o.onRecords?.(records);
    o.onProgress?.({ done: resumed + scored, total: questions.length, resumed, questionsPerSecond: scored / ((performance.now() - t0) / 1000) });
  }
  return questions.map((q) => done.get(q.id)!);
}
