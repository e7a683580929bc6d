// Analysis of entropy scores: how well does the model's single-token answer entropy predict its mistakes
// (ROC AUC, with a bootstrap interval), the easy/medium/hard split by normalised entropy, a histogram for
// the UI, and a Wilson interval for accuracies.
//
// Conventions. `scores` are "higher = more likely true": we call rocAuc with confidence = 1 − H/Hmax and
// label = the answer was correct, so AUC 0.5 is no signal and 1 means every right answer was more
// confident than every wrong one (the paper reports ≈ 0.72 on MMLU-Pro). Items whose answer was invalid
// (correct === null) take no part in the AUC or the split (they are listed as invalid instead).

import { EntrotuneError } from '../errors';
import { rng } from '../util/random';

// ---------------------------------------------------------------------------------------------------
// ROC AUC

/**
 * Area under the ROC curve of `scores` predicting `labels` = true, as the Mann–Whitney U statistic:
 *   AUC = P(score of a random positive > score of a random negative) + ½ · P(tie)
 *       = (R₊ − n₊(n₊+1)/2) / (n₊ · n₋),  R₊ = sum of the positives' ranks, tied scores sharing the mean rank.
 * All scores tied gives 0.5. Throws if either class is empty (the AUC is undefined).
 */
export function rocAuc(scores: readonly number[], labels: readonly boolean[]): number {
  checkScores(scores, labels);
  const order = sortedOrder(scores);
  return weightedAuc(order, scores, labels, null);
}

function checkScores(scores: readonly number[], labels: readonly boolean[]): void {
  if (scores.length !== labels.length) throw new EntrotuneError(`rocAuc: ${scores.length} scores but ${labels.length} labels`, 'pass one label per score');
  const bad = scores.findIndex((s) => !Number.isFinite(s));
  if (bad >= 0) throw new EntrotuneError(`rocAuc: score ${bad} is ${scores[bad]}`, 'scores must be finite numbers; check the entropies for NaN');
  const pos = labels.filter(Boolean).length;
  if (pos === 0 || pos === labels.length) {
    throw new EntrotuneError(
      `rocAuc: all ${labels.length} labels are ${pos === 0 ? 'false' : 'true'}; the AUC needs both classes`,
      'score more questions (the model got every one of them ' + (pos === 0 ? 'wrong' : 'right') + ')',
    );
  }
}

/** Indexes of `scores` in ascending score order. */
function sortedOrder(scores: readonly number[]): Int32Array {
  const order = Int32Array.from(scores.keys());
  order.sort((a, b) => scores[a] - scores[b]);
  return order;
}

/**
 * The Mann–Whitney AUC with each item counted `weight[i]` times (null: once), in one pass over the items
 * in ascending score order. Within a group of tied scores, a positive beats every negative below the
 * group and ties (½) with the group's own negatives:
 *   U = Σ_groups  posW_g · (negBelow + ½ · negW_g),   AUC = U / (P · N)
 * which is exactly the average-rank formula. With weights this evaluates a bootstrap resample (item i
 * drawn w_i times) in O(n) without sorting it again.
 */
function weightedAuc(order: Int32Array, scores: readonly number[], labels: readonly boolean[], weight: Uint32Array | null): number {
  let negBelow = 0; // total negative weight with a smaller score than the current group
  let U = 0;
  let P = 0;
  for (let g = 0; g < order.length; ) {
    const s = scores[order[g]];
    let posW = 0;
    let negW = 0;
    let k = g;
    for (; k < order.length && scores[order[k]] === s; k++) {
      const i = order[k];
      const w = weight ? weight[i] : 1;
      if (labels[i]) posW += w;
      else negW += w;
    }
    U += posW * (negBelow + 0.5 * negW);
    negBelow += negW;
    P += posW;
    g = k;
  }
  return U / (P * negBelow); // negBelow is now N, the total negative weight
}

/**
 * The AUC with a percentile bootstrap interval: `samples` resamples of the items (n draws with
 * replacement, seeded), the AUC of each, and the (1−level)/2 and (1+level)/2 quantiles of those. A
 * resample with only one class has no AUC and is drawn again (at most 1000 times in a row).
 */
