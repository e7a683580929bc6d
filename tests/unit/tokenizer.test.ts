// loadTokenizer on a real tokenizer.json (byte-level BPE trained by tests/fixtures/make-tokenizer.ts on
// a small English corpus) with a ChatML template: round trips, special tokens, the rendered prompt, the
// training mask, and the errors a bad or template-less model gives.

import { describe, expect, it } from 'vitest';
import { CorruptFileError, EntrotuneError } from '../../src/errors';
import { loadTokenizer, type ChatMessage } from '../../src/tokenizer/tokenizer';
import { CHATML_TEMPLATE, makeTokenizerFiles, SAMPLE_CORPUS } from '../fixtures/make-tokenizer';

const V = 384;
const files = makeTokenizerFiles(SAMPLE_CORPUS, V);
const tok = loadTokenizer(files['tokenizer.json'], files['tokenizer_config.json']);
// The special tokens sit at the end of the vocabulary, in Qwen2's order.
const ENDOFTEXT = V - 3;
const IM_START = V - 2;
const IM_END = V - 1;

const system: ChatMessage = { role: 'system', content: 'You are a helpful tutor. Answer with the letter only.' };
const user: ChatMessage = { role: 'user', content: 'What is 478 + 356?\nA. 824\nB. 834\nC. 844\nD. 734' };

describe('makeTokenizerFiles', () => {
  it('is deterministic and fills exactly vocabSize ids, specials last', () => {
    expect(JSON.stringify(makeTokenizerFiles(SAMPLE_CORPUS, V))).toBe(JSON.stringify(files));
    for (const size of [384, 512]) {
      const json = makeTokenizerFiles(SAMPLE_CORPUS, size)['tokenizer.json'] as {
        model: { vocab: Record<string, number>; merges: string[] };
        added_tokens: Array<{ id: number; content: string; special: boolean }>;
      };
      const ids = [...Object.values(json.model.vocab), ...json.added_tokens.map((t) => t.id)].sort((a, b) => a - b);
      expect(ids).toEqual([...Array(size).keys()]); // every id 0..size-1 exactly once
      expect(json.added_tokens.map((t) => [t.id, t.content, t.special])).toEqual([
        [size - 3, '<|endoftext|>', true],
        [size - 2, '<|im_start|>', true],
        [size - 1, '<|im_end|>', true],
      ]);
      expect(json.model.vocab['!']).toBe(0); // GPT-2 / Qwen2 byte order
      expect(json.model.merges.length).toBeGreaterThanOrEqual(size - 259);
      expect(loadTokenizer(json, makeTokenizerFiles(SAMPLE_CORPUS, size)['tokenizer_config.json']).vocabSize).toBe(size);
    }
  });

  it('refuses a corpus too small for the vocabulary asked for', () => {
    expect(() => makeTokenizerFiles('ab ab', 384)).toThrow(/corpus too small/);
  });
});

