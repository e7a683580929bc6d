// entrotune generate --model <dir|url|repo> --prompt "…": the chat template applied, tokens printed
// as they come.

import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../model/load-model';
import { quantName } from '../model/quant';
import { describeLoadProgress, num, parse, progressLine, quant, cliDevice } from './args';

export const GENERATE_USAGE = `entrotune generate --model <folder|URL|hub repo[@revision]> --prompt "text"
  [--system "text"] [--no-chat] [--thinking] [--adapter <folder|URL|repo>] [--quant nf4|int8|none]
  [--max-tokens 128] [--temperature 0] [--top-p 1] [--seed 0] [--cache-dir ~/.cache/entrotune]`;

export function defaultCacheDir(): string {
  return process.env.ENTROTUNE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'entrotune', 'models');
}

export async function generateCommand(argv: string[]): Promise<void> {
  const a = parse(argv, {
    model: { type: 'string' },
    prompt: { type: 'string' },
    system: { type: 'string' },
    'no-chat': { type: 'boolean' },
    thinking: { type: 'boolean' },
    adapter: { type: 'string' },
    quant: { type: 'string' },
    'max-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-p': { type: 'string' },
    seed: { type: 'string' },
    'cache-dir': { type: 'string' },
  }, GENERATE_USAGE);
  if (!a.model || a.prompt === undefined) throw new Error(`--model and --prompt are required\n${GENERATE_USAGE}`);
  const { nodeDirCache } = await import('../model/node-files');
  const gpu = await cliDevice();
  const line = progressLine();
  const model = await loadModel(gpu, a.model, {
    quant: quant(a.quant),
    adapter: a.adapter,
    thinking: a.thinking === true,
    cache: nodeDirCache(a['cache-dir'] ?? defaultCacheDir()),
    onProgress: (p) => line(describeLoadProgress(p as never)),
  });
  const r = model.report;
  line(`${model.name}: ${r.parameters.toLocaleString('en')} parameters, weights in ${quantName(r.quant)}, ${r.bytesPerParameter.toFixed(3)} B/param on ${gpu.adapter.name}`, true);
  const messages = [...(a.system ? [{ role: 'system' as const, content: a.system }] : []), { role: 'user' as const, content: a.prompt }];
  const prompt = a['no-chat'] ? model.tokenizer?.encode(a.prompt) ?? [] : messages;
  let printed = '';
  const out = await model.generate(prompt, {
    maxNewTokens: num(a['max-tokens'], 'max-tokens', 128, (n) => Number.isInteger(n) && n > 0),
    temperature: num(a.temperature, 'temperature', 0, (n) => n >= 0),
    topP: num(a['top-p'], 'top-p', 1, (n) => n > 0 && n <= 1),
    seed: num(a.seed, 'seed', 0, Number.isInteger),
    onToken: (_, text) => {
      // Print only what was added; a multi-byte character may complete later.
      if (text.startsWith(printed)) process.stdout.write(text.slice(printed.length));
      printed = text;
    },
  });
  process.stdout.write('\n');
  const tps = (n: number, s: number) => (s > 0 ? (n / s).toFixed(1) : '∞');
  process.stderr.write(`[${out.stop}] prompt ${out.promptTokens} tokens (${tps(out.promptTokens, out.prefillSeconds)} tok/s), generated ${out.ids.length} (${tps(out.ids.length, out.decodeSeconds)} tok/s)\n`);
  model.dispose();
  gpu.destroy();
}
