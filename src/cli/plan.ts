// entrotune plan --config config.json: GPU bytes from config.json alone, before any download.

import { readFileSync } from 'node:fs';
import { fromHfConfig } from '../model/config';
import { CorruptFileError, EntrotuneError } from '../errors';
import { planInference, type DeviceLimitsLike, DEFAULT_LIMITS } from '../model/plan';
import { formatBytes } from '../gpu/memory';
import { num, parse, quant } from './args';
import type { Quant } from '../model/quant';

export const PLAN_USAGE = `entrotune plan --config <config.json> [more config.json …] [--quant nf4] [--batch 1] [--seq 1024] [--cache 0]`;

export function inferencePlanTable(configs: { name: string; json: unknown }[], q: Quant, batch: number, seq: number, cache: number, limits: DeviceLimitsLike = DEFAULT_LIMITS): string {
  const rows = [`| model | parameters | B/param | base weights | activations ${batch}×${seq} | ${cache ? `KV cache ${cache}` : 'KV cache'} | total |`, '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const { name, json } of configs) {
    const cfg = fromHfConfig(json, name);
    const p = planInference(cfg, { quant: q, batch, seqLen: seq, cacheLength: cache, limits });
    const get = (prefix: string) => p.arenas.filter((x) => x.name.startsWith(prefix)).reduce((s, x) => s + x.bytes, 0);
    rows.push(`| ${name} | ${(p.parameters / 1e6).toFixed(0)}M | ${p.bytesPerParameter.toFixed(3)} | ${formatBytes(get('base'))} | ${formatBytes(get('activations'))} | ${formatBytes(get('KV'))} | ${formatBytes(p.total)} |`);
  }
  return rows.join('\n');
}

/** A config.json given on the command line, or a typed error naming it. */
function readConfig(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new EntrotuneError(`${file}: cannot be read (${(err as Error).message})`, `check the path (relative paths start from ${process.cwd()})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CorruptFileError(file, `not valid JSON (${(err as Error).message})`, 'give the config.json published with the model');
  }
}

export async function planCommand(argv: string[]): Promise<void> {
  const files: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--config') { while (argv[i + 1] && !argv[i + 1].startsWith('--')) files.push(argv[++i]); }
    else rest.push(argv[i]);
  }
  const a = parse(rest, { quant: { type: 'string' }, batch: { type: 'string' }, seq: { type: 'string' }, cache: { type: 'string' } }, PLAN_USAGE);
  if (!files.length) throw new EntrotuneError('--config is required', PLAN_USAGE);
  const configs = files.map((f) => ({ name: f.split('/').pop()!.replace(/\.json$/, ''), json: readConfig(f) }));
  console.log(inferencePlanTable(configs, quant(a.quant) ?? 'nf4', num(a.batch, 'batch', 1), num(a.seq, 'seq', 1024), num(a.cache, 'cache', 0)));
}