describe('loadTokenizer', () => {
  it('round-trips any text, byte for byte, including text it never saw', () => {
    const texts = [
      'Zebras quickly jumped over 9,081 lazy foxes… then rested.',
      'Hello , world . Isn\'t it ?', // spaces before punctuation survive (no clean-up)
      'emoji 🦓🤗👩‍👩‍👧 and flags 🇫🇷',
      'naïve café, e\u0301 decomposed, 東京, Ελληνικά, العربية',
      '  leading and trailing spaces \t tabs\r\nCRLF\n\n\nblank lines  ',
      '\u0000\u0001 control \u007f bytes',
    ];
    for (const text of texts) {
      const ids = tok.encode(text);
      expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < V)).toBe(true);
      expect(tok.decode(ids)).toBe(text);
    }
  });

  it('learned the corpus: common words are one token, numbers are single digits (as in Qwen2)', () => {
    expect(tok.encode(' the')).toHaveLength(1);
    expect(tok.encode('478')).toHaveLength(3);
  });

  it('maps single answer letters, with and without a leading space, to one token each', () => {
    for (const letter of ['A', 'B', 'C', 'D']) {
      expect(tok.encode(letter)).toHaveLength(1);
      expect(tok.encode(` ${letter}`)).toHaveLength(1);
    }
    expect(tok.encode('A')).toEqual([tok.tokenId('A')]);
    expect(tok.encode(' A')).toEqual([tok.tokenId('ĠA')]); // the vocabulary spells the space as Ġ
  });

  it('encodes special tokens to single ids and knows which ids are special', () => {
    expect(tok.encode('<|im_start|>')).toEqual([IM_START]);
    expect(tok.encode('<|im_end|>')).toEqual([IM_END]);
    expect(tok.encode('<|endoftext|>')).toEqual([ENDOFTEXT]);
    expect(tok.encode('<|im_start|>user\nhi<|im_end|>')[0]).toBe(IM_START);
    expect(tok.tokenId('<|im_end|>')).toBe(IM_END);
    expect(tok.tokenId('no such token')).toBeUndefined();
    expect([...tok.specialTokenIds].sort((a, b) => a - b)).toEqual([ENDOFTEXT, IM_START, IM_END]);
    expect(tok.eosTokenIds).toEqual([IM_END]);
    expect(tok.padTokenId).toBe(ENDOFTEXT);
    expect(tok.bosTokenId).toBeNull();
    expect(tok.vocabSize).toBe(V);
  });

  it('adds generation_config eos ids (a number or a list) to the tokenizer_config one', () => {
    const config = files['tokenizer_config.json'];
    expect(loadTokenizer(files['tokenizer.json'], config, { eos_token_id: [IM_END, ENDOFTEXT] }).eosTokenIds).toEqual([IM_END, ENDOFTEXT]);
    expect(loadTokenizer(files['tokenizer.json'], config, { eos_token_id: ENDOFTEXT }).eosTokenIds).toEqual([IM_END, ENDOFTEXT]);
    expect(() => loadTokenizer(files['tokenizer.json'], config, { eos_token_id: 'x' })).toThrow(CorruptFileError);
  });

  it('decodes with or without special tokens, and tolerates empty and unknown ids', () => {
    const ids = tok.encode('<|im_start|>assistant\nB<|im_end|>');
    expect(tok.decode(ids)).toBe('<|im_start|>assistant\nB<|im_end|>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('assistant\nB');
    expect(tok.decode([])).toBe('');
    expect(tok.decode([...tok.encode('ok'), V + 10])).toBe('ok'); // a padding row of a larger embedding
  });

  it('renders system + user with the generation prompt exactly as ChatML', () => {
    expect(tok.applyChatTemplate([system, user], { addGenerationPrompt: true })).toBe(
      '<|im_start|>system\nYou are a helpful tutor. Answer with the letter only.<|im_end|>\n' +
        '<|im_start|>user\nWhat is 478 + 356?\nA. 824\nB. 834\nC. 844\nD. 734<|im_end|>\n' +
        '<|im_start|>assistant\n',
    );
    // No default system message; no generation prompt unless asked.
    expect(tok.applyChatTemplate([{ role: 'user', content: 'hi' }])).toBe('<|im_start|>user\nhi<|im_end|>\n');
  });

  it('masks exactly the final assistant answer and its <|im_end|>', () => {
    const answer = 'The answer is B because 478 plus 356 equals 834.';
    const messages: ChatMessage[] = [
      system,
      { role: 'user', content: 'What is 12 + 30?' },
      { role: 'assistant', content: 'A' }, // an earlier turn: context, not a target
      user,
      { role: 'assistant', content: answer },
    ];
    const { ids, assistantMask } = tok.encodeChat(messages);
    expect(assistantMask).toHaveLength(ids.length);
    // Everything the template writes, up to and including the answer's <|im_end|>; ChatML's trailing
    // "\n" comes after the end of the turn and is not part of the example.
    expect(tok.decode(ids) + '\n').toBe(tok.applyChatTemplate(messages));

    const prompt = tok.encode(tok.applyChatTemplate(messages.slice(0, -1), { addGenerationPrompt: true }));
    const target = [...tok.encode(answer), IM_END];
    expect(ids.slice(0, prompt.length)).toEqual(prompt); // the ids generation starts from
    expect(ids.filter((_, i) => assistantMask[i] === 1)).toEqual(target);
    // The ones are one contiguous run right after the prompt, to the end of the example.
    expect(assistantMask).toEqual([...prompt.map(() => 0), ...target.map(() => 1)]);
    expect(tok.endOfTurnId).toBe(IM_END);
    expect(tok.eosTokenIds).toContain(IM_END);
  });

  it('encodeChat needs a final assistant message', () => {
    expect(() => tok.encodeChat([system, user])).toThrow(/ends with an assistant message/);
  });

  it('picks the "default" template from a list of named templates, or takes one supplied', () => {
    const config = { ...files['tokenizer_config.json'], chat_template: [
      { name: 'tool_use', template: 'TOOLS' },
      { name: 'default', template: CHATML_TEMPLATE },
    ] };
    const t = loadTokenizer(files['tokenizer.json'], config);
    expect(t.applyChatTemplate([user])).toBe(tok.applyChatTemplate([user]));
    const noDefault = { ...config, chat_template: [{ name: 'tool_use', template: 'TOOLS' }] };
    expect(() => loadTokenizer(files['tokenizer.json'], noDefault)).toThrow(/no "default"/);
    const supplied = loadTokenizer(files['tokenizer.json'], noDefault, undefined, { chatTemplate: '{{ messages[0].content }}!' });
    expect(supplied.applyChatTemplate([user])).toBe(`${user.content}!`);
  });
});

