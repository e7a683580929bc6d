// A small fixed set of scores for the signal and frontier tests, with every complexity signal spelt out.
import type { ScoreRecord } from '../../src/score/score';

/** A valid or (correct null) invalid score record. */
export const rec = (id: string, entropy: number, entropyOptions: number, top1: number | undefined, margin: number | undefined, correct: boolean | null): ScoreRecord => ({
  id, subject: 's', entropy, entropyOptions, optionMass: 0.9, top1, margin, pred: correct === null ? null : 0, predToken: 5, gold: 0, correct, promptTokens: 20,
});

// Right: a, b, e. Wrong: c, d. f named no option (left out of every AUC).
export const SET = [
  rec('a', 0.1, 0.2, 0.9, 0.8, true),
  rec('b', 0.4, 0.1, 0.6, 0.5, true),
  rec('c', 0.3, 0.5, 0.95, 0.5, false),
  rec('d', 0.8, 0.6, 0.3, 0.1, false),
  rec('e', 0.5, 0.3, 0.5, 0.5, true),
  rec('f', 2.0, 1.5, 0.1, 0.0, null),
];
