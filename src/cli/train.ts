// entrotune train --model … --data train.jsonl --out dir: LoRA training with checkpoints every N
// steps in `dir` (resumed automatically when dir holds one) and the PEFT adapter at the end.

import { basename } from 'node:path';
import { loadModel } from '../model/load-model';
import { looksLikeChatJsonl, parseChatJsonl } from '../data/chat-dataset';
import { parseDataset } from '../data/formats';
import { label, promptMessages, PROMPTS } from '../data/prompts';
import { DatasetError, EntrotuneError } from '../errors';
import { formatBytes } from '../gpu/memory';
import type { ChatMessage } from '../tokenizer/tokenizer';
import { nodeDirSink } from '../train/checkpoint';
import { chatExample, trainLoop, type TrainExample } from '../train/loop';
import { Trainer } from '../train/trainer';
import { cliDevice, describeLoadProgress, num, parse, progressLine, quant, readDataFile } from './args';
import { defaultCacheDir } from './generate';

export const TRAIN_USAGE = `entrotune train --model <folder|URL|repo> --data <train.jsonl> --out <dir>
  [--quant nf4|int8|none] [--r 8] [--alpha 16] [--dropout 0] [--full] [--lr 2e-4] [--epochs 1] [--batch 4] [--accum 1] [--pack TOKENS]
  [--max-steps N] [--warmup 0] [--schedule cosine|constant] [--checkpoint-every 50] [--include-prompt] [--seed 0]
  data: JSON lines with {"messages": [...]} (chat), or multiple-choice questions (trained on the gold letter)`;

export async function trainCommand(argv: string[]): Promise<void> {
  const a = parse(argv, {
    model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, quant: { type: 'string' },
    r: { type: 'string' }, alpha: { type: 'string' }, dropout: { type: 'string' }, full: { type: 'boolean' }, lr: { type: 'string' }, epochs: { type: 'string' }, batch: { type: 'string' },
    accum: { type: 'string' }, pack: { type: 'string' }, 'max-steps': { type: 'string' }, warmup: { type: 'string' }, schedule: { type: 'string' },
    'checkpoint-every': { type: 'string' }, 'include-prompt': { type: 'boolean' }, seed: { type: 'string' }, 'cache-dir': { type: 'string' },
  }, TRAIN_USAGE);
  if (!a.model || !a.data || !a.out) throw new EntrotuneError('--model, --data and --out are required', TRAIN_USAGE);
  const schedule = (a.schedule ?? 'cosine') as 'cosine' | 'constant';
  if (schedule !== 'cosine' && schedule !== 'constant') throw new EntrotuneError(`--schedule must be cosine or constant, got "${a.schedule}"`);
  const int = (n: number) => Number.isInteger(n) && n > 0;

  // The data is read and checked before the model loads: a bad line costs no download.
  const file = basename(a.data);
  const text = await readDataFile(a.data);
  const includePrompt = !!a['include-prompt'];
  let conversations: { line: number; messages: ChatMessage[] }[];
  if (looksLikeChatJsonl(text)) {
    conversations = parseChatJsonl(text, file); // used as they are
  } else {
    // Multiple-choice rows become prompt + gold letter.
    const parsed = parseDataset(text, file);
    for (const bad of parsed.invalid) process.stderr.write(`skipped ${file} line ${bad.line}: ${bad.reason}\n`);
    if (!parsed.questions.length) throw new DatasetError(file, null, 'has no valid questions or conversations', 'see the skipped lines above');
    conversations = parsed.questions.map((q) => ({ line: 0, messages: [...promptMessages(q, PROMPTS.letters), { role: 'assistant', content: label('letters', q.answer) }] }));
  }

  const { nodeDirCache } = await import('../model/node-files');
  const gpu = await cliDevice();
  const line = progressLine();
  const model = await loadModel(gpu, a.model, { quant: quant(a.quant), cache: nodeDirCache(a['cache-dir'] ?? defaultCacheDir()), onProgress: (p) => line(describeLoadProgress(p as never)) });
  line(`${model.name} on ${gpu.adapter.name} (${model.report.quant})`, true);
  const tok = model.tokenizer;
  if (!tok) throw new EntrotuneError(`${model.name} has no tokenizer.json`, 'training needs the tokenizer and chat template');

  const examples: TrainExample[] = conversations.map(({ line: lineNo, messages }) => {
    try {
      return chatExample(tok, messages, includePrompt);
    } catch (err) {
      // The chat template could not format this conversation: say which one.
      if (lineNo > 0 && err instanceof EntrotuneError && !(err instanceof DatasetError)) throw new DatasetError(file, lineNo, err.message.split('\nHINT: ')[0], err.hint || undefined);
      throw err;
    }
  });
  const trainer = await Trainer.create(model, {
    r: num(a.r, 'r', 8, int), alpha: num(a.alpha, 'alpha', 16), dropout: num(a.dropout, 'dropout', 0, (n) => n >= 0 && n < 1),
    mode: a.full ? 'full' : 'lora', lr: num(a.lr, 'lr', 2e-4, (n) => n > 0),
    warmupSteps: num(a.warmup, 'warmup', 0, (n) => Number.isInteger(n) && n >= 0), schedule, seed: num(a.seed, 'seed', 0, Number.isInteger),
  });
  const sink = await nodeDirSink(a.out);
  const losses = await trainLoop(trainer, examples, {
    epochs: num(a.epochs, 'epochs', 1, int), batchSize: num(a.batch, 'batch', 4, int), accumulation: num(a.accum, 'accum', 1, int),
    pack: a.pack ? num(a.pack, 'pack', 0, int) : undefined,
    maxSteps: a['max-steps'] ? num(a['max-steps'], 'max-steps', 0, int) : undefined,
    checkpointEvery: num(a['checkpoint-every'], 'checkpoint-every', 50, int),
    sink, resume: true, baseModel: a.model,
    onLog: (t) => process.stderr.write(`${t}\n`),
    onProgress: (p) => line(`step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} |g| ${p.gradNorm.toFixed(3)} tokens/s: ${p.processedTokensPerSecond.toFixed(0)} processed (prompt + target), ${p.tokensPerSecond.toFixed(0)} trained (target) | GPU ${formatBytes(p.gpuBytes)} ETA ${p.eta.toFixed(0)} s`, p.step === p.totalSteps),
  });
  const what = a.full ? 'weights in model.safetensors' : 'adapter_model.safetensors + adapter_config.json';
  console.log(`trained ${losses.length} steps: loss ${losses[0]?.toFixed(4)} → ${losses.at(-1)?.toFixed(4)}; ${what} in ${a.out}`);
  trainer.dispose();
  model.dispose();
  gpu.destroy();
}
