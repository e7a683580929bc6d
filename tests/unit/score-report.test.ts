// The score report is written whatever the answers were, and says plainly when its numbers rest on
// too little: no valid answer at all, or an AUC over a handful of correct or wrong answers.
import { describe, expect, it } from 'vitest';
import { analyzeScores, formatScoreReport } from '../../src/score/report';
import type { ScoreRecord } from '../../src/score/score';

const record = (i: number, correct: boolean | null, entropy = 0.5 + i / 100): ScoreRecord => ({
  id: `q${i}`, subject: 'general', entropy, entropyOptions: entropy / 2, optionMass: 0.5, top1: 1 - entropy / 3, margin: 0.5,
  pred: correct === null ? null : 0, predToken: 1, gold: 0, correct, promptTokens: 30,
});

describe('analyzeScores', () => {
  it('reports a run in which no answer named an option, instead of stopping', () => {
    const r = analyzeScores(Array.from({ length: 10 }, (_, i) => record(i, null)));
    expect(r.valid).toBe(0);
    expect(r.invalid).toBe(10);
    expect(r.auc).toBeNull();
    expect(r.buckets.hard.count).toBe(0);
    expect(r.warnings[0]).toMatch(/none of the 10 answers named an option/);
    expect(formatScoreReport(r)).toMatch(/^WARNING: none of the 10 answers/);
  });

  it('warns that an AUC on 2 valid answers out of 24 means nothing', () => {
    const records = Array.from({ length: 24 }, (_, i) => record(i, i === 0 ? true : i === 1 ? false : null, i === 0 ? 0.1 : 0.9));
    const r = analyzeScores(records);
    expect(r.auc?.auc).toBe(1);
    expect(r.warnings).toEqual([expect.stringMatching(/rests on 1 correct and 1 wrong answers \(22 of 24 named no option\): too few to mean anything/)]);
    expect(formatScoreReport(r)).toMatch(/WARNING: the ROC AUC rests on 1 correct/);
  });

  it('says nothing when there are enough of each', () => {
    const r = analyzeScores(Array.from({ length: 40 }, (_, i) => record(i, i % 2 === 0)));
    expect(r.warnings).toEqual([]);
  });
});

describe('the entropy histogram', () => {
  it('bins over the data range, so questions all within 0.95–1 are not one bar', async () => {
    const { summarizeScores } = await import('../../src/engine/summary');
    const train = Array.from({ length: 40 }, (_, i) => record(i, i % 3 === 0, 0.95 + (0.05 * i) / 39));
    const s = summarizeScores(train, [], { quantiles: [0.25, 0.75], seed: 0 });
    expect(s.histogram.edges[0]).toBeCloseTo(0.95, 6);
    expect(s.histogram.counts.filter((c) => c > 0).length).toBeGreaterThan(10);
    const r = analyzeScores(train);
    expect(r.histogram.counts.filter((c) => c > 0).length).toBeGreaterThan(10);
  });
});
