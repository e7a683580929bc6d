// The pipeline's report: what the method bought on held-out questions, against its baselines, and
// what it cost in teacher output. JSON for programs, a Markdown table for people.

import { accuracyInterval } from '../score/analysis';
import { BUCKETS, type Auc, type Bucket } from '../score/report';
import { SIGNAL_NAMES, SIGNALS, type Signal } from '../score/signals';
import type { EvalRecord } from './eval';
import { frontierSvg, frontierTable, type FrontierPoint } from './frontier';
import type { Method } from './methods';
import type { TrainBudget } from './pipeline';

export interface Accuracy {
  n: number;
  correct: number;
  p: number;
  low: number;
  high: number;
}

export function accuracyOf(records: { correct: boolean }[]): Accuracy {
  const n = records.length;
  const correct = records.filter((r) => r.correct).length;
  const ci = n ? accuracyInterval(correct, n) : { p: NaN, low: NaN, high: NaN };
  return { n, correct, ...ci };
}

export interface MethodResult {
  method: Method;
  /** Training questions routed to each kind of target. */
  targets: { direct: number; cot: number; fallback: number };
  /** Tokens of every assistant target the student was trained on (one epoch). */
  targetTokens: number;
  /** Of those, the tokens of the teacher's kept chains of thought (absent in reports from before it was counted). */
  cotTargetTokens?: number;
  /** Teacher output this method needs: the CoT questions' calls and generated tokens. */
  teacher: { questions: number; calls: number; completionTokens: number; kept: number; retried: number; fallback: number };
  steps: number;
  loss: { first: number; last: number };
  /** Tokens the training steps processed (prompt + target, padding not counted) and trained (with a target).
   *  (Absent in reports from before it was counted.) */
  trainTokens?: { processed: number; trained: number };
  /** Passes over the method's training rows (more than 1 when a token budget cycles them). */
  epochs?: number;
  trainSeconds: number;
  accuracy: Accuracy;
  buckets: Record<Bucket, Accuracy>;
  /** Share of test answers that reasoned: text, then a well-formed final [[X]] (see answerOf). */
  reasoned: number;
  /** Share of test answers with brackets that are not that (absent in reports from before it was counted). */
  malformed?: number;
  /** Mean tokens generated per test answer. */
  answerTokens: number;
  evalSeconds: number;
  /** Where the trained weights are, relative to the run: a PEFT adapter, or (full fine-tuning) a model folder. */
  adapter: string;
  weights?: 'adapter' | 'model';
}

export interface PipelineReport {
  version: 1;
  model: string;
  teacher: string;
  created: string;
  settings: Record<string, unknown>;
  data: { train: number; test: number; invalid: number };
  /** The token budget every method trained with (null: epochs decided each method's steps). */
  budget?: TrainBudget | null;
  scoring: {
    /** ROC AUC of confidence (1 − H/Hmax) for a correct base answer, on the training questions. */
    auc: Auc | null;
    aucTest: Auc | null;
    /** The signal that split and ranked the training questions, and every signal's AUC on them (absent
     *  in reports from before there was a choice: entropy). */
    signal?: Signal;
    signals?: Record<Signal, Auc | null> | null;
    /** At most this many questions to the teacher in the pipeline's hard bucket (null: quantiles or thresholds). */
    teacherBudget?: number | null;
    /** The largest complexity of the signal among valid training answers (Hmax for entropy). */
    hmax: number;
    bounds: [number, number];
    train: Record<Bucket, number>;
    test: Record<Bucket, number>;
  };
  base: { accuracy: Accuracy; buckets: Record<Bucket, Accuracy> };
  methods: MethodResult[];
  /** 1 − pipeline target tokens / distill-all target tokens (null unless both ran). */
  tokenSaving: number | null;
  /** Teacher calls made in this run and replies reused from the cache. */
  teacherUsage: { calls: number; cached: number; completionTokens: number };
  /** The pipeline at each hard fraction the run trained (pipeline@f methods), by fraction; null without any. */
  frontier?: FrontierPoint[] | null;
  /** Seconds of every process that worked on the run (a resumed run counts each). */
  seconds: number;
}

export function bucketAccuracy(records: EvalRecord[] | { id: string; correct: boolean }[], bucketOf: Map<string, Bucket>): Record<Bucket, Accuracy> {
  const out = {} as Record<Bucket, Accuracy>;
  for (const b of BUCKETS) out[b] = accuracyOf((records as { id: string; correct: boolean }[]).filter((r) => (bucketOf.get(r.id) ?? 'hard') === b));
  return out;
}

/** "training budget: 50000 tokens per method …": what every method was given. */
export function budgetLine(b: TrainBudget): string {
  return `training budget: ${b.trainTokens} tokens per method (prompt + target) → ${b.steps} steps of ${b.rowsPerStep} packed rows of up to ${b.pack} tokens, the same for every method`;
}

