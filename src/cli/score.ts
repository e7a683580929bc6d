// entrotune score --model … --data … --out dir: scores.jsonl (resumable), easy/medium/hard.jsonl,
// report.json, and the summary table on stdout. The engine scores (src/cli/engine.ts: --out is the
// run's folder); the bucket files and the report are this command's own.

import { basename, join } from 'node:path';
import { toJsonl } from '../data/dataset';
import { PROMPTS } from '../data/prompts';
import { EntrotuneError } from '../errors';
import { quantName } from '../model/quant';
import { analyzeScores, BUCKETS, formatScoreReport } from '../score/report';
import type { ScoreRecord } from '../score/score';
import { checkSignal, routeBySignal, SIGNALS } from '../score/signals';
import { defaultRunSettings, RUN_DEFAULTS as D } from '../settings/defaults';
import { describeLoadProgress, num, parse, progressLine, promptStyle, quant, readQuestions } from './args';
import { cliEngine, recordedSource, runProgress } from './engine';

export const SCORE_USAGE = `entrotune score --model <folder|URL|repo> --data <file.jsonl|.json|.csv> --out <dir>
  [--prompt letters|numbers] [--batch ${D.scoreBatch}] [--quant nf4|int8|none] [--signal ${SIGNALS.join('|')}]
  [--quantiles ${D.quantiles.join(',')} | --thresholds a,b] [--teacher-budget N] [--on-invalid skip|stop] [--limit N]`;

export function pair(v: string | undefined, name: string): [number, number] | undefined {
  if (v === undefined) return undefined;
  const p = v.split(',').map(Number);
  if (p.length !== 2 || !p.every((x) => Number.isFinite(x) && x >= 0 && x <= 1) || p[0] > p[1]) throw new EntrotuneError(`--${name} must be two numbers a,b with 0 ≤ a ≤ b ≤ 1, got "${v}"`);
  return [p[0], p[1]];
}

export async function scoreCommand(argv: string[]): Promise<void> {
  const a = parse(argv, {
    model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' },
    prompt: { type: 'string' }, batch: { type: 'string' }, quant: { type: 'string' },
    signal: { type: 'string' }, quantiles: { type: 'string' }, thresholds: { type: 'string' }, 'teacher-budget': { type: 'string' },
    'on-invalid': { type: 'string' }, limit: { type: 'string' },
    'cache-dir': { type: 'string' },
  }, SCORE_USAGE);
  if (!a.model || !a.data || !a.out) throw new EntrotuneError('--model, --data and --out are required', SCORE_USAGE);
  const style = promptStyle(a.prompt);
  const onInvalid = (a['on-invalid'] ?? 'skip') as 'skip' | 'stop';
  if (onInvalid !== 'skip' && onInvalid !== 'stop') throw new EntrotuneError(`--on-invalid must be skip or stop, got "${onInvalid}"`);
  const split = {
    signal: checkSignal(a.signal ?? D.signal), quantiles: pair(a.quantiles, 'quantiles'), thresholds: pair(a.thresholds, 'thresholds'),
    teacherBudget: a['teacher-budget'] === undefined ? undefined : num(a['teacher-budget'], 'teacher-budget', 0, (n) => Number.isInteger(n) && n >= 0),
  };
  const batch = num(a.batch, 'batch', D.scoreBatch, (n) => Number.isInteger(n) && n > 0);

  const limit = a.limit ? num(a.limit, 'limit', 0, (n) => Number.isInteger(n) && n > 0) : undefined;
  const { questions, invalid } = await readQuestions(a.data, { limit, onInvalid });

  // Nothing is written to --out before the model has loaded: a failed load leaves no empty folder.
  const { engine, id, run, close } = await cliEngine({ out: a.out, cacheDir: a['cache-dir'] });
  try {
    const line = progressLine();
    const q = quant(a.quant);
    const info = await engine.loadModel(a.model, { quant: q }, (p) => line(describeLoadProgress(p)));
    const adapter = (await engine.device()).adapter;
    line(`${info.name} on ${adapter} (weights in ${quantName(info.report.quant)})`, true);
    // Every question is a training question of the run: the cut points are theirs.
    const settings = defaultRunSettings(id, { name: a.model, source: recordedSource(a.model), quant: q }, basename(a.data));
    settings.data.invalid = invalid;
    const t0 = performance.now();
    await engine.score({ ...settings, prompt: PROMPTS[style], scoreBatch: batch, signal: split.signal, quantiles: split.quantiles ?? settings.quantiles, thresholds: split.thresholds, teacherBudget: split.teacherBudget }, { train: questions, test: [] }, runProgress(line, { scores: join(a.out, 'scores.jsonl') }));
    const seconds = (performance.now() - t0) / 1000;
    const scored = new Map((await (await run.records<ScoreRecord>('scores.jsonl')).load()).map((r) => [r.id, r]));
    const records = questions.map((q) => scored.get(q.id)!);
    const report = analyzeScores(records, split);
    // The files hold what the pipeline would route, a question whose answer named no option included
    // (the report's bucket statistics, accuracy per bucket, count valid answers only).
    const routing = routeBySignal(records, split);
    for (const b of BUCKETS) await run.write(`${b}.jsonl`, toJsonl(questions.filter((q) => routing.buckets.get(q.id) === b)));
    await run.write('report.json', JSON.stringify({
      model: info.name, adapter, quant: info.report.quant, prompt: style, data: a.data, seconds, ...report,
    }, null, 2) + '\n');
    console.log(formatScoreReport(report));
    console.log(`\nwrote ${join(a.out, 'scores.jsonl')}, easy/medium/hard.jsonl and report.json`);
  } finally {
    await close();
  }
}
