// Prompts and training targets on the real published tokenizer files of Qwen3 and Llama-3 (see
// tests/fixtures/real-vocab.ts). The expected prompt ids were produced by transformers 5.18's
// apply_chat_template(..., add_generation_prompt=True, enable_thinking=False) on the same files.

import { describe, expect, it } from 'vitest';
import type { Question } from '../../src/data/dataset';
import { encodePrompt, labelTokens, promptMessages, PROMPTS } from '../../src/data/prompts';
import { chatExample } from '../../src/train/loop';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizer/tokenizer';
import { REAL_FAMILIES, realTokenizerFiles, type RealFamily } from '../fixtures/real-vocab';

const Q: Question = { id: 'q1', subject: 'high_school_mathematics', question: 'What is 2 + 2?', options: ['3', '4', '5', '22'], answer: 1 };
const SYSTEM = 'The following is a multiple choice question about high school mathematics. Answer with the letter of the correct option only.';
const USER = 'What is 2 + 2?\nA. 3\nB. 4\nC. 5\nD. 22';

const LLAMA_PROMPT =
  `<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n${SYSTEM}<|eot_id|>` +
  `<|start_header_id|>user<|end_header_id|>\n\n${USER}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n`;
const LLAMA_IDS = [128000, 128006, 9125, 128007, 271, 791, 2768, 374, 264, 5361, 5873, 3488, 922, 1579, 2978, 38696, 13, 22559, 449, 279, 6661, 315, 279, 4495, 3072, 1193, 13, 128009, 128006, 882, 128007, 271, 3923, 374, 220, 17, 489, 220, 17, 5380, 32, 13, 220, 18, 198, 33, 13, 220, 19, 198, 34, 13, 220, 20, 198, 35, 13, 220, 1313, 128009, 128006, 78191, 128007, 271];

const EXPECTED: Record<RealFamily['name'], { prompt: string; ids: number[]; eot: number; stops: number[]; cot: number[] }> = {
  qwen3: {
    // Thinking off: the template closes an empty think block, so the next token is the answer.
    prompt: `<|im_start|>system\n${SYSTEM}<|im_end|>\n<|im_start|>user\n${USER}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n`,
    ids: [151644, 8948, 198, 785, 2701, 374, 264, 5248, 5754, 3405, 911, 1550, 2906, 37596, 13, 21806, 448, 279, 6524, 315, 279, 4396, 2999, 1172, 13, 151645, 198, 151644, 872, 198, 3838, 374, 220, 17, 488, 220, 17, 5267, 32, 13, 220, 18, 198, 33, 13, 220, 19, 198, 34, 13, 220, 20, 198, 35, 13, 220, 17, 17, 151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271],
    eot: 151645, // <|im_end|>
    stops: [151643, 151645],
    cot: [11613, 323, 1378, 1281, 3040, 624, 15505, 33, 5053, 151645],
  },
  // First published template: the assistant header after every conversation; eos <|end_of_text|>, no
  // generation_config.json: <|eot_id|> comes into the stop tokens from the template alone.
  llama3: { prompt: LLAMA_PROMPT, ids: LLAMA_IDS, eot: 128009, stops: [128001, 128009], cot: [11874, 323, 1403, 1304, 3116, 627, 15873, 33, 5163, 128009] },
  'llama3-eot': { prompt: LLAMA_PROMPT, ids: LLAMA_IDS, eot: 128009, stops: [128001, 128008, 128009], cot: [11874, 323, 1403, 1304, 3116, 627, 15873, 33, 5163, 128009] },
};

const load = (f: RealFamily, o: { thinking?: boolean } = {}): Tokenizer => {
  const files = realTokenizerFiles(f);
  return loadTokenizer(files.tokenizer, files.config, f.generation, o);
};

