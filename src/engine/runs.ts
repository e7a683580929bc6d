// A pipeline run in its folder (OPFS `runs/<id>/` in the browser, --out in the CLI):
//   run.json          settings (never an API key) + status; written at every phase change
//   train.jsonl       the training questions, test.jsonl the held-out ones (canonical JSONL)
//   score.json        the score summary the page draws (histogram, bounds, AUC, buckets)
//   + everything the pipeline keeps: scores.jsonl, teacher.jsonl, <method>/ checkpoints and adapter,
//     <method>.train.jsonl, <method>.eval.jsonl, times.jsonl (the seconds every process spent),
//     report.json, report.md (a frontier point is a method: pipeline@0.1/, pipeline@0.1.train.jsonl, …)
// so a closed tab or a killed process loses nothing: the run is found again and resumed from what
// is stored. The folders themselves are storage's (src/storage/runs.ts).

import type { Question } from '../data/dataset';
import { parseDataset } from '../data/formats';
import { CorruptFileError, EntrotuneError } from '../errors';
import type { Method } from '../pipeline/targets';
import { readJson } from '../storage/json';
import type { RunStorage } from '../storage/runs';
import type { RunInfo, TeacherSettings } from './protocol';

const dec = new TextDecoder();

/** Files a run may hold (for downloads and the Results step). */
export function runFileNames(methods: Method[]): string[] {
  const out = ['report.json', 'report.md', 'train.jsonl', 'test.jsonl'];
  // (adapter_config.json is written after adapter_model.safetensors, and a full model's config.json after
  // its model.safetensors, so each stands for both; the big file is not read to find out.)
  for (const m of methods) out.push(`${m}.train.jsonl`, `${m}/adapter_config.json`, `${m}/config.json`);
  return out;
}

/** A file of the run by its path inside the run ("report.md", "pipeline/adapter_model.safetensors"). */
export async function readRunPath(st: RunStorage, path: string): Promise<Uint8Array | null> {
  const parts = path.split('/');
  if (parts.some((p) => !p || p === '.' || p === '..')) throw new EntrotuneError(`'${path}' is not a file of a run`);
  if (parts.length === 1) return st.read(path);
  return (await st.sink(parts.slice(0, -1).join('/'))).read(parts.at(-1)!);
}

/** run.json; null when the folder has none. One that is not JSON, or not a run.json this version reads, is a CorruptFileError. */
export async function readRunInfo(st: RunStorage): Promise<RunInfo | null> {
  const hint = 'delete the run (its scores, teacher replies and checkpoints go with it), or restore run.json';
  const info = await readJson<RunInfo>(st, 'run.json', hint);
  if (info && info.version !== 1) throw new CorruptFileError(`${st.where}/run.json`, `version ${String(info.version)}; this entrotune reads version 1`, hint);
  return info;
}

/** Write run.json (storage keeps the writes to one file in order: phase updates may race). */
export function writeRunInfo(st: RunStorage, info: RunInfo): Promise<void> {
  info.updated = new Date().toISOString();
  return st.write('run.json', JSON.stringify(info, null, 1) + '\n');
}

/** The run's questions, as stored when it was created. */
export async function readRunData(st: RunStorage, id: string): Promise<{ train: Question[]; test: Question[] }> {
  const read = async (name: string) => {
    const b = await st.read(name);
    if (!b) throw new EntrotuneError(`run ${id} has no ${name}`, 'start a new run from the data step');
    return parseDataset(dec.decode(b), name, { onInvalid: 'stop' }).questions;
  };
  return { train: await read('train.jsonl'), test: await read('test.jsonl') };
}

/** The teacher's settings as run.json keeps them: an API key is used for this run only, never stored. */
export function withoutKey(t: TeacherSettings): TeacherSettings {
  if (t.kind !== 'http') return t;
  const { apiKey, ...rest } = t;
  void apiKey;
  return rest;
}
