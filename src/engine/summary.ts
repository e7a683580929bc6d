// What step 3 of the page draws from a run's scores: the training questions' entropies, the cut
// points and how many questions of each set fall in each bucket (kept in the run as score.json).

import { bucketOf, entropyHistogram } from '../score/analysis';
import { analyzeScores, type Bucket } from '../score/report';
import type { ScoreRecord } from '../score/score';
import type { RunSettings, ScoreSummary } from './protocol';

/** The bucket the pipeline will give a record: the training questions' cut points; an invalid base answer counts as hard. */
function bucketOfRecord(r: ScoreRecord, hmax: number, bounds: [number, number] | null): Bucket {
  if (r.correct === null || !bounds) return 'hard';
  return bucketOf(hmax > 0 ? r.entropy / hmax : 0, bounds);
}

export function summarizeScores(train: ScoreRecord[], test: ScoreRecord[], s: Pick<RunSettings, 'quantiles' | 'thresholds' | 'seed'>): ScoreSummary {
  const anyValid = train.some((r) => r.correct !== null);
  const report = anyValid ? analyzeScores(train, { quantiles: s.quantiles, thresholds: s.thresholds, seed: s.seed }) : null;
  const hmaxAll = Math.max(0, ...train.map((r) => r.entropy));
  const hmax = report ? report.hmax : hmaxAll;
  const bounds = report ? report.bounds : null;
  const count = (rs: ScoreRecord[]) => {
    const c = { easy: 0, medium: 0, hard: 0 } as Record<Bucket, number>;
    for (const r of rs) c[bucketOfRecord(r, hmax, bounds)]++;
    return c;
  };
  const valid = train.filter((r) => r.correct !== null);
  return {
    report,
    // Bins over the data's own range: questions all within 0.95–1 get 20 bars, not one.
    histogram: entropyHistogram(train.map((r) => (hmaxAll > 0 ? r.entropy / hmaxAll : 0)), 20),
    bounds: bounds && hmaxAll > 0 ? [(bounds[0] * hmax) / hmaxAll, (bounds[1] * hmax) / hmaxAll] : bounds,
    hmax: hmaxAll,
    train: count(train),
    test: count(test),
    invalid: train.length - valid.length,
    accuracy: valid.length ? valid.filter((r) => r.correct).length / valid.length : null,
  };
}
