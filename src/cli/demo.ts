// entrotune demo: the paper's experiment in miniature, offline. A synthetic arithmetic world, the
// committed demo base model (trained from scratch by entrotune, demo/model), and a programmatic
// teacher that solves sums column by column: score → split → teacher → train the pipeline,
// sft-all and distill-all from the same base → evaluate on held-out questions → the table, with the
// issue's targets checked honestly (met or not).
// The training and held-out questions are written to the output folder as JSONL in the schema users
// bring (train.jsonl, test.jsonl), so the same run can be repeated with `entrotune pipeline`.

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EntrotuneError } from '../errors';
import { createDevice } from '../gpu/device';
import { loadModel } from '../index';
import { runPipeline } from '../pipeline/pipeline';
import { formatPipelineReport, type PipelineReport } from '../pipeline/report';
import { nodeRunStorage } from '../pipeline/storage';
import { DEMO_PROMPT } from '../demo/formats';
import { ArithmeticTeacher } from '../demo/teacher';
import { makeSplits, worldToJsonl } from '../demo/world';
import { DEMO_MODEL_DIR, DEMO_MODEL_NAME, DEMO_SETTINGS, type DemoSize } from '../demo/settings';
import { num, parse, progressLine } from './args';
import { pipelineProgress } from './pipeline';

export const DEMO_USAGE = `entrotune demo [--quick] [--out runs/demo-<size>-seed<seed>] [--seed 0] [--model ${DEMO_MODEL_DIR}] [--train N] [--test N]`;

/** The repository root (dist-node/cli.js or src/cli/demo.ts → two levels up). */
function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of [join(here, '..'), join(here, '../..')]) if (existsSync(join(up, DEMO_MODEL_DIR, 'config.json'))) return up;
  return process.cwd();
}

/** The targets, each with whether this run met it. */
export function demoTargets(r: PipelineReport): { what: string; value: string; met: boolean }[] {
  const m = new Map(r.methods.map((x) => [x.method, x]));
  const p = m.get('pipeline')!, s = m.get('sft-all')!, d = m.get('distill-all')!;
  const pts = (x: number) => `${(100 * x).toFixed(1)} points`;
  return [
    { what: 'entropy ROC AUC ≥ 0.7 (train)', value: r.scoring.auc ? r.scoring.auc.auc.toFixed(3) : 'n/a', met: (r.scoring.auc?.auc ?? 0) >= 0.7 },
    { what: 'pipeline ≥ sft-all + 10 points', value: pts(p.accuracy.p - s.accuracy.p), met: p.accuracy.p - s.accuracy.p >= 0.1 },
    { what: 'pipeline ≥ distill-all − 2 points', value: pts(p.accuracy.p - d.accuracy.p), met: p.accuracy.p - d.accuracy.p >= -0.02 },
    { what: '≥ 50% fewer target tokens than distill-all', value: `${(100 * (r.tokenSaving ?? 0)).toFixed(1)}%`, met: (r.tokenSaving ?? 0) >= 0.5 },
  ];
}

export async function demoCommand(argv: string[]): Promise<void> {
  const a = parse(argv, { quick: { type: 'boolean' }, out: { type: 'string' }, seed: { type: 'string' }, model: { type: 'string' }, train: { type: 'string' }, test: { type: 'string' } }, DEMO_USAGE);
  const size: DemoSize = a.quick ? 'quick' : 'full';
  const count = (v: string | undefined, what: string, d: number) => num(v, what, d, (n) => Number.isInteger(n) && n >= 4);
  // --train/--test resize the question sets (the settings stay those of the size).
  const cfg = { ...DEMO_SETTINGS[size], train: count(a.train, 'train', DEMO_SETTINGS[size].train), test: count(a.test, 'test', DEMO_SETTINGS[size].test) };
  const seed = num(a.seed, 'seed', 0, Number.isInteger);
  const root = repoRoot();
  const modelDir = a.model ?? join(root, DEMO_MODEL_DIR);
  if (!existsSync(join(modelDir, 'config.json'))) throw new EntrotuneError(`no demo model in ${modelDir}`, `run from the repository (${DEMO_MODEL_DIR} is committed), or pass --model <folder>`);
  const out = a.out ?? join('runs', `demo-${size}-seed${seed}`);
  const t0 = performance.now();
  const { train, test } = makeSplits({ seed, train: cfg.train, test: cfg.test, mix: cfg.mix });
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'train.jsonl'), worldToJsonl(train));
  await writeFile(join(out, 'test.jsonl'), worldToJsonl(test));
  process.stderr.write(`offline demo (${size}): ${train.length} training and ${test.length} held-out arithmetic questions, seed ${seed}; results in ${out}\n`);
  const gpu = await createDevice();
  const model = await loadModel(gpu, { kind: 'dir', path: modelDir }, { quant: 'none' });
  process.stderr.write(`demo model: ${model.report.parameters.toLocaleString('en')} parameters, on ${gpu.adapter.name}\n`);
  const line = progressLine();
  const report = await runPipeline(model, {
    train, test, teacher: new ArithmeticTeacher(), storage: await nodeRunStorage(out), prompt: DEMO_PROMPT,
    trainConfig: cfg.trainConfig, loop: cfg.loop, eval: cfg.eval, modelName: DEMO_MODEL_NAME, seed,
    onEvent: pipelineProgress(line),
  });
  console.log(formatPipelineReport(report));
  console.log('targets (issue #8):');
  for (const t of demoTargets(report)) console.log(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.what}: ${t.value}`);
  console.log(`\nadapters: ${out}/pipeline, ${out}/sft-all, ${out}/distill-all (PEFT); report: ${out}/report.md; took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  model.dispose();
  gpu.destroy();
}
