// The tokenizer and chat template of a model, behind one small interface. Text ↔ ids comes from
// tokenizer.json through @huggingface/tokenizers (pure JS; Llama-3/Qwen2 BPE match the Rust library);
// conversations become text through the model's own chat_template (tokenizer_config.json) rendered by
// @huggingface/jinja, with the variables transformers' apply_chat_template passes.
//
// Every prompt is rendered for a direct answer, the same way for scoring, training and evaluation:
// - `enable_thinking` is false unless asked for: Qwen3's template then writes an empty
//   `<think>\n\n</think>\n\n` into the generation prompt, so the model's next token is the answer
//   (with thinking on it is `<think>`, and the single-token answer entropy would measure nothing);
// - `date_string` is fixed (the Llama-3.1/3.2 templates' own fallback, "26 Jul 2024"), so a prompt is the
//   same on every day: otherwise @huggingface/jinja's strftime_now puts today's date in the system turn;
// - `tools` is none, as transformers passes it without tools.
//
// For training, encodeChat() turns a conversation into ids plus a loss mask that is 1 only on the final
// assistant answer and the end-of-turn token the template writes right after it: the prompt is rendered
// with the generation prompt, the full conversation without it, and the answer is found in what the full
// text adds after the prompt. Whatever the template writes after the end-of-turn token (ChatML's "\n", the
// first Llama-3 template's unconditional assistant header) is not part of the example.
//
// Library behaviour we correct for (checked against @huggingface/tokenizers 0.2.0):
// - decode() throws on an empty id list; we return "".
// - decode() cleans up tokenization spaces (" ." → ".") unless told not to, whereas transformers ≥ 4.45
//   does so only when tokenizer_config.json says `clean_up_tokenization_spaces: true`; we pass the
//   file's value (default false), so byte-level tokenizers round-trip exactly.
// - encode() adds the post-processor's special tokens (Llama-3's <|begin_of_text|>) by default; ours
//   does not, because chat templates already write them into the text.

