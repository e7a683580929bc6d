// entrotune score --model … --data … --out dir: scores.jsonl (resumable), easy/medium/hard.jsonl,
// report.json, and the summary table on stdout.

import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel } from '../model/load-model';
import { toJsonl } from '../data/dataset';
import { PROMPTS } from '../data/prompts';
import { scoreDataset, type ScoreRecord } from '../score/score';
import { fileStore } from '../score/store';
import { analyzeScores, BUCKETS, formatScoreReport } from '../score/report';
import { EntrotuneError } from '../errors';
import { describeLoadProgress, num, parse, progressLine, promptStyle, quant, readQuestions, cliDevice } from './args';
import { defaultCacheDir } from './generate';

export const SCORE_USAGE = `entrotune score --model <folder|URL|repo> --data <file.jsonl|.json|.csv> --out <dir>
  [--prompt letters|numbers] [--batch 8] [--quant nf4|int8|none] [--quantiles 0.25,0.75 | --thresholds a,b]
  [--on-invalid skip|stop] [--limit N]`;

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
    quantiles: { type: 'string' }, thresholds: { type: 'string' }, 'on-invalid': { type: 'string' }, limit: { type: 'string' },
    'cache-dir': { type: 'string' },
  }, SCORE_USAGE);
  if (!a.model || !a.data || !a.out) throw new EntrotuneError('--model, --data and --out are required', SCORE_USAGE);
  const style = promptStyle(a.prompt);
  const onInvalid = (a['on-invalid'] ?? 'skip') as 'skip' | 'stop';
  if (onInvalid !== 'skip' && onInvalid !== 'stop') throw new EntrotuneError(`--on-invalid must be skip or stop, got "${onInvalid}"`);

  const limit = a.limit ? num(a.limit, 'limit', 0, (n) => Number.isInteger(n) && n > 0) : undefined;
  const questions = await readQuestions(a.data, { limit, onInvalid });

  const { nodeDirCache } = await import('../model/node-files');
  const gpu = await cliDevice();
  const line = progressLine();
  const model = await loadModel(gpu, a.model, { quant: quant(a.quant), cache: nodeDirCache(a['cache-dir'] ?? defaultCacheDir()), onProgress: (p) => line(describeLoadProgress(p as never)) });
  line(`${model.name} on ${gpu.adapter.name} (${model.report.quant})`, true);
  // The output folder is made only once the model is loaded, so a failed load leaves no empty folder.
  await mkdir(a.out, { recursive: true });
  const store = await fileStore<ScoreRecord>(join(a.out, 'scores.jsonl'));
  const t0 = performance.now();
  let resumedNote = false;
  const records = await scoreDataset(model, questions, {
    prompt: PROMPTS[style],
    batchSize: num(a.batch, 'batch', 8, (n) => Number.isInteger(n) && n > 0),
    store,
    onProgress: (p) => {
      if (p.resumed && !resumedNote) {
        process.stderr.write(`resuming: ${p.resumed} of ${p.total} already scored in ${join(a.out!, 'scores.jsonl')}\n`);
        resumedNote = true;
      }
      line(`scoring ${p.done}/${p.total} (${p.questionsPerSecond.toFixed(2)} questions/s)`, p.done === p.total);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const report = analyzeScores(records, { quantiles: pair(a.quantiles, 'quantiles'), thresholds: pair(a.thresholds, 'thresholds') });
  const byId = new Map(questions.map((q) => [q.id, q]));
  for (const b of BUCKETS) await writeFile(join(a.out, `${b}.jsonl`), toJsonl(report.buckets[b].ids.map((id) => byId.get(id)!)));
  await writeFile(join(a.out, 'report.json'), JSON.stringify({
    model: model.name, adapter: gpu.adapter.name, quant: model.report.quant, prompt: style, data: a.data, seconds, ...report,
  }, null, 2) + '\n');
  console.log(formatScoreReport(report));
  console.log(`\nwrote ${join(a.out, 'scores.jsonl')}, easy/medium/hard.jsonl and report.json`);
  model.dispose();
  gpu.destroy();
}
