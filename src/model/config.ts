// config.json → ModelConfig: flat, typed data with the math letters the model code uses.
//
// One model family covers Llama, Qwen2 (Qwen2.5) and Qwen3; their differences are fields:
//   qkvBias      q/k/v projections have a bias, o_proj none (Qwen2)
//   qkNorm       per-head RMSNorm of q and k before RoPE (Qwen3)
//   HS           head size: head_dim when given (Qwen3: 128 with C=1024, NH=16), else C / NH
//   tieEmbeddings  lm_head shares model.embed_tokens.weight
//   ropeScaling  Llama 3's frequency-dependent RoPE scaling, or none
// fromHfConfig reads what transformers reads, applies transformers' defaults for absent fields, and
// rejects everything whose semantics we do not implement (sliding windows, yarn/linear RoPE scaling,
// other activations, MLP biases, attention_bias (which in transformers also biases o_proj),
// pre-quantised checkpoints) instead of silently computing something else.
//
// Error kinds: a field with the wrong type or an impossible value (hidden_size "abc", -3) is a
// CorruptFileError; a well-formed config asking for something we do not do is an UnsupportedModelError
// whose message names the field and value and lists what is supported.

import { CorruptFileError, UnsupportedModelError } from '../errors';

export interface ModelConfig {
  arch: 'llama' | 'qwen2' | 'qwen3';
  /** vocab, hidden, intermediate, layers, heads, kv heads, head size */
  V: number;
  C: number;
  I: number;
  L: number;
  NH: number;
  NKV: number;
  HS: number;
  /** RMSNorm epsilon */
  eps: number;
  ropeTheta: number;
  ropeScaling: null | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };
  qkvBias: boolean;
  qkNorm: boolean;
  tieEmbeddings: boolean;
  maxPositions: number;
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** As published ("bfloat16", "float32", ...); the dtypes actually stored are in the safetensors headers. */
  torchDtype: string;
}

/** What each supported architecture means, and transformers' defaults for fields a config may omit. */
const ARCHS = {
  LlamaForCausalLM: { arch: 'llama', modelType: 'llama', maxPositions: 2048 },
  Qwen2ForCausalLM: { arch: 'qwen2', modelType: 'qwen2', maxPositions: 32768 },
  Qwen3ForCausalLM: { arch: 'qwen3', modelType: 'qwen3', maxPositions: 32768 },
} as const;
type ArchName = keyof typeof ARCHS;
const ARCH_NAMES = Object.keys(ARCHS) as ArchName[];

const HINT = 'pick a Llama, Qwen2/Qwen2.5 or Qwen3 model, e.g. SmolLM2-360M-Instruct, Qwen2.5-0.5B-Instruct, Qwen3-0.6B or Llama-3.2-1B-Instruct';