const pct = (a: Accuracy) => (a.n ? `${(100 * a.p).toFixed(1)}%` : '–');
const ci = (a: Accuracy) => (a.n ? `${(100 * a.p).toFixed(1)}% [${(100 * a.low).toFixed(1)}, ${(100 * a.high).toFixed(1)}]` : '–');

/** The report in Markdown; `chart` (default true) embeds the frontier's chart as SVG (a terminal prints the table only). */
export function formatPipelineReport(r: PipelineReport, o: { chart?: boolean } = {}): string {
  const auc = (a: Auc | null) => (a ? `${a.auc.toFixed(3)} [${a.low.toFixed(3)}, ${a.high.toFixed(3)}]` : 'n/a');
  const signal = r.scoring.signal ?? 'entropy';
  const others = r.scoring.signals ? SIGNALS.filter((s) => s !== 'entropy').map((s) => `${SIGNAL_NAMES[s]} ${auc(r.scoring.signals![s])}`).join('; ') : null;
  const lines = [
    `# entrotune pipeline report`,
    '',
    `model ${r.model}; teacher ${r.teacher}; ${r.data.train} training and ${r.data.test} held-out questions${r.data.invalid ? ` (${r.data.invalid} invalid rows skipped)` : ''}`,
    `entropy ROC AUC (train) ${auc(r.scoring.auc)}; held-out ${auc(r.scoring.aucTest)}`,
    ...(others ? [`other signals' ROC AUC (train): ${others}`] : []),
    `split by ${SIGNAL_NAMES[signal]}${r.scoring.teacherBudget != null ? `, hard: the ${r.scoring.teacherBudget} most complex training questions (the teacher budget)` : ''}`,
    `buckets (train) easy ${r.scoring.train.easy}, medium ${r.scoring.train.medium}, hard ${r.scoring.train.hard}; held-out easy ${r.scoring.test.easy}, medium ${r.scoring.test.medium}, hard ${r.scoring.test.hard}`,
    '',
    ...(r.budget ? [budgetLine(r.budget), ''] : []),
    '| method | accuracy [95% CI] | easy | medium | hard | reasoned | malformed | CoT targets | target tokens | teacher calls | teacher tokens | steps | train tokens processed (trained) | epochs | loss | train s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    `| base (before training) | ${ci(r.base.accuracy)} | ${pct(r.base.buckets.easy)} | ${pct(r.base.buckets.medium)} | ${pct(r.base.buckets.hard)} | – | – | – | – | – | – | – | – | – | – | – |`,
    ...r.methods.map((m) =>
      `| ${m.method} | ${ci(m.accuracy)} | ${pct(m.buckets.easy)} | ${pct(m.buckets.medium)} | ${pct(m.buckets.hard)} | ${(100 * m.reasoned).toFixed(0)}% | ${m.malformed === undefined ? '–' : `${(100 * m.malformed).toFixed(0)}%`} | ${m.targets.cot}${m.targets.fallback ? ` (+${m.targets.fallback} fallback)` : ''} | ${m.targetTokens} | ${m.teacher.calls} | ${m.teacher.completionTokens} | ${m.steps} | ${m.trainTokens ? `${m.trainTokens.processed} (${m.trainTokens.trained})` : '–'} | ${m.epochs?.toFixed(1) ?? '–'} | ${m.loss.first.toFixed(3)} → ${m.loss.last.toFixed(3)} | ${m.trainSeconds.toFixed(0)} |`),
    '',
  ];
  if (r.frontier?.length) {
    lines.push('## The routing frontier', '', `The pipeline with the top fraction of training questions by ${SIGNAL_NAMES[signal]} sent to the teacher and the rest answered directly (0: sft-all's targets, 100%: distill-all's), every point from the same base with the same settings${r.budget ? ' and token budget' : ''}; accuracy on the held-out questions.`, '', frontierTable(r.frontier), '');
    if (o.chart ?? true) lines.push(frontierSvg(r.frontier), '');
  }
  if (r.tokenSaving !== null) lines.push(`target-token saving of the pipeline against distill-all: ${(100 * r.tokenSaving).toFixed(1)}%`);
  const byName = new Map(r.methods.map((m) => [m.method, m]));
  const p = byName.get('pipeline'), s = byName.get('sft-all'), d = byName.get('distill-all');
  if (p && s) lines.push(`pipeline − sft-all: ${(100 * (p.accuracy.p - s.accuracy.p)).toFixed(1)} points`);
  if (p && d) lines.push(`pipeline − distill-all: ${(100 * (p.accuracy.p - d.accuracy.p)).toFixed(1)} points`);
  lines.push(`teacher: ${r.teacherUsage.calls} calls this run, ${r.teacherUsage.cached} replies from the cache, ${r.teacherUsage.completionTokens} tokens generated in all`);
  lines.push(`took ${r.seconds.toFixed(0)} s`);
  return lines.join('\n') + '\n';
}
