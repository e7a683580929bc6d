// The demo base model's pretraining text, written by entrotune's own code so that the prompts are
// byte for byte what entrotune renders (src/demo/formats.ts through the model's chat template and the
// demo tokenizer). scripts/pretrain-demo-model.py runs this and trains on what it writes; nothing here
// trains anything.
//
//   node scripts/run.mjs scripts/demo-corpus.ts --out DIR --seed 1 --tokens 7500000 --mix '<json>'
//
// --mix (the recipe lives in the Python script):
//   { "formats": { "direct": 0.2, "chain": 0.6, "cued": 0.1, "demoWorked": 0.1 },
//     "levels":  { "direct": {"1":6,"2":2,"3":1,"4":1}, "chain": {...}, "cued": {...}, "demoWorked": {...} } }
// Formats (shares of examples, each example one conversation; the loss is on the assistant turn):
//   direct      the demo prompt + the gold letter
//   chain       a bare chain "3+1*7" + its worked chain "3+1=4 4*7=8 [[I]]"
//   cued        the "Work it out." system message + the demo prompt + the worked chain
//   demoWorked  the demo prompt + the worked chain, with no loss on the first answer token (so the base
//               answers with a letter under the demo prompt, but finishes a chain once one is started)
//
// Writes into DIR:
//   tokenizer.json, tokenizer_config.json   the demo tokenizer (src/demo/tokenizer.ts)
//   tokens.u8    every example's ids, one after another (the vocabulary has 102 ids)
//   loss.u8      1 where the token is a training target (HF labels: the loss of position t−1 predicts it)
//   starts.u32   where each example starts in tokens.u8, plus the end (little-endian)
//   corpus.json  counts per format and level, tokens, and the letter ids
//   probe.json   held-out-free probe questions by level: the demo prompt's ids, the cued prompt's ids,
//                the gold option; and the fidelity prompts (ids) whose PyTorch logits go beside the model

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { labelTokens } from '../src/data/prompts';
import { chainWorked, mcCuedPrompt, mcDirect, mcPrompt, mcWorked, mcWorkedCued } from '../src/demo/formats';
import { DEMO_VOCAB_SIZE, demoTokenizerFiles } from '../src/demo/tokenizer';
import { DIFFICULTIES, allChains, drawChain, makeQuestion, parseChain, type Difficulty } from '../src/demo/world';
import { loadTokenizer, type ChatMessage, type Tokenizer } from '../src/tokenizer/tokenizer';
import { rng, shuffle } from '../src/util/random';

const FORMATS = ['direct', 'chain', 'cued', 'demoWorked'] as const;
type Format = (typeof FORMATS)[number];

interface Mix {
  formats: Record<Format, number>;
  levels: Record<Format, Partial<Record<Difficulty, number>>>;
}

/** An index drawn with probability proportional to its weight. */
function pick(random: () => number, weights: number[]): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let x = random() * total;
  for (let i = 0; i < weights.length; i++) if ((x -= weights[i]) < 0) return i;
  return weights.length - 1;
}

/** The ids of a conversation and its loss flags (the assistant answer and its <|end|>). */
function example(tok: Tokenizer, messages: ChatMessage[], skipFirst: boolean): { ids: number[]; loss: number[] } {
  const { ids, assistantMask } = tok.encodeChat(messages);
  const loss = [...assistantMask];
  if (skipFirst) loss[loss.indexOf(1)] = 0;
  return { ids, loss };
}

function promptIds(tok: Tokenizer, messages: ChatMessage[]): number[] {
  return tok.encode(tok.applyChatTemplate(messages, { addGenerationPrompt: true }));
}

