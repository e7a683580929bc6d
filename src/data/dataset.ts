// A multiple-choice dataset in memory: the `Question` every reader produces, the refused-row record,
// option letters, the seeded train/test split, and our canonical JSONL. Reading files is in ./formats,
// turning one row into a question in ./rows, the Hugging Face datasets server in ./datasets-server.

import { EntrotuneError } from '../errors';
import { hashSeed, rng, shuffle } from '../util/random';

export interface Question {
  id: string;
  question: string;
  options: string[];
  /** The gold option, 0-based. */
  answer: number;
  /** 'general' when the source names none. */
  subject: string;
  rationale?: string;
}

export interface InvalidRow {
  line: number;
  reason: string;
  /** The row as it was in the source: the JSONL line, the CSV record, or the JSON element re-serialised. */
  raw: string;
}

/** Options are labelled with letters; ten (A–J) is MMLU-Pro's maximum and ours. */
export const MAX_OPTIONS = 10;

/** The letter of a 0-based option index: 0 → 'A'. */
export function letterOf(index: number): string {
  return String.fromCharCode(65 + index);
}

/**
 * A seeded, stratified train/test split. Each subject is shuffled on its own (its stream seeded from
 * `seed` and the subject name, so adding another subject does not change this one's split) and
 * round(n·testFraction) of its questions go to test, clamped to 1…n−1 when 0 < testFraction < 1 and the
 * subject has at least 2 questions, so both sides see every such subject. Both halves keep the input order.
 */
export function splitTrainTest(questions: readonly Question[], opts: { testFraction?: number; seed?: number } = {}): { train: Question[]; test: Question[] } {
  const { testFraction = 0.2, seed = 0 } = opts;
  if (!(testFraction >= 0 && testFraction <= 1)) throw new EntrotuneError(`testFraction ${testFraction} is not in 0–1`, 'use e.g. 0.2 for one question in five held out for testing');
  const bySubject = new Map<string, number[]>();
  questions.forEach((q, i) => {
    const list = bySubject.get(q.subject);
    if (list) list.push(i);
    else bySubject.set(q.subject, [i]);
  });
  const inTest = new Uint8Array(questions.length);
  for (const [subject, idx] of bySubject) {
    const n = idx.length;
    let nTest = Math.round(n * testFraction);
    if (testFraction > 0 && testFraction < 1 && n >= 2) nTest = Math.min(n - 1, Math.max(1, nTest));
    for (const i of shuffle(idx, rng(hashSeed(seed, subject))).slice(0, nTest)) inTest[i] = 1;
  }
  return { train: questions.filter((_, i) => !inTest[i]), test: questions.filter((_, i) => inTest[i]) };
}

/** Our canonical JSONL, one question per line; parseDataset reads it back to the same questions. */
export function toJsonl(questions: readonly Question[]): string {
  return questions
    .map((q) => {
      const row: Record<string, unknown> = { id: q.id, question: q.question, options: q.options, answer: q.answer, answer_letter: letterOf(q.answer), subject: q.subject };
      if (q.rationale !== undefined) row.rationale = q.rationale;
      return JSON.stringify(row) + '\n';
    })
    .join('');
}
