// entrotune train --model … --data train.jsonl --out dir: LoRA training with checkpoints every N
// steps in `dir` (resumed automatically when dir holds one) and the PEFT adapter at the end. The
// engine trains (src/cli/engine.ts); reading and checking the data file is this command's.

import { basename } from 'node:path';
import { looksLikeChatJsonl, parseChatJsonl } from '../data/chat-dataset';
import { parseDataset } from '../data/formats';
import { label, promptMessages, PROMPTS } from '../data/prompts';
import { DatasetError, EntrotuneError } from '../errors';
import { quantName } from '../model/quant';
import { formatBytes } from '../gpu/memory';
import { RUN_DEFAULTS as D } from '../settings/defaults';
import type { ChatMessage } from '../tokenizer/tokenizer';
import { describeLoadProgress, num, parse, progressLine, quant, readDataFile } from './args';
import { cliEngine } from './engine';

export const TRAIN_USAGE = `entrotune train --model <folder|URL|repo> --data <train.jsonl> --out <dir>
  [--quant nf4|int8|none] [--r ${D.train.r}] [--alpha ${D.train.alpha}] [--dropout ${D.train.dropout}] [--full] [--lr ${D.train.lr}] [--epochs ${D.loop.epochs}] [--batch ${D.loop.batchSize}] [--accum ${D.loop.accumulation}] [--pack TOKENS]
  [--max-steps N] [--warmup ${D.train.warmupSteps}] [--schedule ${D.train.schedule === 'cosine' ? 'cosine|constant' : 'constant|cosine'}] [--checkpoint-every ${D.loop.checkpointEvery}] [--include-prompt] [--seed ${D.seed}]
  data: JSON lines with {"messages": [...]} (chat), or multiple-choice questions (trained on the gold letter)`;

export async function trainCommand(argv: string[]): Promise<void> {
  const a = parse(argv, {
    model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, quant: { type: 'string' },
    r: { type: 'string' }, alpha: { type: 'string' }, dropout: { type: 'string' }, full: { type: 'boolean' }, lr: { type: 'string' }, epochs: { type: 'string' }, batch: { type: 'string' },
    accum: { type: 'string' }, pack: { type: 'string' }, 'max-steps': { type: 'string' }, warmup: { type: 'string' }, schedule: { type: 'string' },
    'checkpoint-every': { type: 'string' }, 'include-prompt': { type: 'boolean' }, seed: { type: 'string' }, 'cache-dir': { type: 'string' },
  }, TRAIN_USAGE);
  if (!a.model || !a.data || !a.out) throw new EntrotuneError('--model, --data and --out are required', TRAIN_USAGE);
  const schedule = (a.schedule ?? D.train.schedule) as 'cosine' | 'constant';
  if (schedule !== 'cosine' && schedule !== 'constant') throw new EntrotuneError(`--schedule must be cosine or constant, got "${a.schedule}"`);
  const int = (n: number) => Number.isInteger(n) && n > 0;

  // The data is read and checked before the model loads: a bad line costs no download.
  const file = basename(a.data);
  const text = await readDataFile(a.data);
  const includePrompt = !!a['include-prompt'];
  let conversations: { line: number; messages: ChatMessage[] }[];
  const chat = looksLikeChatJsonl(text);
  if (chat) {
    conversations = parseChatJsonl(text, file); // used as they are
  } else {
    // Multiple-choice rows become prompt + gold letter.
    const parsed = parseDataset(text, file);
    for (const bad of parsed.invalid) process.stderr.write(`skipped ${file} line ${bad.line}: ${bad.reason}\n`);
    if (!parsed.questions.length) throw new DatasetError(file, null, 'has no valid questions or conversations', 'see the skipped lines above');
    conversations = parsed.questions.map((q) => ({ line: 0, messages: [...promptMessages(q, PROMPTS.letters), { role: 'assistant', content: label('letters', q.answer) }] }));
  }

  const { engine, id, close } = await cliEngine({ out: a.out, cacheDir: a['cache-dir'] });
  try {
    const line = progressLine();
    const info = await engine.loadModel(a.model, { quant: quant(a.quant) }, (p) => line(describeLoadProgress(p)));
    line(`${info.name} on ${(await engine.device()).adapter} (weights in ${quantName(info.report.quant)})`, true);
    const { losses } = await engine.train(conversations.map((c) => c.messages), {
      r: num(a.r, 'r', D.train.r, int), alpha: num(a.alpha, 'alpha', D.train.alpha), dropout: num(a.dropout, 'dropout', D.train.dropout, (n) => n >= 0 && n < 1),
      mode: a.full ? 'full' : 'lora', lr: num(a.lr, 'lr', D.train.lr, (n) => n > 0),
      warmupSteps: num(a.warmup, 'warmup', D.train.warmupSteps, (n) => Number.isInteger(n) && n >= 0), schedule, seed: num(a.seed, 'seed', D.seed, Number.isInteger),
    }, {
      epochs: num(a.epochs, 'epochs', D.loop.epochs, int), batchSize: num(a.batch, 'batch', D.loop.batchSize, int), accumulation: num(a.accum, 'accum', D.loop.accumulation, int),
      pack: a.pack ? num(a.pack, 'pack', 0, int) : undefined,
      maxSteps: a['max-steps'] ? num(a['max-steps'], 'max-steps', 0, int) : undefined,
      checkpointEvery: num(a['checkpoint-every'], 'checkpoint-every', D.loop.checkpointEvery, int),
      runId: id, resume: true, includePrompt,
      // A conversation the chat template cannot format is named by its line of the file.
      source: chat ? { file, lines: conversations.map((c) => c.line) } : undefined,
    },
    (p) => line(`step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} |g| ${p.gradNorm.toFixed(3)} tokens/s: ${p.processedTokensPerSecond.toFixed(0)} processed (prompt + target), ${p.tokensPerSecond.toFixed(0)} trained (target) | GPU ${formatBytes(p.gpuBytes)} ETA ${p.eta.toFixed(0)} s`, p.step === p.totalSteps),
    (t) => process.stderr.write(`${t}\n`));
    const what = a.full ? 'weights in model.safetensors' : 'adapter_model.safetensors + adapter_config.json';
    console.log(`trained ${losses.length} steps: loss ${losses[0]?.toFixed(4)} → ${losses.at(-1)?.toFixed(4)}; ${what} in ${a.out}`);
  } finally {
    await close();
  }
}
