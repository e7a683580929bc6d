// Score analysis: ROC AUC against hand-computed values (ties included) and a brute-force pair count,
// the bootstrap interval, the easy/medium/hard split (disjoint and covering, even with many ties),
// the histogram and the Wilson interval.

import { describe, expect, it } from 'vitest';
import { accuracyInterval, bootstrapAuc, entropyHistogram, normalQuantile, quantileSorted, rocAuc, splitByEntropy, type EntropyItem } from '../../src/score/analysis';
import { EntrotuneError } from '../../src/errors';
import { rng } from '../../src/util/random';

/** AUC by definition: over all (positive, negative) pairs, 1 if the positive scores higher, ½ if tied. */
function pairAuc(scores: number[], labels: boolean[]): number {
  let sum = 0;
  let pairs = 0;
  scores.forEach((sp, p) => {
    if (!labels[p]) return;
    scores.forEach((sn, n) => {
      if (labels[n]) return;
      sum += sp > sn ? 1 : sp === sn ? 0.5 : 0;
      pairs++;
    });
  });
  return sum / pairs;
}

describe('rocAuc', () => {
  it('matches hand-computed values with ties', () => {
    // scores [0.9, 0.8, 0.8, 0.3], labels [T, F, T, F].
    // Ascending: 0.3(F) rank 1; 0.8(F), 0.8(T) share ranks 2 and 3 → 2.5 each; 0.9(T) rank 4.
    // R₊ = 2.5 + 4 = 6.5;  U = R₊ − n₊(n₊+1)/2 = 6.5 − 3 = 3.5;  AUC = U / (n₊·n₋) = 3.5 / 4 = 0.875.
    // (Pairs: 0.9>0.8 ✓, 0.9>0.3 ✓, 0.8=0.8 ½, 0.8>0.3 ✓ → 3.5 of 4.)
    expect(rocAuc([0.9, 0.8, 0.8, 0.3], [true, false, true, false])).toBe(0.875);

    // scores [1, 1, 1, 0, 0], labels [T, F, T, T, F].
    // Ascending: the two 0s share ranks 1, 2 → 1.5; the three 1s share ranks 3, 4, 5 → 4.
    // Positives: 1 (rank 4), 1 (rank 4), 0 (rank 1.5) → R₊ = 9.5;  U = 9.5 − 3·4/2 = 3.5;  AUC = 3.5 / (3·2) = 7/12.
    expect(rocAuc([1, 1, 1, 0, 0], [true, false, true, true, false])).toBeCloseTo(7 / 12, 15);
  });

  it('is 1 when perfect, 0 when inverted, 0.5 when all tied', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [false, false, true, true])).toBe(1);
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [true, true, false, false])).toBe(0);
    expect(rocAuc([0.4, 0.4, 0.4, 0.4, 0.4], [true, false, false, true, true])).toBe(0.5);
  });

  it('equals the pair count on random data with many ties', () => {
    const r = rng(9);
    for (let trial = 0; trial < 20; trial++) {
      const n = 2 + Math.floor(r() * 60);
      const scores = Array.from({ length: n }, () => Math.floor(r() * 5) / 4); // 5 distinct values
      const labels = scores.map((s) => r() < 0.3 + 0.4 * s);
      labels[0] = true;
      labels[1] = false;
      expect(rocAuc(scores, labels)).toBeCloseTo(pairAuc(scores, labels), 12);
    }
  });

  it('refuses one class, mismatched lengths and non-finite scores', () => {
    expect(() => rocAuc([0.1, 0.2], [true, true])).toThrow(/all 2 labels are true; the AUC needs both classes/);
    expect(() => rocAuc([0.1, 0.2], [false, false])).toThrow(EntrotuneError);
    expect(() => rocAuc([], [])).toThrow(EntrotuneError);
    expect(() => rocAuc([0.1], [true, false])).toThrow(/1 scores but 2 labels/);
    expect(() => rocAuc([0.1, NaN], [true, false])).toThrow(/score 1 is NaN/);
  });
});