import { Template } from '@huggingface/jinja';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { CorruptFileError, EntrotuneError } from '../errors';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface Tokenizer {
  /** Text → ids. By default no special tokens are added (chat templates already contain them). */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** Ids → text. Ids the tokenizer does not know (padding rows of a larger embedding) decode to nothing. */
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  /** The conversation rendered by the model's chat template. */
  applyChatTemplate(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string;
  /**
   * For training: ids of the rendered conversation, and a mask that is 1 on the tokens of the final
   * assistant message and its end-of-turn token, 0 elsewhere. ids = encode(prompt) ++ encode(answer) ++
   * end-of-turn, where prompt is the conversation before the last assistant message with the generation
   * prompt: exactly the ids the model sees at inference before it writes the answer. Nothing the template
   * writes after the end-of-turn token is included.
   */
  encodeChat(messages: ChatMessage[]): { ids: number[]; assistantMask: number[] };
  /** Exact vocabulary lookup, including added/special tokens, in the vocabulary's own spelling
   * (byte-level vocabularies spell " A" as "ĠA"). */
  tokenId(token: string): number | undefined;
  /** Number of ids the tokenizer can produce: largest id + 1 (the model's embedding may be larger). */
  readonly vocabSize: number;
  /** tokenizer_config.json's bos_token, or null when it has none (Qwen2 has none). */
  readonly bosTokenId: number | null;
  /** Tokens that end generation: tokenizer_config's eos_token ∪ generation_config's eos_token_id ∪ the
   * template's end-of-turn token. */
  readonly eosTokenIds: number[];
  /** The special token the chat template writes right after an assistant message (ChatML's <|im_end|>,
   * Llama-3's <|eot_id|>), or null when it writes none (or the tokenizer has no template). */
  readonly endOfTurnId: number | null;
  /** Whether prompts are rendered in thinking mode (only when asked for and the template has one). */
  readonly thinking: boolean;
  /** tokenizer_config's pad_token, else generation_config's pad_token_id, else null. */
  readonly padTokenId: number | null;
  /** Ids of every added token marked special, plus bos/eos/pad. */
  readonly specialTokenIds: ReadonlySet<number>;
}

/** Optional inputs beyond the three files. */
export interface LoadTokenizerOptions {
  /** A chat template to use instead of tokenizer_config's (newer repos ship it as chat_template.jinja). */
  chatTemplate?: string;
  /** Render prompts in thinking mode (the template's `enable_thinking`, Qwen3). Default false: the
   * answer is then the first token after the prompt, which scoring and training rely on. */
  thinking?: boolean;
  /** The date templates that print one are given (`date_string`). Default DEFAULT_DATE_STRING. */
  dateString?: string;
}

/** The date the Llama-3.1/3.2 templates fall back to themselves: fixed, so prompts do not change daily. */
export const DEFAULT_DATE_STRING = '26 Jul 2024';

type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Build a Tokenizer from the parsed JSON of tokenizer.json, tokenizer_config.json and (optionally)
 * generation_config.json. Synchronous: nothing here waits on I/O. Throws CorruptFileError naming the
 * file when one of them is not what a Hugging Face model ships.
 */
export function loadTokenizer(
  tokenizerJson: unknown,
  tokenizerConfig: unknown,
  generationConfig?: unknown,
  opts: LoadTokenizerOptions = {},
): Tokenizer {
  // ---- validate the files at the boundary ----
  if (!isObject(tokenizerJson)) {
    throw new CorruptFileError('tokenizer.json', `expected a JSON object, got ${describe(tokenizerJson)}`);
  }
  if (!isObject(tokenizerJson.model) || !isObject(tokenizerJson.model.vocab) && !Array.isArray(tokenizerJson.model.vocab)) {
    throw new CorruptFileError('tokenizer.json', 'has no "model" object with a vocab');
  }
  if (tokenizerJson.added_tokens !== undefined && !Array.isArray(tokenizerJson.added_tokens)) {
    throw new CorruptFileError('tokenizer.json', '"added_tokens" is not a list');
  }
  if (!isObject(tokenizerConfig)) {
    throw new CorruptFileError('tokenizer_config.json', `expected a JSON object, got ${describe(tokenizerConfig)}`);
  }
  if (generationConfig !== undefined && generationConfig !== null && !isObject(generationConfig)) {
    throw new CorruptFileError('generation_config.json', `expected a JSON object, got ${describe(generationConfig)}`);
  }
  const genConfig: Json = generationConfig ?? {};

  // The library insists that these keys exist (null is fine) and iterates added_tokens unguarded;
  // real files always have them, hand-written ones may not.
  const json = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...tokenizerJson };
  let hf: HfTokenizer;
  try {
    hf = new HfTokenizer(json, tokenizerConfig);
  } catch (err) {
    throw new CorruptFileError(
      'tokenizer.json',
      `cannot be loaded: ${message(err)}`,
      'download it again; if it loads in Python, it uses a feature @huggingface/tokenizers lacks: please report it',
    );
  }

  // ---- vocabulary and special tokens ----
  let maxId = -1;
  for (const id of hf.get_vocab(true).values()) maxId = Math.max(maxId, id);
  const vocabSize = maxId + 1;

  /** The id of a special token named in tokenizer_config (a string, or an AddedToken-like object). */
  const configTokenId = (field: string): number | null => {
    const value = tokenizerConfig[field];
    if (value === undefined || value === null) return null;
    const content = typeof value === 'string' ? value : isObject(value) && typeof value.content === 'string' ? value.content : null;
    if (content === null) throw new CorruptFileError('tokenizer_config.json', `"${field}" is neither a string nor a token object`);
    const id = hf.token_to_id(content);
    if (id === undefined) throw new CorruptFileError('tokenizer_config.json', `${field} "${content}" is not in tokenizer.json's vocabulary`);
    return id;
  };
  /** generation_config ids: a number or a list of numbers. */
  const generationIds = (field: string): number[] => {
    const value = genConfig[field];
    if (value === undefined || value === null) return [];
    const list = Array.isArray(value) ? value : [value];
    if (!list.every((x) => Number.isInteger(x) && x >= 0)) {
      throw new CorruptFileError('generation_config.json', `"${field}" must be a token id or a list of token ids, got ${JSON.stringify(value)}`);
    }
    const unknown = list.find((id: number) => hf.id_to_token(id) === undefined);
    if (unknown !== undefined) {
      throw new CorruptFileError('generation_config.json', `"${field}" names token ${unknown}, which tokenizer.json does not have (${vocabSize} tokens)`, 'check that generation_config.json and tokenizer.json come from the same model');
    }
    return list as number[];
  };

  const bosTokenId = configTokenId('bos_token');
  const configEos = configTokenId('eos_token');
  const declaredEos = [...(configEos === null ? [] : [configEos]), ...generationIds('eos_token_id')];
  const padTokenId = configTokenId('pad_token') ?? generationIds('pad_token_id')[0] ?? null;
  const specialTokenIds = new Set<number>();
  for (const [id, token] of hf.get_added_tokens_decoder()) if (token.special) specialTokenIds.add(id);
  for (const id of [bosTokenId, padTokenId, ...declaredEos]) if (id !== null) specialTokenIds.add(id);

  // The strings templates see as bos_token / eos_token (undefined when absent, as in transformers).
  const tokenText = (field: string): string | undefined => {
    const value = tokenizerConfig[field];
    return typeof value === 'string' ? value : isObject(value) && typeof value.content === 'string' ? value.content : undefined;
  };
  const cleanUpSpaces = tokenizerConfig.clean_up_tokenization_spaces === true;
  const dateString = opts.dateString ?? DEFAULT_DATE_STRING;

  // ---- chat template: parsed once, rendered per conversation ----
  const templateSource = opts.chatTemplate ?? pickChatTemplate(tokenizerConfig.chat_template);
  let template: Template | null = null;
  if (templateSource !== null) {
    try {
      template = new Template(templateSource);
    } catch (err) {
      throw new CorruptFileError(
        opts.chatTemplate !== undefined ? 'chat template' : 'tokenizer_config.json',
        `chat_template does not parse: ${message(err)}`,
        'fix the template, or supply a working one',
      );
    }
  }

  // Thinking mode only means something to a template that reads enable_thinking.
  const thinking = opts.thinking === true && templateSource !== null && templateSource.includes('enable_thinking');

  const encode = (text: string, o: { addSpecialTokens?: boolean } = {}): number[] => {
    const ids = hf.encode(text, { add_special_tokens: o.addSpecialTokens ?? false }).ids;
    // Without an unk token, a piece missing from the vocabulary comes back as undefined.
    if (ids.some((id) => id === undefined)) {
      throw new CorruptFileError('tokenizer.json', `the vocabulary cannot spell ${JSON.stringify(text.slice(0, 40))} and has no unk_token`);
    }
    return ids;
  };

  const decode = (ids: number[], o: { skipSpecialTokens?: boolean } = {}): string => {
    // Like the Rust library, ids outside the vocabulary (e.g. padding rows of the embedding) are skipped.
    const known = ids.filter((id) => hf.id_to_token(id) !== undefined);
    if (known.length === 0) return '';
    return hf.decode(known, { skip_special_tokens: o.skipSpecialTokens ?? false, clean_up_tokenization_spaces: cleanUpSpaces });
  };

  const applyChatTemplate = (messages: ChatMessage[], o: { addGenerationPrompt?: boolean } = {}): string => {
    if (template === null) {
      throw new EntrotuneError(
        'this model has no chat template (tokenizer_config.json has no chat_template), so prompts cannot be formatted',
        'use an -Instruct (chat) variant of the model, or supply a chat template (chat_template.jinja / opts.chatTemplate)',
      );
    }
    try {
      return template.render({
        // Plain copies: the template must not see (or mutate) anything else on the caller's objects.
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: o.addGenerationPrompt ?? false,
        bos_token: tokenText('bos_token'),
        eos_token: tokenText('eos_token'),
        pad_token: tokenText('pad_token'),
        unk_token: tokenText('unk_token'),
        tools: null,
        enable_thinking: thinking,
        date_string: dateString,
      });
    } catch (err) {
      // Templates reject what they cannot format (raise_exception("Conversation roles must alternate...")).
      throw new EntrotuneError(`the chat template failed: ${message(err)}`, 'check the order and roles of the messages');
    }
  };

  /**
   * The text the template adds for the final assistant message of `messages`, split at its content:
   * what comes before the content (a template's own preamble, e.g. Qwen3's empty think block in
   * thinking mode), and what comes after it (the end-of-turn token and whatever follows).
   */
  const answerParts = (messages: ChatMessage[]): { prompt: string; before: string; content: string; after: string } => {
    const prompt = applyChatTemplate(messages.slice(0, -1), { addGenerationPrompt: true });
    const full = applyChatTemplate(messages, { addGenerationPrompt: false });
    if (!full.startsWith(prompt)) {
      throw new EntrotuneError(
        'the chat template renders the conversation with its answer differently from the prompt it writes for generation (the full text does not start with the prompt), so the answer tokens cannot be located',
        'the template rewrites earlier turns or moves part of the answer (Qwen3\'s puts anything before "</think>" in a think block): remove such markup from the answer, or supply a chat template whose output grows by appending',
      );
    }
    const added = full.slice(prompt.length);
    // Templates may trim the content (Llama-3's `| trim`); look for it as given, then trimmed.
    const given = messages[messages.length - 1].content;
    const content = added.includes(given) ? given : given.trim();
    const at = added.indexOf(content);
    if (at < 0) {
      throw new EntrotuneError(
        'the chat template rewrites the assistant message (its text does not appear in the rendered conversation), so the answer tokens cannot be located',
        'check the answer text (Qwen3\'s template, for one, moves anything before "</think>" out of the answer); or supply a chat template that writes messages as given',
      );
    }
    return { prompt, before: added.slice(0, at), content, after: added.slice(at + content.length) };
  };

  /** The end-of-turn token: the special token the template writes right after an assistant message.
   * Found once, on first use, by rendering a two-turn conversation (so a template that cannot render
   * one fails there, with the template's own message, not when the model loads). */
  let endOfTurn: { id: number | null } | null = null;
  const endOfTurnId = (): number | null => {
    if (endOfTurn === null) {
      const probe: ChatMessage[] = [{ role: 'user', content: 'Which?' }, { role: 'assistant', content: 'This one.' }];
      const first = template === null ? undefined : encode(answerParts(probe).after)[0];
      endOfTurn = { id: first !== undefined && specialTokenIds.has(first) ? first : null };
    }
    return endOfTurn.id;
  };

  const encodeChat = (messages: ChatMessage[]): { ids: number[]; assistantMask: number[] } => {
    const last = messages[messages.length - 1];
    if (!last || last.role !== 'assistant') {
      throw new EntrotuneError('encodeChat needs a conversation that ends with an assistant message', 'append the target answer as the last message');
    }
    const { prompt, before, content, after } = answerParts(messages);
    // Each part is tokenized on its own rather than the full text at once: the prompt ids are then
    // exactly the ones generation starts from, and no BPE merge straddles a boundary.
    const promptIds = [...encode(prompt), ...encode(before)];
    const eot = endOfTurnId();
    const endIds = eot !== null && encode(after)[0] === eot ? [eot] : [];
    const answerIds = [...encode(content), ...endIds];
    return {
      ids: [...promptIds, ...answerIds],
      assistantMask: [...promptIds.map(() => 0), ...answerIds.map(() => 1)],
    };
  };

  return {
    encode,
    decode,
    applyChatTemplate,
    encodeChat,
    tokenId: (token: string) => hf.token_to_id(token),
    vocabSize,
    bosTokenId,
    get eosTokenIds() {
      const eot = endOfTurnId();
      return [...new Set([...declaredEos, ...(eot === null ? [] : [eot])])];
    },
    get endOfTurnId() {
      return endOfTurnId();
    },
    thinking,
    padTokenId,
    specialTokenIds,
  };
}

/**
 * tokenizer_config's chat_template: a string, or a list of {name, template} (several named templates,
 * e.g. "default" and "tool_use"), or a name → template object. Like transformers, a list without a
 * "default" entry is an error; null means the model has no template.
 */
function pickChatTemplate(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  let named: Map<string, unknown>;
  if (Array.isArray(value)) {
    named = new Map(value.filter(isObject).map((t) => [String(t.name), t.template]));
  } else if (isObject(value)) {
    named = new Map(Object.entries(value));
  } else {
    throw new CorruptFileError('tokenizer_config.json', `chat_template is ${describe(value)}, expected a string or a list of {name, template}`);
  }
  const chosen = named.get('default');
  if (typeof chosen !== 'string') {
    throw new CorruptFileError(
      'tokenizer_config.json',
      `chat_template has named templates (${[...named.keys()].join(', ')}) but no "default" one`,
      'supply the template to use (opts.chatTemplate)',
    );
  }
  return chosen;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'a list';
  return `a ${typeof x}`;
}
