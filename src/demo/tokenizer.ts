// The demo model's tokenizer: one token per character, in the Hugging Face tokenizer.json format
// (a BPE model with an empty merge list, so every character of the vocabulary is its own token, and
// the Fuse decoder, which joins tokens with nothing between them), plus a tokenizer_config.json with a
// minimal chat template. Python's `tokenizers` and @huggingface/tokenizers both load it as it is.
//
// Vocabulary (102 ids): six special tokens first, then "\n", " " and the 94 printable ASCII
// characters "!"…"~", so any prompt the pipeline writes in ASCII is spelled exactly; any other
// character becomes <|unk|> (without an unk token @huggingface/tokenizers would drop it silently).
//
// Chat template: `<|role|>content<|end|>` per message, and `<|assistant|>` as the generation prompt.
// One token of markup per turn boundary keeps the sequences short; <|end|> is the eos token, so the
// assistant mask of encodeChat covers the answer and its <|end|>.

export const DEMO_SPECIAL_TOKENS = ['<|pad|>', '<|end|>', '<|system|>', '<|user|>', '<|assistant|>', '<|unk|>'] as const;

export const DEMO_CHAT_TEMPLATE = [
  '{%- for message in messages %}',
  "    {%- if message['role'] not in ['system', 'user', 'assistant'] %}",
  "        {{- raise_exception('Unknown role: ' + message['role']) }}",
  '    {%- endif %}',
  "    {{- '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}",
  '{%- endfor %}',
  '{%- if add_generation_prompt %}',
  "    {{- '<|assistant|>' }}",
  '{%- endif %}',
].join('\n');

/** The characters of the vocabulary, in id order after the special tokens. */
export function demoCharacters(): string[] {
  const chars = ['\n', ' '];
  for (let c = 0x21; c <= 0x7e; c++) chars.push(String.fromCharCode(c));
  return chars;
}

/** Vocabulary size: specials + characters (102). */
export const DEMO_VOCAB_SIZE = DEMO_SPECIAL_TOKENS.length + demoCharacters().length;

/** tokenizer.json and tokenizer_config.json of the demo model (parsed JSON objects). */
export function demoTokenizerFiles(): { 'tokenizer.json': object; 'tokenizer_config.json': object } {
  const vocab: Record<string, number> = {};
  DEMO_SPECIAL_TOKENS.forEach((t, i) => (vocab[t] = i));
  demoCharacters().forEach((c, i) => (vocab[c] = DEMO_SPECIAL_TOKENS.length + i));
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: DEMO_SPECIAL_TOKENS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    // No pre-tokenizer: the whole text is one word, which a merge-free BPE spells character by character.
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<|unk|>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
  const tokenizerConfig = {
    add_bos_token: false,
    add_eos_token: false,
    added_tokens_decoder: Object.fromEntries(
      DEMO_SPECIAL_TOKENS.map((content, id) => [String(id), { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }]),
    ),
    bos_token: null,
    chat_template: DEMO_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: '<|end|>',
    model_max_length: 256,
    pad_token: '<|pad|>',
    tokenizer_class: 'PreTrainedTokenizerFast',
    unk_token: '<|unk|>',
  };
  return { 'tokenizer.json': tokenizerJson, 'tokenizer_config.json': tokenizerConfig };
}
