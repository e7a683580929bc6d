// From per-example scores to the numbers the method needs: how well each complexity signal predicts
// mistakes (ROC AUC of confidence 1 − c/cmax against correctness, with a bootstrap interval), the
// easy/medium/hard split by the chosen signal, accuracy per bucket and a histogram the UI can draw.

import { bootstrapAuc, entropyHistogram, accuracyInterval, type Bucket } from './analysis';
import type { ScoreRecord } from './score';
import { complexity, DEFAULT_SIGNAL, hasSignal, routeBySignal, SIGNAL_NAMES, SIGNALS, type RoutingOptions, type Signal } from './signals';

export type { Bucket };
export const BUCKETS: Bucket[] = ['easy', 'medium', 'hard'];

export type Auc = { auc: number; low: number; high: number };

export interface ScoreReport {
  total: number;
  valid: number;
  invalid: number;
  accuracy: { p: number; low: number; high: number };
  /** AUC of confidence = 1 − H/Hmax for "the answer is correct"; null when one class is empty. */
  auc: Auc | null;
  /** The same with the entropy restricted to the option labels. */
  aucOptions: Auc | null;
  /** Every signal's AUC (confidence = 1 − c/cmax); null when one class is empty or the scores predate
   *  the signal. (Absent in reports from before there was a choice.) */
  signals?: Record<Signal, Auc | null>;
  /** The signal that split the questions. (Absent in reports from before there was a choice: entropy.) */
  signal?: Signal;
  /** At most this many questions to the teacher: the most complex are hard (null: the quantiles or thresholds). */
  teacherBudget?: number | null;
  /** The largest complexity of the splitting signal among valid answers (nats for the entropies). */
  hmax: number;
  /** Normalised complexity bounds between easy|medium and medium|hard. */
  bounds: [number, number];
  /** Valid answers only (one that named no option is listed in invalidIds; the pipeline routes it as hard). */
  buckets: Record<Bucket, { count: number; correct: number; accuracy: number; ids: string[] }>;
  histogram: { edges: number[]; counts: number[] };
  invalidIds: string[];
  /** What makes these numbers mean less than they seem (no valid answer; an AUC on too few of a kind). */
  warnings: string[];
}

/** Fewer correct (or wrong) answers than this and the ROC AUC says little, whatever its interval. */
export const AUC_MIN_PER_CLASS = 10;

export interface SplitOptions extends RoutingOptions {
  bootstrapSamples?: number;
  seed?: number;
}

/** Each signal's ROC AUC with its bootstrap interval for "the base answered correctly", over the valid
 *  answers: confidence 1 − c/cmax. Null when one class is empty or some record lacks the signal. */
export function signalAucs(records: readonly ScoreRecord[], o: { bootstrapSamples?: number; seed?: number } = {}): Record<Signal, Auc | null> {
  const valid = records.filter((r) => r.correct !== null);
  const labels = valid.map((r) => r.correct === true);
  const both = labels.some((l) => l) && labels.some((l) => !l);
  const out = {} as Record<Signal, Auc | null>;
  for (const s of SIGNALS) {
    if (!both || !hasSignal(valid, s)) {
      out[s] = null;
      continue;
    }
    const c = valid.map((r) => complexity(r, s));
    const cmax = Math.max(...c) || 1;
    out[s] = bootstrapAuc(c.map((x) => 1 - x / cmax), labels, { samples: o.bootstrapSamples ?? 1000, seed: o.seed ?? 0 });
  }
  return out;
}