describe.each(REAL_FAMILIES)('the real $name tokenizer', (family) => {
  const tok = load(family);
  const want = EXPECTED[family.name];

  it('renders the scoring prompt exactly as transformers does, thinking off', () => {
    const text = tok.applyChatTemplate(promptMessages(Q), { addGenerationPrompt: true });
    expect(text).toBe(want.prompt);
    expect(encodePrompt(tok, Q)).toEqual(want.ids);
    expect(tok.thinking).toBe(false);
  });

  it('has one token per answer label, A–J', () => {
    const labels = labelTokens(tok, 'letters');
    expect(labels.ids).toEqual([32, 33, 34, 35, 36, 37, 38, 39, 40, 41]);
    expect(labels.ambiguous).toEqual([]);
  });

  it('trains exactly the answer and its end-of-turn token, starting where scoring reads the answer', () => {
    const { tokens, labels } = chatExample(tok, [...promptMessages(Q), { role: 'assistant', content: 'B' }]);
    const prompt = encodePrompt(tok, Q);
    expect(tokens.slice(0, prompt.length)).toEqual(prompt);
    // The loss mask begins at the first token after the prompt: the label scoring reads there.
    expect(labels.findIndex((l) => l !== -100)).toBe(prompt.length);
    expect(tokens[prompt.length]).toBe(labelTokens(tok, 'letters').ids[1]);
    // ... and ends with the end of the turn: no header, generation prompt or newline after it.
    expect(tokens.slice(prompt.length)).toEqual([33, want.eot]);
    expect(labels.slice(prompt.length)).toEqual([33, want.eot]);
    expect(tok.endOfTurnId).toBe(want.eot);
  });

  it('trains a chain of thought the same way', () => {
    const { ids, assistantMask } = tok.encodeChat([...promptMessages(Q), { role: 'assistant', content: 'Two and two make four.\n[[B]]' }]);
    const start = want.ids.length;
    expect(ids.slice(0, start)).toEqual(want.ids);
    expect(ids.slice(start)).toEqual(want.cot);
    expect(assistantMask).toEqual(ids.map((_, i) => (i < start ? 0 : 1)));
  });

  it('stops generation at eos_token, generation_config\'s eos_token_id and the end of the turn', () => {
    expect([...tok.eosTokenIds].sort((a, b) => a - b)).toEqual(want.stops);
  });
});

describe('thinking mode is an explicit option', () => {
  const qwen3 = REAL_FAMILIES.find((f) => f.name === 'qwen3')!;

  it('renders Qwen3\'s prompt without the closed think block, and trains the block as context', () => {
    const tok = load(qwen3, { thinking: true });
    expect(tok.thinking).toBe(true);
    const prompt = tok.applyChatTemplate(promptMessages(Q), { addGenerationPrompt: true });
    expect(prompt).toBe(EXPECTED.qwen3.prompt.replace('<think>\n\n</think>\n\n', ''));
    const { ids, assistantMask } = tok.encodeChat([...promptMessages(Q), { role: 'assistant', content: 'B' }]);
    // The template writes the (empty) think block before the answer: context, not a target.
    const start = assistantMask.indexOf(1);
    expect(tok.decode(ids.slice(0, start))).toBe(EXPECTED.qwen3.prompt);
    expect(ids.slice(start)).toEqual([33, 151645]);
  });

  it('means nothing to a template without it', () => {
    const llama = REAL_FAMILIES.find((f) => f.name === 'llama3')!;
    expect(load(llama, { thinking: true }).thinking).toBe(false);
  });
});

describe('template variables', () => {
  const qwen3 = REAL_FAMILIES.find((f) => f.name === 'qwen3')!;
  const files = realTokenizerFiles(qwen3);
  const withTemplate = (chatTemplate: string, dateString?: string) => loadTokenizer(files.tokenizer, files.config, undefined, { chatTemplate, dateString });

  it('fixes the date a template prints (Llama-3.1/3.2 write "Today Date"), so prompts do not change daily', () => {
    // The Llama-3.2 templates' logic: date_string if given, else strftime_now (which @huggingface/jinja defines).
    const t = '{%- if not date_string is defined %}{%- set date_string = strftime_now("%d %b %Y") %}{%- endif %}Today Date: {{ date_string }}';
    expect(withTemplate(t).applyChatTemplate([])).toBe('Today Date: 26 Jul 2024');
    expect(withTemplate(t, '1 Dec 2026').applyChatTemplate([])).toBe('Today Date: 1 Dec 2026');
  });

  it('passes tools as none, as transformers does without tools', () => {
    const t = '{%- if tools is defined and tools is none %}none{%- else %}other{%- endif %}';
    expect(withTemplate(t).applyChatTemplate([])).toBe('none');
  });

  it('says which template rewrote the answer when it cannot find it', () => {
    // Qwen3's template moves anything before "</think>" out of the answer.
    const tok = load(qwen3);
    expect(() => tok.encodeChat([{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'x</think>y' }])).toThrow(/does not start with the prompt[\s\S]*HINT: .*"<\/think>"/);
  });
});