export function bootstrapAuc(
  scores: readonly number[],
  labels: readonly boolean[],
  opts: { samples?: number; seed?: number; level?: number } = {},
): { auc: number; low: number; high: number } {
  const { samples = 1000, seed = 0, level = 0.95 } = opts;
  if (!Number.isInteger(samples) || samples < 1) throw new EntrotuneError(`bootstrapAuc: samples ${samples} is not a whole number ≥ 1`, 'use e.g. 1000');
  if (!(level > 0 && level < 1)) throw new EntrotuneError(`bootstrapAuc: level ${level} is not in (0, 1)`, 'use e.g. 0.95');
  const auc = rocAuc(scores, labels);
  const n = scores.length;
  const order = sortedOrder(scores);
  const random = rng(seed);
  const weight = new Uint32Array(n);
  const aucs = new Float64Array(samples);
  for (let b = 0; b < samples; b++) {
    for (let tries = 0; ; tries++) {
      if (tries === 1000) throw new EntrotuneError('bootstrapAuc: 1000 resamples in a row had only one class', 'score more questions, with both right and wrong answers');
      weight.fill(0);
      let pos = 0;
      for (let d = 0; d < n; d++) {
        const i = Math.floor(random() * n);
        weight[i]++;
        if (labels[i]) pos++;
      }
      if (pos > 0 && pos < n) break;
    }
    aucs[b] = weightedAuc(order, scores, labels, weight);
  }
  aucs.sort();
  return { auc, low: quantileSorted(aucs, (1 - level) / 2), high: quantileSorted(aucs, (1 + level) / 2) };
}

// ---------------------------------------------------------------------------------------------------
// Quantiles

/**
 * The p-quantile of ascending `sorted` by linear interpolation between closest ranks — numpy's default
 * ("linear", method 7): position p·(n−1), interpolated between the values either side.
 */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new EntrotuneError('quantile of no values', 'pass at least one value');
  if (!(p >= 0 && p <= 1)) throw new EntrotuneError(`quantile ${p} is not in 0–1`, 'quantiles are fractions, e.g. 0.25');
  const pos = p * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  // Equal neighbours give exactly that value (no rounding from a·(1−f) + b·f), so a tied cut point
  // compares equal to the tied items.
  return sorted[lo] === sorted[hi] ? sorted[lo] : sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

// ---------------------------------------------------------------------------------------------------
// The easy / medium / hard split

export type Bucket = 'easy' | 'medium' | 'hard';

export interface EntropyItem {
  id: string;
  /** Entropy of the first answer token, nats. */
  entropy: number;
  /** Whether the greedy answer was right; null when it was no valid option (excluded from the split). */
  correct: boolean | null;
}

export interface EntropySplit {
  /** The largest entropy among valid items (the normaliser); 0 when all are 0. */
  hmax: number;
  /** Cut points on normalised entropy h = H / hmax: easy h ≤ bounds[0] < medium ≤ bounds[1] < hard. */
  bounds: [number, number];
  buckets: Record<Bucket, string[]>;
  /** accuracy = correct / count, NaN for an empty bucket. */
  stats: Record<Bucket, { count: number; correct: number; accuracy: number }>;
  /** Ids of items with an invalid answer (correct === null), in input order. */
  invalid: string[];
}

/** The bucket of a normalised entropy h = H / Hmax: one comparison chain, so every h gets exactly one. */
export function bucketOf(h: number, bounds: [number, number]): Bucket {
  return h <= bounds[0] ? 'easy' : h <= bounds[1] ? 'medium' : 'hard';
}

/**
 * Split scored items into easy / medium / hard by normalised entropy h = H / Hmax, Hmax the largest
 * entropy among the valid items (when every valid H is 0, h = 0 for all and everything is easy).
 * Cut points are the `quantiles` (default the paper's 25% and 75%) of the valid items' h, interpolated
 * as numpy does, or fixed `thresholds` on h. The buckets are disjoint and cover every valid item:
 *   easy  h ≤ b₁        medium  b₁ < h ≤ b₂        hard  h > b₂
 * (the paper's code gave medium no upper bound, so it also held every hard question).
 * Ties: items with equal entropy always land in the same bucket, so with many ties at a cut point the
 * buckets are not 25/50/25 — the whole tied group goes to the lower bucket (h ≤ b). Ids keep input order.
 */