describe('bootstrapAuc', () => {
  const r = rng(4);
  const n = 300;
  const conf = Array.from({ length: n }, () => Math.round(r() * 20) / 20); // ties
  const correct = conf.map((c) => r() < 0.2 + 0.6 * c);

  it('gives an interval around the AUC, the same for the same seed', () => {
    const a = bootstrapAuc(conf, correct, { samples: 500, seed: 1 });
    expect(a.auc).toBe(rocAuc(conf, correct));
    expect(a.low).toBeLessThan(a.auc);
    expect(a.high).toBeGreaterThan(a.auc);
    expect(a.high - a.low).toBeLessThan(0.25);
    expect(bootstrapAuc(conf, correct, { samples: 500, seed: 1 })).toEqual(a);
    expect(bootstrapAuc(conf, correct, { samples: 500, seed: 2 })).not.toEqual(a);
    const wide = bootstrapAuc(conf, correct, { samples: 500, seed: 1, level: 0.99 });
    expect(wide.low).toBeLessThanOrEqual(a.low);
    expect(wide.high).toBeGreaterThanOrEqual(a.high);
  });

  it('evaluates a resample exactly as rocAuc on the resampled items would', () => {
    // With one sample the interval is that resample's AUC. Redraw the same resample here (same seed,
    // same draws, redrawing one-class resamples the same way) and score it the slow way.
    const scores = [0.9, 0.8, 0.8, 0.3, 0.5, 0.5, 0.1, 0.7];
    const labels = [true, false, true, false, true, false, false, true];
    for (const seed of [0, 1, 2, 3]) {
      const random = rng(seed);
      let idx: number[];
      do idx = scores.map(() => Math.floor(random() * scores.length));
      while (idx.every((i) => labels[i]) || idx.every((i) => !labels[i]));
      const slow = rocAuc(idx.map((i) => scores[i]), idx.map((i) => labels[i]));
      const b = bootstrapAuc(scores, labels, { samples: 1, seed });
      expect(b.low).toBeCloseTo(slow, 12);
      expect(b.high).toBeCloseTo(slow, 12);
    }
  });

  it('redraws one-class resamples of a tiny set instead of failing', () => {
    const b = bootstrapAuc([0.9, 0.1, 0.2], [true, false, false], { samples: 200 });
    expect(b.auc).toBe(1);
    expect(b.low).toBe(1); // a positive always outranks every negative, in every resample
  });
});

describe('quantileSorted', () => {
  it('interpolates like numpy.quantile', () => {
    // numpy.quantile([0.1, 0.2, 0.6, 1.0], [0.25, 0.75]) = [0.175, 0.7]: positions 0.75 and 2.25.
    expect(quantileSorted([0.1, 0.2, 0.6, 1.0], 0.25)).toBeCloseTo(0.175, 15);
    expect(quantileSorted([0.1, 0.2, 0.6, 1.0], 0.75)).toBeCloseTo(0.7, 15);
    expect(quantileSorted([3], 0.5)).toBe(3);
    expect(quantileSorted([1, 2], 0)).toBe(1);
    expect(quantileSorted([1, 2], 1)).toBe(2);
  });
});

