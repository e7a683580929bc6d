// The engine the CLI's commands drive: the page's LocalEngine (src/engine/local-engine.ts) in this
// process, with the model cache in a folder, the device --kernels chose, and the command's --out as
// the run's folder: what the page keeps in OPFS runs/<id>/, a command keeps in --out (run.json, the
// questions, scores.jsonl, teacher.jsonl, each method's folder, the report), so running the same
// command again resumes. What is Node's alone stays here: reading the flags and the dataset files,
// progress lines on stderr.

import { basename, dirname, resolve } from 'node:path';
import type { RunEvent, RunModelSource } from '../engine/protocol';
import { LocalEngine } from '../engine/local-engine';
import type { Gpu } from '../gpu/device';
import { formatBytes } from '../gpu/memory';
import { parseModelSource } from '../model/sources';
import { nodeFolder } from '../storage/node';
import { runStorage, type RunFolders, type RunStorage } from '../storage/runs';
import { nodeDirSink } from '../train/checkpoint';
import { estimate, seconds } from '../util/format';
import { cliDevice } from './args';
import { defaultCacheDir } from './generate';

export interface CliEngine {
  engine: LocalEngine;
  /** The run's id: --out's folder name, as a run id ("my results" → "my-results"). */
  id: string;
  /** --out as the engine's run storage, for the files a command writes beside the engine's. */
  run: RunStorage;
  /** Unload the model and give the device back (the process could not end while it is held). */
  close(): Promise<void>;
}

/** The engine with `out` as its one run (nothing is written before the engine writes). */
export async function cliEngine(o: { out: string; cacheDir?: string }): Promise<CliEngine> {
  const { nodeDirCache } = await import('../model/node-files');
  const cache = nodeDirCache(o.cacheDir ?? defaultCacheDir());
  const dir = resolve(o.out);
  const id = basename(dir).replace(/[^\w.-]+/g, '-').replace(/^[.-]+/, '').slice(0, 80) || 'run';
  const run = runStorage(nodeFolder(dir));
  const runs: RunFolders = { open: () => run, list: async () => [id], remove: () => nodeFolder(dirname(dir)).remove(basename(dir)) };
  let gpu: Promise<Gpu> | null = null;
  // train()'s checkpoints and adapter go straight into --out, as `entrotune train` always wrote them.
  const engine = new LocalEngine(async () => cache, async () => nodeDirSink(dir), runs, () => (gpu ??= cliDevice()));
  return {
    engine, id, run,
    async close() {
      await engine.unloadModel();
      if (gpu) (await gpu).destroy();
    },
  };
}

/** How run.json records a model the CLI opened from text: a Hub repository, a URL, or a folder. */
export function recordedSource(text: string): RunModelSource {
  const s = parseModelSource(text);
  return s.kind === 'hub' || s.kind === 'url' ? s : { kind: 'files', folder: s.kind === 'dir' ? s.path : text };
}

/**
 * Progress lines on stderr for the engine's events (pipeline, score and demo commands). `scores`
 * names the scores file in the "resuming" line; `whole` what the last ETA covers ("run": this
 * pipeline; the demo's covers every seed).
 */
export function runProgress(line: (text: string, final?: boolean) => void, o: { scores?: string; whole?: string } = {}): (e: RunEvent) => void {
  const whole = o.whole ?? 'run';
  // The pipeline goes over the scores once more after the engine has scored (all of them stored by
  // then): only the first pass is shown.
  let scored = false;
  let first: { done: number; t: number } | null = null;
  return (e) => {
    if (e.phase === 'score' && !scored) {
      if (!first) {
        first = { done: e.done, t: performance.now() };
        if (e.done > 0) process.stderr.write(`resuming: ${e.done} of ${e.total} already scored${o.scores ? ` in ${o.scores}` : ''}\n`);
      }
      const rate = (e.done - first.done) / Math.max(1e-3, (performance.now() - first.t) / 1000);
      line(`scoring ${e.done}/${e.total}${e.done > first.done ? ` (${rate.toFixed(2)} questions/s)` : ''}`, e.done === e.total);
      if (e.done === e.total) first = null; // the demo scores once per seed
    } else if (e.phase === 'scored') scored = true;
    else if (e.phase === 'status') line(e.text, true);
    else if (e.phase === 'teacher-load') line(`${e.text} ${(100 * e.progress).toFixed(0)}%`, e.progress >= 1);
    else if (e.phase === 'split') line(`split: easy ${e.report.buckets.easy.count}, medium ${e.report.buckets.medium.count}, hard ${e.report.buckets.hard.count}; ROC AUC ${e.report.auc?.auc.toFixed(3) ?? 'n/a'}`, true);
    else if (e.phase === 'teacher') line(`teacher ${e.done}/${e.total}: ${e.calls} calls, ${e.cached} from the cache; kept ${e.kept}, retried ${e.retried}, fallback ${e.fallback}`, e.done === e.total);
    else if (e.phase === 'train') line(`${e.method}: step ${e.step}/${e.totalSteps} loss ${e.loss.toFixed(4)} | tokens/s: ${e.processedTokensPerSecond.toFixed(0)} processed (prompt + target), ${e.tokensPerSecond.toFixed(0)} trained (target) | GPU ${formatBytes(e.gpuBytes)} | ETA ${e.method} training ${seconds(e.eta)}, whole ${whole} ${estimate(e.etaRun)}`, e.step === e.totalSteps);
    else if (e.phase === 'eval') line(`${e.method}: evaluating ${e.done}/${e.total} answered, ${e.tokens} tokens written (${e.correct} right so far)${e.etaRun ? ` | ETA whole ${whole} ${estimate(e.etaRun)}` : ''}`, e.done === e.total);
    else if (e.phase === 'method-done') line(`${e.result.method}: ${(100 * e.result.accuracy.p).toFixed(1)}% on held-out questions (train ${e.result.trainSeconds.toFixed(0)} s, eval ${e.result.evalSeconds.toFixed(0)} s)`, true);
    else if (e.phase === 'log') process.stderr.write(`${e.text}\n`);
  };
}