export function splitByEntropy(
  items: readonly EntropyItem[],
  opts: { quantiles?: [number, number] } | { thresholds: [number, number] } = {},
): EntropySplit {
  const valid = items.filter((it) => it.correct !== null);
  const invalid = items.filter((it) => it.correct === null).map((it) => it.id);
  const badH = valid.find((it) => !Number.isFinite(it.entropy));
  if (badH) throw new EntrotuneError(`splitByEntropy: entropy of '${badH.id}' is ${badH.entropy}`, 'entropies must be finite; this is a bug in scoring, please report it');
  if (valid.length === 0) throw new EntrotuneError(`splitByEntropy: none of the ${items.length} items has a valid answer`, 'check that the prompt asks for the option letter and that the chat template is right');

  const hmax = valid.reduce((m, it) => Math.max(m, it.entropy), 0); // (no spread: it overflows the stack past ~10⁵ items)
  const norm = hmax > 0 ? hmax : 1; // all entropies 0: h = 0 for every item
  const h = valid.map((it) => it.entropy / norm);

  let bounds: [number, number];
  if ('thresholds' in opts) {
    const [t1, t2] = opts.thresholds;
    if (!(t1 <= t2)) throw new EntrotuneError(`splitByEntropy: thresholds [${t1}, ${t2}] are not in order`, 'give [easy/medium cut, medium/hard cut] with the first ≤ the second, on entropy / max entropy');
    bounds = [t1, t2];
  } else {
    const [p1, p2] = opts.quantiles ?? [0.25, 0.75];
    if (!(p1 >= 0 && p1 <= p2 && p2 <= 1)) throw new EntrotuneError(`splitByEntropy: quantiles [${p1}, ${p2}] are not 0 ≤ q1 ≤ q2 ≤ 1`, 'use e.g. [0.25, 0.75]');
    const sorted = Float64Array.from(h).sort();
    bounds = [quantileSorted(sorted, p1), quantileSorted(sorted, p2)];
  }

  const buckets: Record<Bucket, string[]> = { easy: [], medium: [], hard: [] };
  const stats: Record<Bucket, { count: number; correct: number; accuracy: number }> = {
    easy: { count: 0, correct: 0, accuracy: NaN },
    medium: { count: 0, correct: 0, accuracy: NaN },
    hard: { count: 0, correct: 0, accuracy: NaN },
  };
  valid.forEach((it, i) => {
    const b = bucketOf(h[i], bounds);
    buckets[b].push(it.id);
    stats[b].count++;
    if (it.correct) stats[b].correct++;
  });
  for (const s of Object.values(stats)) s.accuracy = s.count > 0 ? s.correct / s.count : NaN;
  return { hmax, bounds, buckets, stats, invalid };
}

// ---------------------------------------------------------------------------------------------------
// Histogram and accuracy interval

/**
 * Counts of `values` in `bins` equal-width bins over `range` (default [min, max]; numpy's rules: bins
 * are [e_i, e_{i+1}) except the last, which includes its right edge; values outside the range are not
 * counted; an empty or single-valued default range becomes [v−½, v+½], no values [0, 1]).
 */
export function entropyHistogram(values: readonly number[], bins = 20, range?: [number, number]): { edges: number[]; counts: number[] } {
  if (!Number.isInteger(bins) || bins < 1) throw new EntrotuneError(`entropyHistogram: bins ${bins} is not a whole number ≥ 1`, 'use e.g. 20');
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new EntrotuneError(`entropyHistogram: value ${bad} is ${values[bad]}`, 'values must be finite');
  let lo: number;
  let hi: number;
  if (range) {
    [lo, hi] = range;
    if (!(lo < hi)) throw new EntrotuneError(`entropyHistogram: range [${lo}, ${hi}] is empty`, 'give [low, high] with low < high');
  } else if (values.length === 0) {
    [lo, hi] = [0, 1];
  } else {
    lo = values.reduce((m, v) => Math.min(m, v), Infinity);
    hi = values.reduce((m, v) => Math.max(m, v), -Infinity);
    if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
  }
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * width));
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) {
    if (v < lo || v > hi) continue;
    let i = Math.min(bins - 1, Math.floor((v - lo) / width));
    // The division can land one bin off the computed edges by rounding; the edges are what we report.
    if (i > 0 && v < edges[i]) i--;
    else if (i < bins - 1 && v >= edges[i + 1]) i++;
    counts[i]++;
  }
  return { edges, counts };
}

/**
 * The Wilson score interval for a proportion `correct / n` at confidence `level`:
 *   centre = (p + z²/2n) / (1 + z²/n),  half-width = z·√(p(1−p)/n + z²/4n²) / (1 + z²/n)
 * which, unlike p ± z·√(p(1−p)/n), stays inside [0, 1] and is sensible at p = 0 or 1 and small n.
 * With n = 0: p = NaN and the interval is [0, 1].
 */
export function accuracyInterval(correct: number, n: number, level = 0.95): { p: number; low: number; high: number } {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(correct) || correct < 0 || correct > n) {
    throw new EntrotuneError(`accuracyInterval: ${correct} correct of ${n} is not a count`, 'pass whole numbers with 0 ≤ correct ≤ n');
  }
  if (!(level > 0 && level < 1)) throw new EntrotuneError(`accuracyInterval: level ${level} is not in (0, 1)`, 'use e.g. 0.95');
  if (n === 0) return { p: NaN, low: 0, high: 1 };
  const p = correct / n;
  const z = normalQuantile((1 + level) / 2);
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * The standard normal quantile Φ⁻¹(p), 0 < p < 1: Peter Acklam's rational approximation, relative
 * error < 1.2e-9 — far below what a confidence interval needs (z₀.₉₇₅ = 1.959963985 to 9 digits).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new EntrotuneError(`normalQuantile: ${p} is not in (0, 1)`, 'pass a probability strictly between 0 and 1');
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pLow = 0.02425;
  let x: number;
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - pLow) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  return x;
}