describe('splitByEntropy', () => {
  const items = (entropies: number[], correct?: (boolean | null)[]): EntropyItem[] =>
    entropies.map((entropy, i) => ({ id: `q${i}`, entropy, correct: correct ? correct[i] : i % 2 === 0 }));

  it('cuts at the 25% and 75% quantiles of H / Hmax', () => {
    // h = [0, .25, .5, .75, 1]; quantile positions 1 and 3 → bounds [.25, .75].
    const s = splitByEntropy(items([0, 1, 2, 3, 4]));
    expect(s.hmax).toBe(4);
    expect(s.bounds).toEqual([0.25, 0.75]);
    expect(s.buckets).toEqual({ easy: ['q0', 'q1'], medium: ['q2', 'q3'], hard: ['q4'] });
    expect(s.stats.easy).toEqual({ count: 2, correct: 1, accuracy: 0.5 });
    expect(s.stats.hard).toEqual({ count: 1, correct: 1, accuracy: 1 });
    expect(s.invalid).toEqual([]);
  });

  it('interpolates the cut points between items', () => {
    // Entropies [0.5, 1, 3, 5] → h [0.1, 0.2, 0.6, 1]; numpy gives bounds [0.175, 0.7].
    const s = splitByEntropy(items([0.5, 1, 3, 5]));
    expect(s.bounds[0]).toBeCloseTo(0.175, 15);
    expect(s.bounds[1]).toBeCloseTo(0.7, 15);
    expect(s.buckets).toEqual({ easy: ['q0'], medium: ['q1', 'q2'], hard: ['q3'] });
  });

  it('excludes invalid answers from the split and from Hmax, and lists them', () => {
    const s = splitByEntropy(items([0, 1, 99, 2, 3, 4], [true, false, null, true, null, false]));
    expect(s.invalid).toEqual(['q2', 'q4']);
    expect(s.hmax).toBe(4);
    const all = [...s.buckets.easy, ...s.buckets.medium, ...s.buckets.hard];
    expect(all.sort()).toEqual(['q0', 'q1', 'q3', 'q5']);
    expect(s.stats.easy.count + s.stats.medium.count + s.stats.hard.count).toBe(4);
  });

  it('uses fixed thresholds on normalised entropy', () => {
    const s = splitByEntropy(items([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), { thresholds: [0.3, 0.6] });
    expect(s.bounds).toEqual([0.3, 0.6]);
    expect(s.buckets.easy).toEqual(['q0', 'q1', 'q2', 'q3']); // h = 0.3 is easy (h ≤ b₁)
    expect(s.buckets.medium).toEqual(['q4', 'q5', 'q6']);
    expect(s.buckets.hard).toEqual(['q7', 'q8', 'q9', 'q10']);
    expect(() => splitByEntropy(items([1, 2]), { thresholds: [0.6, 0.3] })).toThrow(/not in order/);
  });

  it('keeps buckets disjoint and covering on random data with many ties', () => {
    const r = rng(21);
    for (let trial = 0; trial < 30; trial++) {
      const n = 1 + Math.floor(r() * 400);
      const levels = 1 + Math.floor(r() * 6); // as few as one distinct entropy
      const data: EntropyItem[] = Array.from({ length: n }, (_, i) => ({
        id: `t${i}`,
        entropy: (Math.floor(r() * levels) * 2.3) / levels,
        correct: r() < 0.1 ? null : r() < 0.6,
      }));
      if (data.every((d) => d.correct === null)) data[0].correct = true;
      const s = splitByEntropy(data, { quantiles: [0.25, 0.75] });
      const valid = data.filter((d) => d.correct !== null);
      const seen = [...s.buckets.easy, ...s.buckets.medium, ...s.buckets.hard];
      expect(new Set(seen).size).toBe(seen.length); // disjoint
      expect(new Set(seen)).toEqual(new Set(valid.map((d) => d.id))); // covering
      expect(s.invalid).toEqual(data.filter((d) => d.correct === null).map((d) => d.id));
      // Each bucket obeys its bounds, and equal entropies share a bucket.
      const h = new Map(valid.map((d) => [d.id, d.entropy / (s.hmax || 1)]));
      for (const id of s.buckets.easy) expect(h.get(id)!).toBeLessThanOrEqual(s.bounds[0]);
      for (const id of s.buckets.medium) expect(h.get(id)! > s.bounds[0] && h.get(id)! <= s.bounds[1]).toBe(true);
      for (const id of s.buckets.hard) expect(h.get(id)!).toBeGreaterThan(s.bounds[1]);
      const bucketOf = new Map<string, string>();
      for (const b of ['easy', 'medium', 'hard'] as const) for (const id of s.buckets[b]) bucketOf.set(id, b);
      const byEntropy = new Map<number, Set<string>>();
      for (const d of valid) byEntropy.set(d.entropy, (byEntropy.get(d.entropy) ?? new Set()).add(bucketOf.get(d.id)!));
      for (const set of byEntropy.values()) expect(set.size).toBe(1);
      // Stats agree with the buckets.
      const c = (ids: string[]) => ids.filter((id) => data.find((d) => d.id === id)!.correct).length;
      for (const b of ['easy', 'medium', 'hard'] as const) expect(s.stats[b]).toMatchObject({ count: s.buckets[b].length, correct: c(s.buckets[b]) });
    }
  });

  it('puts everything in easy when every entropy is 0, and refuses a set with no valid answer', () => {
    const s = splitByEntropy(items([0, 0, 0]));
    expect(s.hmax).toBe(0);
    expect(s.buckets).toEqual({ easy: ['q0', 'q1', 'q2'], medium: [], hard: [] });
    expect(s.stats.medium.accuracy).toBeNaN();
    expect(() => splitByEntropy(items([1, 2], [null, null]))).toThrow(/none of the 2 items has a valid answer/);
    expect(() => splitByEntropy(items([1, NaN]))).toThrow(/entropy of 'q1' is NaN/);
  });
});

describe('entropyHistogram', () => {
  it('counts like numpy.histogram: half-open bins, the last one closed', () => {
    // numpy.histogram([0, .5, 1, 1, 2], 4) → counts [1, 1, 2, 1], edges [0, .5, 1, 1.5, 2].
    expect(entropyHistogram([0, 0.5, 1, 1, 2], 4)).toEqual({ edges: [0, 0.5, 1, 1.5, 2], counts: [1, 1, 2, 1] });
  });

  it('counts sum to n and every value lies within its bin edges', () => {
    const r = rng(5);
    const values = Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? Math.round(r() * 10) / 10 : r() * 3.7));
    const { edges, counts } = entropyHistogram(values, 20);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(edges).toHaveLength(21);
    // Recount against the edges themselves.
    const recount = new Array<number>(20).fill(0);
    for (const v of values) {
      const i = edges.findIndex((e, k) => k < 20 && v >= e && (v < edges[k + 1] || (k === 19 && v <= edges[20])));
      recount[i]++;
    }
    expect(counts).toEqual(recount);
    // Tenths on [0, 1] in 10 bins: the edges are computed (3·0.1 = 0.30000000000000004 > 0.3), and a value
    // goes by the edges reported, exactly as numpy.histogram(..., 10, (0, 1)) → [1 1 2 0 1 2 1 0 1 2].
    const tenths = entropyHistogram([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1], 10, [0, 1]);
    expect(tenths.counts).toEqual([1, 1, 2, 0, 1, 2, 1, 0, 1, 2]);
    expect(tenths.edges[3]).toBeGreaterThan(0.3);
  });

  it('uses a given range (values outside are not counted), and widens a single value', () => {
    expect(entropyHistogram([-1, 0, 0.5, 1, 2], 2, [0, 1]).counts).toEqual([1, 2]);
    expect(entropyHistogram([3, 3, 3], 2)).toEqual({ edges: [2.5, 3, 3.5], counts: [0, 3] });
    expect(entropyHistogram([], 2)).toEqual({ edges: [0, 0.5, 1], counts: [0, 0] });
    expect(() => entropyHistogram([1], 0)).toThrow(/bins 0/);
    expect(() => entropyHistogram([1], 2, [1, 1])).toThrow(/range/);
  });
});