export async function main(argv: string[]): Promise<void> {
  const { values: a } = parseArgs({ args: argv, options: { out: { type: 'string' }, seed: { type: 'string', default: '1' }, tokens: { type: 'string' }, mix: { type: 'string' }, probe: { type: 'string', default: '300' } } });
  if (!a.out || !a.tokens || !a.mix) throw new Error('usage: demo-corpus.ts --out DIR --tokens N --mix JSON [--seed S] [--probe N]');
  const mix = JSON.parse(a.mix) as Mix;
  for (const f of FORMATS) if (!(mix.formats[f] >= 0) || !mix.levels[f]) throw new Error(`--mix lacks the format ${f}`);
  const seed = Number(a.seed), target = Number(a.tokens);
  const files = demoTokenizerFiles();
  const tok = loadTokenizer(files['tokenizer.json'], files['tokenizer_config.json']);
  if (tok.vocabSize > 256) throw new Error('the demo vocabulary no longer fits in a byte');

  // The corpus.
  const random = rng(seed);
  const tokens: number[] = [], loss: number[] = [], starts: number[] = [];
  const counts: Record<string, number> = {};
  const formatWeights = FORMATS.map((f) => mix.formats[f]);
  while (tokens.length < target) {
    const f = FORMATS[pick(random, formatWeights)];
    const k = DIFFICULTIES[pick(random, DIFFICULTIES.map((d) => mix.levels[f][d] ?? 0))];
    const chain = drawChain(random, k);
    const q = makeQuestion(chain, 'pretrain');
    const e =
      f === 'direct' ? example(tok, mcDirect(q), false)
      : f === 'chain' ? example(tok, chainWorked(chain), false)
      : f === 'cued' ? example(tok, mcWorkedCued(q), false)
      : example(tok, mcWorked(q), true);
    starts.push(tokens.length);
    tokens.push(...e.ids);
    loss.push(...e.loss);
    counts[`${f}/${k}`] = (counts[`${f}/${k}`] ?? 0) + 1;
  }
  starts.push(tokens.length);

  // The probe: every one- and two-step chain, and a seeded sample of the longer ones.
  const probeRandom = rng(seed ^ 0x9e3779b9);
  const probe = DIFFICULTIES.flatMap((k) => {
    const chains = allChains(k);
    return (chains.length <= Number(a.probe) ? chains : shuffle(chains, probeRandom).slice(0, Number(a.probe))).map((c) => {
      const q = makeQuestion(c, 'probe');
      return { k, chain: q.question, answer: q.answer, prompt: promptIds(tok, mcPrompt(q)), cued: promptIds(tok, mcCuedPrompt(q)) };
    });
  });
  // The fidelity prompts: the demo prompt (one and two steps), the cued prompt, and whole
  // conversations (a bare worked chain, the demo prompt with a worked answer) for logits at every position.
  const q = (text: string) => makeQuestion(parseChain(text)!, 'fidelity');
  const prompt = (name: string, messages: ChatMessage[]) => ({ name, messages, generationPrompt: true, ids: promptIds(tok, messages) });
  const whole = (name: string, messages: ChatMessage[]) => ({ name, messages, generationPrompt: false, ids: tok.encodeChat(messages).ids });
  const fidelity = [
    prompt('demo prompt, 7*3=?', mcPrompt(q('7*3=?'))),
    prompt('demo prompt, 3+1*7=?', mcPrompt(q('3+1*7=?'))),
    prompt('cued prompt, 2*7+3*3+1=?', mcCuedPrompt(q('2*7+3*3+1=?'))),
    whole('bare worked chain 9+3*7+1', chainWorked(parseChain('9+3*7+1')!)),
    whole('demo prompt + worked chain, 4*7+3=?', mcWorked(q('4*7+3=?'))),
  ];

  await mkdir(a.out, { recursive: true });
  await writeFile(join(a.out, 'tokenizer.json'), JSON.stringify(files['tokenizer.json'], null, 2) + '\n');
  await writeFile(join(a.out, 'tokenizer_config.json'), JSON.stringify(files['tokenizer_config.json'], null, 2) + '\n');
  await writeFile(join(a.out, 'tokens.u8'), Uint8Array.from(tokens));
  await writeFile(join(a.out, 'loss.u8'), Uint8Array.from(loss));
  await writeFile(join(a.out, 'starts.u32'), new Uint8Array(Uint32Array.from(starts).buffer));
  const letters = labelTokens(tok, 'letters', 10).ids;
  await writeFile(join(a.out, 'corpus.json'), JSON.stringify({ seed, mix, target, examples: starts.length - 1, tokens: tokens.length, lossTokens: loss.reduce((x, y) => x + y, 0), counts, vocabSize: DEMO_VOCAB_SIZE, letters, end: tok.eosTokenIds[0] }, null, 1) + '\n');
  await writeFile(join(a.out, 'probe.json'), JSON.stringify({ letters, end: tok.eosTokenIds[0], questions: probe, fidelity }) + '\n');
  console.log(`corpus: ${starts.length - 1} examples, ${tokens.length} tokens in ${a.out}`);
}