export function fromHfConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new CorruptFileError(file, 'is not a JSON object', 'use the config.json published with the model');
  const c = json as Record<string, unknown>;
  const corrupt = (field: string, want: string): never => {
    throw new CorruptFileError(file, `${field} is ${JSON.stringify(c[field])}, expected ${want}`, 'use the config.json published with the model');
  };
  const unsupported = (detail: string, supported: string): never => {
    throw new UnsupportedModelError(`${file}: ${detail}; supported: ${supported}`, HINT);
  };
  const posInt = (field: string, fallback?: number): number => {
    const v = c[field] ?? fallback;
    if (!Number.isSafeInteger(v) || (v as number) < 1) corrupt(field, 'a positive integer');
    return v as number;
  };
  const posNum = (field: string, fallback: number): number => {
    const v = c[field] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) corrupt(field, 'a positive number');
    return v as number;
  };
  const bool = (field: string, fallback: boolean): boolean => {
    const v = c[field] ?? fallback;
    if (typeof v !== 'boolean') corrupt(field, 'true or false');
    return v as boolean;
  };

  // Architecture: architectures[0], which must agree with model_type; either alone is enough.
  const archs = c.architectures;
  let name: ArchName;
  if (archs !== undefined && archs !== null) {
    if (!Array.isArray(archs) || archs.length === 0 || typeof archs[0] !== 'string') corrupt('architectures', 'a list of class names');
    const a = (archs as string[])[0];
    if (!(ARCH_NAMES as string[]).includes(a)) unsupported(`architectures[0] is ${JSON.stringify(a)}`, `architectures ${ARCH_NAMES.join(', ')}`);
    name = a as ArchName;
    if (c.model_type !== undefined && c.model_type !== ARCHS[name].modelType) {
      unsupported(`model_type ${JSON.stringify(c.model_type)} does not match architecture ${name}`, ARCH_NAMES.map((n) => `${n} with model_type ${ARCHS[n].modelType}`).join(', '));
    }
  } else {
    const found = ARCH_NAMES.find((n) => ARCHS[n].modelType === c.model_type);
    if (!found) unsupported(`model_type is ${JSON.stringify(c.model_type)} and architectures is absent`, `model_type ${ARCH_NAMES.map((n) => ARCHS[n].modelType).join(', ')}`);
    name = found!;
  }
  const { arch } = ARCHS[name];

  // Fields whose semantics we do not implement.
  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') unsupported(`hidden_act is ${JSON.stringify(act)}`, 'hidden_act silu');
  if (c.quantization_config != null) {
    const method = (c.quantization_config as Record<string, unknown>).quant_method;
    unsupported(`quantization_config (quant_method ${JSON.stringify(method)}) marks a pre-quantised checkpoint`, 'unquantised F32/F16/BF16 weights (entrotune quantises them itself on load)');
  }
  if (arch === 'llama' && bool('mlp_bias', false)) unsupported('mlp_bias is true', 'mlp_bias false');
  // transformers' attention_bias puts a bias on q, k, v AND o_proj (LlamaAttention, Qwen3Attention);
  // the model has no o_proj bias, so such a checkpoint would be computed wrongly: refuse it.
  if (arch !== 'qwen2' && bool('attention_bias', false)) {
    unsupported('attention_bias is true (biases on q/k/v/o_proj)', 'attention_bias false for Llama and Qwen3 (Qwen2 has its q/k/v biases built in)');
  }
  if (arch !== 'llama' && bool('use_sliding_window', false)) {
    unsupported('use_sliding_window is true (sliding-window attention)', 'use_sliding_window false or absent (full causal attention in every layer)');
  }

  // Sizes.
  const V = posInt('vocab_size');
  const C = posInt('hidden_size');
  const I = posInt('intermediate_size');
  const L = posInt('num_hidden_layers');
  const NH = posInt('num_attention_heads');
  const NKV = posInt('num_key_value_heads', NH); // absent: plain multi-head attention
  if (NH % NKV !== 0) {
    unsupported(`num_attention_heads ${NH} is not a multiple of num_key_value_heads ${NKV}`, 'num_key_value_heads dividing num_attention_heads (multi-head, grouped-query or multi-query attention)');
  }
  let HS: number;
  if (c.head_dim != null) HS = posInt('head_dim');
  else if (arch === 'qwen3') HS = corrupt('head_dim', 'a positive integer (Qwen3 configs give head_dim explicitly)');
  else if (C % NH !== 0) HS = unsupported(`hidden_size ${C} is not a multiple of num_attention_heads ${NH} and head_dim is absent`, 'head_dim given, or hidden_size divisible by num_attention_heads');
  else HS = C / NH;

  // RoPE. transformers ≥ 5 may put theta and scaling under rope_parameters; older configs use
  // rope_theta + rope_scaling. A rope type "default" is plain RoPE.
  const rp = c.rope_parameters;
  const rpo = rp !== null && typeof rp === 'object' && !Array.isArray(rp) ? (rp as Record<string, unknown>) : null;
  let ropeTheta: number;
  if (rpo && rpo.rope_theta !== undefined) {
    if (typeof rpo.rope_theta !== 'number' || !(rpo.rope_theta > 0)) corrupt('rope_parameters', 'an object with a positive rope_theta');
    ropeTheta = rpo.rope_theta as number;
  } else {
    ropeTheta = posNum('rope_theta', 10000);
  }
  const ropeScaling = parseRopeScaling(c.rope_scaling ?? rpo, file, unsupported);

  // Token ids: eos may be one id or a list (Llama 3 base models list several).
  const bos = c.bos_token_id ?? null;
  if (bos !== null && !(Number.isSafeInteger(bos) && (bos as number) >= 0)) corrupt('bos_token_id', 'a token id or null');
  const eosRaw = c.eos_token_id ?? [];
  const eosTokenIds = Array.isArray(eosRaw) ? eosRaw : [eosRaw];
  if (!eosTokenIds.every((e) => Number.isSafeInteger(e) && e >= 0)) corrupt('eos_token_id', 'a token id or a list of token ids');

  const dtype = c.torch_dtype ?? c.dtype ?? 'float32'; // transformers ≥ 5 writes "dtype"
  if (typeof dtype !== 'string') corrupt('torch_dtype', 'a string such as "bfloat16"');

  return {
    arch,
    V,
    C,
    I,
    L,
    NH,
    NKV,
    HS,
    eps: posNum('rms_norm_eps', 1e-6),
    ropeTheta,
    ropeScaling,
    // Qwen2 always has q/k/v biases and no o_proj bias; Llama/Qwen3 attention_bias is refused above.
    qkvBias: arch === 'qwen2',
    qkNorm: arch === 'qwen3',
    tieEmbeddings: bool('tie_word_embeddings', false),
    maxPositions: posInt('max_position_embeddings', ARCHS[name].maxPositions),
    bosTokenId: bos as number | null,
    eosTokenIds: eosTokenIds as number[],
    torchDtype: dtype as string,
  };
}

