// From per-example scores to the numbers the method needs: how well entropy predicts mistakes
// (ROC AUC of confidence 1 − H/Hmax against correctness, with a bootstrap interval), the
// easy/medium/hard split, accuracy per bucket and a histogram the UI can draw.

import { bootstrapAuc, entropyHistogram, splitByEntropy, accuracyInterval, type Bucket } from './analysis';
import type { ScoreRecord } from './score';

export type { Bucket };
export const BUCKETS: Bucket[] = ['easy', 'medium', 'hard'];

export interface ScoreReport {
  total: number;
  valid: number;
  invalid: number;
  accuracy: { p: number; low: number; high: number };
  /** AUC of confidence = 1 − H/Hmax for "the answer is correct"; null when one class is empty. */
  auc: { auc: number; low: number; high: number } | null;
  /** The same with the entropy restricted to the option labels. */
  aucOptions: { auc: number; low: number; high: number } | null;
  hmax: number;
  /** Normalised entropy bounds between easy|medium and medium|hard. */
  bounds: [number, number];
  buckets: Record<Bucket, { count: number; correct: number; accuracy: number; ids: string[] }>;
  histogram: { edges: number[]; counts: number[] };
  invalidIds: string[];
  /** What makes these numbers mean less than they seem (no valid answer; an AUC on too few of a kind). */
  warnings: string[];
}

/** Fewer correct (or wrong) answers than this and the ROC AUC says little, whatever its interval. */
export const AUC_MIN_PER_CLASS = 10;

export interface SplitOptions {
  /** Quantiles of normalised entropy (default [0.25, 0.75]) … */
  quantiles?: [number, number];
  /** … or fixed thresholds on normalised entropy. */
  thresholds?: [number, number];
  bootstrapSamples?: number;
  seed?: number;
}

export function analyzeScores(records: ScoreRecord[], o: SplitOptions = {}): ScoreReport {
  const valid = records.filter((r) => r.correct !== null);
  if (!valid.length) {
    // Nothing to split or rank: the report still says so, with every question counted.
    const empty = { count: 0, correct: 0, accuracy: NaN, ids: [] as string[] };
    return {
      total: records.length, valid: 0, invalid: records.length, accuracy: { p: 0, low: 0, high: 0 }, auc: null, aucOptions: null,
      hmax: 0, bounds: [0, 0], buckets: { easy: { ...empty }, medium: { ...empty }, hard: { ...empty } },
      histogram: entropyHistogram([], 20, [0, 1]), invalidIds: records.map((r) => r.id),
      warnings: [`none of the ${records.length} answers named an option: there is no split and no ROC AUC (check that the prompt asks for the option letter and that the model has a chat template)`],
    };
  }
  const split = splitByEntropy(
    records.map((r) => ({ id: r.id, entropy: r.entropy, correct: r.correct })),
    o.thresholds ? { thresholds: o.thresholds } : { quantiles: o.quantiles ?? [0.25, 0.75] },
  );
  const labels = valid.map((r) => r.correct === true);
  const both = labels.some((l) => l) && labels.some((l) => !l);
  const auc = (key: 'entropy' | 'entropyOptions') => {
    if (!both) return null;
    const hmax = Math.max(...valid.map((r) => r[key])) || 1;
    return bootstrapAuc(valid.map((r) => 1 - r[key] / hmax), labels, { samples: o.bootstrapSamples ?? 1000, seed: o.seed ?? 0 });
  };
  const correct = labels.filter(Boolean).length;
  const wrong = labels.length - correct;
  const warnings: string[] = [];
  if (Math.min(correct, wrong) < AUC_MIN_PER_CLASS) {
    warnings.push(`the ROC AUC rests on ${correct} correct and ${wrong} wrong answers${records.length > valid.length ? ` (${records.length - valid.length} of ${records.length} named no option)` : ''}: too few to mean anything (it needs at least ${AUC_MIN_PER_CLASS} of each)`);
  }
  const buckets = {} as ScoreReport['buckets'];
  for (const b of BUCKETS) buckets[b] = { ...split.stats[b], ids: split.buckets[b] };
  return {
    total: records.length,
    valid: valid.length,
    invalid: records.length - valid.length,
    accuracy: valid.length ? accuracyInterval(correct, valid.length) : { p: 0, low: 0, high: 0 },
    auc: auc('entropy'),
    aucOptions: auc('entropyOptions'),
    hmax: split.hmax,
    bounds: split.bounds,
    buckets,
    histogram: entropyHistogram(valid.map((r) => (split.hmax > 0 ? r.entropy / split.hmax : 0)), 20), // over the data's range
    invalidIds: split.invalid,
    warnings,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The summary table the CLI prints (Markdown, so it pastes into a report). */
export function formatScoreReport(r: ScoreReport): string {
  const auc = (a: ScoreReport['auc']) => (a ? `${a.auc.toFixed(3)} [${a.low.toFixed(3)}, ${a.high.toFixed(3)}]` : 'n/a (one class empty)');
  const lines = [
    ...r.warnings.map((w) => `WARNING: ${w}`),
    `questions ${r.total}: ${r.valid} valid, ${r.invalid} invalid answers (excluded)`,
    `accuracy ${pct(r.accuracy.p)} [${pct(r.accuracy.low)}, ${pct(r.accuracy.high)}]`,
    `ROC AUC of confidence (1 − H/Hmax, full vocabulary) for a correct answer: ${auc(r.auc)}`,
    `ROC AUC with the entropy over the option labels only:                 ${auc(r.aucOptions)}`,
    `Hmax ${r.hmax.toFixed(3)} nats; bounds on H/Hmax: easy ≤ ${r.bounds[0].toFixed(3)} < medium ≤ ${r.bounds[1].toFixed(3)} < hard`,
    '',
    '| bucket | questions | accuracy |',
    '| --- | --- | --- |',
    ...BUCKETS.map((b) => `| ${b} | ${r.buckets[b].count} | ${r.buckets[b].count ? pct(r.buckets[b].accuracy) : '–'} |`),
  ];
  return lines.join('\n');
}