export function analyzeScores(records: ScoreRecord[], o: SplitOptions = {}): ScoreReport {
  const signal = o.signal ?? DEFAULT_SIGNAL;
  const valid = records.filter((r) => r.correct !== null);
  if (!valid.length) {
    // Nothing to split or rank: the report still says so, with every question counted.
    const empty = { count: 0, correct: 0, accuracy: NaN, ids: [] as string[] };
    return {
      total: records.length, valid: 0, invalid: records.length, accuracy: { p: 0, low: 0, high: 0 }, auc: null, aucOptions: null,
      signals: { entropy: null, 'entropy-options': null, top1: null, margin: null }, signal, teacherBudget: o.teacherBudget ?? null,
      hmax: 0, bounds: [0, 0], buckets: { easy: { ...empty }, medium: { ...empty }, hard: { ...empty } },
      histogram: entropyHistogram([], 20, [0, 1]), invalidIds: records.map((r) => r.id),
      warnings: [`none of the ${records.length} answers named an option: there is no split and no ROC AUC (check that the prompt asks for the option letter and that the model has a chat template)`],
    };
  }
  const routing = routeBySignal(records, o);
  const labels = valid.map((r) => r.correct === true);
  const aucs = signalAucs(records, o);
  const correct = labels.filter(Boolean).length;
  const wrong = labels.length - correct;
  const warnings: string[] = [];
  if (Math.min(correct, wrong) < AUC_MIN_PER_CLASS) {
    warnings.push(`the ROC AUC rests on ${correct} correct and ${wrong} wrong answers${records.length > valid.length ? ` (${records.length - valid.length} of ${records.length} named no option)` : ''}: too few to mean anything (it needs at least ${AUC_MIN_PER_CLASS} of each)`);
  }
  const missing = SIGNALS.filter((s) => !hasSignal(valid, s));
  if (missing.length) warnings.push(`these scores were made before ${missing.join(' and ')} ${missing.length > 1 ? 'were' : 'was'} kept: no AUC for ${missing.length > 1 ? 'them' : 'it'} (score again to see ${missing.length > 1 ? 'them' : 'it'})`);
  const buckets = {} as ScoreReport['buckets'];
  for (const b of BUCKETS) {
    const ids = valid.filter((r) => routing.buckets.get(r.id) === b);
    const right = ids.filter((r) => r.correct).length;
    buckets[b] = { count: ids.length, correct: right, accuracy: ids.length ? right / ids.length : NaN, ids: ids.map((r) => r.id) };
  }
  const cmax = routing.cmax;
  return {
    total: records.length,
    valid: valid.length,
    invalid: records.length - valid.length,
    accuracy: valid.length ? accuracyInterval(correct, valid.length) : { p: 0, low: 0, high: 0 },
    auc: aucs.entropy,
    aucOptions: aucs['entropy-options'],
    signals: aucs,
    signal,
    teacherBudget: o.teacherBudget ?? null,
    hmax: cmax,
    bounds: routing.bounds,
    buckets,
    histogram: entropyHistogram(valid.map((r) => (cmax > 0 ? complexity(r, signal) / cmax : 0)), 20), // over the data's range
    invalidIds: records.filter((r) => r.correct === null).map((r) => r.id),
    warnings,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The summary table the CLI prints (Markdown, so it pastes into a report). */
export function formatScoreReport(r: ScoreReport): string {
  const auc = (a: Auc | null) => (a ? `${a.auc.toFixed(3)} [${a.low.toFixed(3)}, ${a.high.toFixed(3)}]` : 'n/a');
  const signal = r.signal ?? DEFAULT_SIGNAL;
  const lines = [
    ...r.warnings.map((w) => `WARNING: ${w}`),
    `questions ${r.total}: ${r.valid} valid, ${r.invalid} invalid answers (excluded)`,
    `accuracy ${pct(r.accuracy.p)} [${pct(r.accuracy.low)}, ${pct(r.accuracy.high)}]`,
    '',
    'ROC AUC of confidence (1 − complexity / its largest) for a correct answer, by complexity signal (0.5 is chance):',
    '',
    '| signal | ROC AUC [95% CI] |',
    '| --- | --- |',
    ...SIGNALS.map((s) => `| ${SIGNAL_NAMES[s]}${s === signal ? ' (splits)' : ''} | ${auc(r.signals ? r.signals[s] : s === 'entropy' ? r.auc : s === 'entropy-options' ? r.aucOptions : null)} |`),
    '',
    `split by ${SIGNAL_NAMES[signal]}: largest ${r.hmax.toFixed(3)}; bounds on complexity / largest: easy ≤ ${r.bounds[0].toFixed(3)} < medium ≤ ${r.bounds[1].toFixed(3)} < hard${r.teacherBudget != null ? ` (hard: the ${r.teacherBudget} most complex questions, the teacher budget; answers that named no option count first)` : ''}`,
    '',
    '| bucket | questions | accuracy |',
    '| --- | --- | --- |',
    ...BUCKETS.map((b) => `| ${b} | ${r.buckets[b].count} | ${r.buckets[b].count ? pct(r.buckets[b].accuracy) : '–'} |`),
  ];
  return lines.join('\n');
}