/** rope_scaling: null / absent / type "default" → null; "llama3" → its four numbers; anything else refused. */
function parseRopeScaling(raw: unknown, file: string, unsupported: (detail: string, supported: string) => never): ModelConfig['ropeScaling'] {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new CorruptFileError(file, `rope_scaling is ${JSON.stringify(raw)}, expected null or an object`, 'use the config.json published with the model');
  const s = raw as Record<string, unknown>;
  const type = s.rope_type ?? s.type ?? 'default'; // "type" is the pre-4.45 spelling
  if (type === 'default') return null;
  if (type !== 'llama3') unsupported(`rope_scaling type ${JSON.stringify(type)} is not implemented`, 'rope_scaling null, rope_type "default", or rope_type "llama3"');
  const num = (k: string): number => {
    const v = s[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new CorruptFileError(file, `rope_scaling.${k} is ${JSON.stringify(v)}, expected a positive number`, 'use the config.json published with the model');
    return v;
  };
  return {
    type: 'llama3',
    factor: num('factor'),
    lowFreqFactor: num('low_freq_factor'),
    highFreqFactor: num('high_freq_factor'),
    originalMaxPositions: num('original_max_position_embeddings'),
  };
}

/**
 * Hugging Face tensor names and shapes ([out, in] for projections) that the checkpoint must contain,
 * in the order the loader reads them.
 */
export function weightShapes(cfg: ModelConfig): Map<string, number[]> {
  const { V, C, I, L, NH, NKV, HS } = cfg;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [V, C]);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    m.set(`${p}input_layernorm.weight`, [C]);
    m.set(`${p}self_attn.q_proj.weight`, [NH * HS, C]);
    if (cfg.qkvBias) m.set(`${p}self_attn.q_proj.bias`, [NH * HS]);
    m.set(`${p}self_attn.k_proj.weight`, [NKV * HS, C]);
    if (cfg.qkvBias) m.set(`${p}self_attn.k_proj.bias`, [NKV * HS]);
    m.set(`${p}self_attn.v_proj.weight`, [NKV * HS, C]);
    if (cfg.qkvBias) m.set(`${p}self_attn.v_proj.bias`, [NKV * HS]);
    m.set(`${p}self_attn.o_proj.weight`, [C, NH * HS]);
    if (cfg.qkNorm) {
      m.set(`${p}self_attn.q_norm.weight`, [HS]); // one RMSNorm weight shared by all heads
      m.set(`${p}self_attn.k_norm.weight`, [HS]);
    }
    m.set(`${p}post_attention_layernorm.weight`, [C]);
    m.set(`${p}mlp.gate_proj.weight`, [I, C]);
    m.set(`${p}mlp.up_proj.weight`, [I, C]);
    m.set(`${p}mlp.down_proj.weight`, [C, I]);
  }
  m.set('model.norm.weight', [C]);
  if (!cfg.tieEmbeddings) m.set('lm_head.weight', [V, C]);
  return m;
}

/** Number of parameters, counting a tied embedding/lm_head once (as Hugging Face model cards do). */
export function parameterCount(cfg: ModelConfig): number {
  let n = 0;
  for (const shape of weightShapes(cfg).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}
