// Complexity signals: how hard a question is for the base model, read from the one scoring pass (no
// extra forward). Each is a number where higher = harder:
//   entropy          H over the full vocabulary at the first answer token, nats (the paper's)
//   entropy-options  H renormalised over the option labels, nats
//   top1             1 − p(most likely token), full vocabulary
//   margin           1 − (p₁ − p₂), the two most likely option labels renormalised over the options
// and the routing that follows from one: the training questions ranked from most to least complex (an
// answer that named no option counts as most complex: the base could not answer at all), split into
// easy / medium / hard by quantiles, fixed thresholds or a teacher budget ("at most N questions to the
// teacher": the N most complex are hard). Held-out questions get the training questions' cut points.

import { EntrotuneError } from '../errors';
import { bucketOf, quantileSorted, splitByEntropy, type Bucket } from './analysis';
import type { ScoreRecord } from './score';

export const SIGNALS = ['entropy', 'entropy-options', 'top1', 'margin'] as const;
export type Signal = (typeof SIGNALS)[number];
/** The paper's signal. */
export const DEFAULT_SIGNAL: Signal = 'entropy';

/** What each signal is, in a few words (reports, the page's select, the CLI's usage). */
export const SIGNAL_NAMES: Record<Signal, string> = {
  entropy: 'entropy (full vocabulary)',
  'entropy-options': 'entropy over the option labels',
  top1: '1 − top-1 probability',
  margin: '1 − margin between the two likeliest options',
};

export function checkSignal(s: string): Signal {
  if (!(SIGNALS as readonly string[]).includes(s)) throw new EntrotuneError(`unknown complexity signal '${s}'`, `signals are ${SIGNALS.join(', ')} (default ${DEFAULT_SIGNAL}, the paper's)`);
  return s as Signal;
}

/** How complex the question of `r` is by `signal` (higher = harder). A record scored before top1 and
 *  margin were kept has neither: asking for them is an error that says to score again. */
export function complexity(r: ScoreRecord, signal: Signal): number {
  switch (signal) {
    case 'entropy':
      return r.entropy;
    case 'entropy-options':
      return r.entropyOptions;
    case 'top1':
    case 'margin': {
      const v = signal === 'top1' ? r.top1 : r.margin;
      if (v === undefined) {
        throw new EntrotuneError(
          `question '${r.id}' was scored before the ${signal} signal was kept, so it cannot be split by ${signal}`,
          'score again: delete the run\'s scores.jsonl (its score.json too) and run it again, or split by entropy or entropy-options, which every score has',
        );
      }
      return 1 - v;
    }
  }
}

/** Whether every record carries what `signal` needs. */
export function hasSignal(records: readonly ScoreRecord[], signal: Signal): boolean {
  return signal === 'entropy' || signal === 'entropy-options' || records.every((r) => (signal === 'top1' ? r.top1 : r.margin) !== undefined);
}

export interface RoutingOptions {
  /** Default 'entropy'. */
  signal?: Signal;
  /** Quantiles of normalised complexity for easy|medium|hard (default the paper's 0.25, 0.75) … */
  quantiles?: [number, number];
  /** … or fixed thresholds on it (complexity / the largest complexity) … */
  thresholds?: [number, number];
  /** … or at most this many questions to the teacher: the N most complex are hard (easy|medium then
   *  cut at the first quantile). Replaces the second quantile or threshold. */
  teacherBudget?: number;
}

/** The routing of a run's training questions by one signal. */
export interface Routing {
  signal: Signal;
  /** The largest complexity among valid training answers (the normaliser; 0 when all are 0 or none is valid). */
  cmax: number;
  /** Cut points on normalised complexity c / cmax: easy ≤ bounds[0] < medium ≤ bounds[1] < hard. */
  bounds: [number, number];
  /** Every training question's bucket (one that named no option is hard, unless a budget is full). */
  buckets: Map<string, Bucket>;
  /** Training question ids from most to least complex: answers that named no option first (in input
   *  order), then by complexity (ties in input order). A frontier point at fraction f takes the first
   *  round(f · n). */
  ranked: string[];
}

/** Normalised complexity: c / cmax (0 when cmax is 0). */
function normalised(r: ScoreRecord, signal: Signal, cmax: number): number {
  return cmax > 0 ? complexity(r, signal) / cmax : 0;
}

/** Rank, normalise and split the training questions' scores by one signal. */
export function routeBySignal(train: readonly ScoreRecord[], o: RoutingOptions = {}): Routing {
  const signal = o.signal ?? DEFAULT_SIGNAL;
  const budget = o.teacherBudget;
  if (budget !== undefined && !(Number.isInteger(budget) && budget >= 0)) throw new EntrotuneError(`the teacher budget must be a whole number of questions ≥ 0, got ${budget}`);
  const valid = train.filter((r) => r.correct !== null);
  const c = new Map(valid.map((r) => [r.id, complexity(r, signal)]));
  const cmax = valid.reduce((m, r) => Math.max(m, c.get(r.id)!), 0);
  const byComplexity = valid.map((r, i) => ({ id: r.id, c: c.get(r.id)!, i })).sort((a, b) => b.c - a.c || a.i - b.i);
  const ranked = [...train.filter((r) => r.correct === null).map((r) => r.id), ...byComplexity.map((x) => x.id)];
  const buckets = new Map<string, Bucket>();
  if (!valid.length) {
    // Nothing to split: every question is hard (the first N with a budget, the rest medium).
    ranked.forEach((id, k) => buckets.set(id, budget === undefined || k < budget ? 'hard' : 'medium'));
    return { signal, cmax: 0, bounds: [0, 0], buckets, ranked };
  }
  const items = valid.map((r) => ({ id: r.id, entropy: c.get(r.id)!, correct: r.correct }));
  if (budget === undefined) {
    const split = splitByEntropy(items, o.thresholds ? { thresholds: o.thresholds } : { quantiles: o.quantiles ?? [0.25, 0.75] });
    for (const r of train) buckets.set(r.id, r.correct === null ? 'hard' : bucketOf(normalised(r, signal, cmax), split.bounds));
    return { signal, cmax, bounds: split.bounds, buckets, ranked };
  }
  // A budget: exactly the first N of the ranking are hard. The held-out cut is the normalised
  // complexity of the most complex valid question left out (held-out questions above it are hard; with
  // every question in the budget, all above 0).
  const hard = new Set(ranked.slice(0, budget));
  const left = byComplexity.find((x) => !hard.has(x.id));
  const high = left && cmax > 0 ? left.c / cmax : 0;
  const low = o.thresholds ? o.thresholds[0] : quantileSorted(Float64Array.from(valid, (r) => normalised(r, signal, cmax)).sort(), (o.quantiles ?? [0.25, 0.75])[0]);
  const bounds: [number, number] = [Math.min(low, high), high];
  for (const r of train) buckets.set(r.id, hard.has(r.id) ? 'hard' : r.correct === null ? 'medium' : normalised(r, signal, cmax) <= bounds[0] ? 'easy' : 'medium');
  return { signal, cmax, bounds, buckets, ranked };
}

/** The bucket of a held-out question with the training questions' routing (no option named: hard). */
export function heldOutBucket(r: ScoreRecord, routing: Routing): Bucket {
  if (r.correct === null) return 'hard';
  return bucketOf(normalised(r, routing.signal, routing.cmax), routing.bounds);
}