describe('loadTokenizer errors', () => {
  it('says clearly when the model has no chat template, and still tokenizes', () => {
    const { chat_template: _, ...config } = files['tokenizer_config.json'] as Record<string, unknown>;
    const t = loadTokenizer(files['tokenizer.json'], config);
    expect(t.decode(t.encode('still works'))).toBe('still works');
    expect(() => t.applyChatTemplate([user])).toThrow(EntrotuneError);
    expect(() => t.applyChatTemplate([user])).toThrow(/no chat template[\s\S]*HINT: use an -Instruct/);
    expect(() => t.encodeChat([user, { role: 'assistant', content: 'B' }])).toThrow(/no chat template/);
  });

  it('rejects a corrupt tokenizer.json, naming the file', () => {
    const config = files['tokenizer_config.json'];
    for (const bad of [null, 'not json', [1, 2, 3], 42, {}, { model: 'BPE' }, { model: { type: 'BPE' } }]) {
      expect(() => loadTokenizer(bad, config)).toThrow(CorruptFileError);
      expect(() => loadTokenizer(bad, config)).toThrow(/^tokenizer\.json: /);
    }
    // A BPE model without merges gets past the shape check and fails inside the library: still named.
    const noMerges = { ...files['tokenizer.json'], model: { type: 'BPE', vocab: { a: 0 } } };
    expect(() => loadTokenizer(noMerges, config)).toThrow(/^tokenizer\.json: cannot be loaded/);
  });

  it('rejects a bad tokenizer_config.json or a template that does not parse', () => {
    const json = files['tokenizer.json'];
    const config = files['tokenizer_config.json'] as Record<string, unknown>;
    expect(() => loadTokenizer(json, 'x')).toThrow(/^tokenizer_config\.json: /);
    expect(() => loadTokenizer(json, { ...config, eos_token: '<|nope|>' })).toThrow(/eos_token "<\|nope\|>" is not in/);
    expect(() => loadTokenizer(json, config, { eos_token_id: [V - 1, 99999] })).toThrow(/^generation_config\.json: "eos_token_id" names token 99999, which tokenizer\.json does not have \(384 tokens\)/);
    expect(() => loadTokenizer(json, { ...config, chat_template: '{% for %}' })).toThrow(/chat_template does not parse/);
    const raising = loadTokenizer(json, config);
    expect(() => raising.applyChatTemplate([{ role: 'tool' as ChatMessage['role'], content: 'x' }])).toThrow(/chat template failed: .*Unknown role: tool/);
  });
});
