// What step 3 of the page draws from a run's scores: the training questions' complexity by the run's
// signal (entropy unless another was chosen), the cut points and how many questions of each set fall
// in each bucket (kept in the run as score.json).

import { entropyHistogram } from '../score/analysis';
import { analyzeScores, type Bucket } from '../score/report';
import type { ScoreRecord } from '../score/score';
import { complexity, DEFAULT_SIGNAL, heldOutBucket, routeBySignal } from '../score/signals';
import type { RunSettings, ScoreSummary } from './protocol';

export function summarizeScores(train: ScoreRecord[], test: ScoreRecord[], s: Pick<RunSettings, 'quantiles' | 'thresholds' | 'seed' | 'signal' | 'teacherBudget'>): ScoreSummary {
  const signal = s.signal ?? DEFAULT_SIGNAL;
  const splitBy = { signal, quantiles: s.quantiles, thresholds: s.thresholds, teacherBudget: s.teacherBudget };
  const anyValid = train.some((r) => r.correct !== null);
  const report = anyValid ? analyzeScores(train, { ...splitBy, seed: s.seed }) : null;
  // The buckets the pipeline will use: the training questions' cut points; an invalid base answer is hard.
  const routing = routeBySignal(train, splitBy);
  const c = train.map((r) => complexity(r, signal));
  const cmaxAll = Math.max(0, ...c);
  const cmax = report ? report.hmax : cmaxAll;
  const bounds = report ? report.bounds : null;
  const count = (buckets: Bucket[]) => {
    const n = { easy: 0, medium: 0, hard: 0 } as Record<Bucket, number>;
    for (const b of buckets) n[b]++;
    return n;
  };
  const valid = train.filter((r) => r.correct !== null);
  return {
    report,
    signal,
    // Bins over the data's own range (questions all within 0.95–1 get 20 bars, not one), invalid answers included.
    histogram: entropyHistogram(c.map((x) => (cmaxAll > 0 ? x / cmaxAll : 0)), 20),
    bounds: bounds && cmaxAll > 0 ? [(bounds[0] * cmax) / cmaxAll, (bounds[1] * cmax) / cmaxAll] : bounds,
    hmax: cmaxAll,
    train: count(train.map((r) => routing.buckets.get(r.id)!)),
    test: count(test.map((r) => heldOutBucket(r, routing))),
    invalid: train.length - valid.length,
    accuracy: valid.length ? valid.filter((r) => r.correct).length / valid.length : null,
  };
}