describe('accuracyInterval', () => {
  it('gives the Wilson score interval', () => {
    // 8/10 at 95%: z = 1.959964, centre (0.8 + z²/20)/(1 + z²/10) = 0.716897, half-width 0.226348
    // → [0.490162, 0.943318] (the normal-approximation interval would be [0.552, 1.048]).
    const a = accuracyInterval(8, 10);
    expect(a.p).toBe(0.8);
    expect(a.low).toBeCloseTo(0.4901624715, 8);
    expect(a.high).toBeCloseTo(0.9433178485, 8);
    const half = accuracyInterval(50, 100);
    expect(half.low).toBeCloseTo(0.4038315304, 8);
    expect(half.high).toBeCloseTo(0.5961684696, 8);
    expect(accuracyInterval(0, 10)).toMatchObject({ p: 0, low: 0 });
    expect(accuracyInterval(0, 10).high).toBeCloseTo(0.2775327999, 8);
    expect(accuracyInterval(10, 10).high).toBe(1);
    expect(accuracyInterval(0, 0)).toEqual({ p: NaN, low: 0, high: 1 });
    expect(accuracyInterval(8, 10, 0.99).low).toBeLessThan(a.low);
    expect(() => accuracyInterval(11, 10)).toThrow(/not a count/);
  });

  it('uses accurate normal quantiles', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 8);
    expect(normalQuantile(0.995)).toBeCloseTo(2.5758293035489, 8);
    expect(normalQuantile(0.9)).toBeCloseTo(1.2815515655446, 8);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.3263478740408, 8);
    expect(normalQuantile(0.5)).toBe(0);
  });
});
