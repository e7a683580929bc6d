// fromHfConfig on the config.json of published models and of the PyTorch fixtures: the fields the model
// code reads, the tensor list the checkpoint must contain, parameter counts against the published ones,
// and every unsupported feature refused with an UnsupportedModelError that lists what is supported.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CorruptFileError, UnsupportedModelError } from '../../src/errors';
import { fromHfConfig, parameterCount, weightShapes, type ModelConfig } from '../../src/model/config';

const CONFIGS = new URL('../fixtures/configs/', import.meta.url);
const PYTORCH = new URL('../fixtures/pytorch/', import.meta.url);
const published = (name: string) => JSON.parse(readFileSync(new URL(`${name}.json`, CONFIGS), 'utf8')) as Record<string, unknown>;
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`${name}/config.json`, PYTORCH), 'utf8')) as Record<string, unknown>;
const PUBLISHED = readdirSync(CONFIGS).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
const FIXTURES = ['llama-tiny', 'llama3-scaled-tied', 'qwen2-tiny', 'qwen3-tiny'];

/** The thrown error, checked to be an UnsupportedModelError. */
function unsupported(json: unknown): UnsupportedModelError {
  try {
    fromHfConfig(json);
  } catch (e) {
    expect(e).toBeInstanceOf(UnsupportedModelError);
    return e as UnsupportedModelError;
  }
  throw new Error('expected an UnsupportedModelError');
}

describe('fromHfConfig on published configs', () => {
  it('reads every file in tests/fixtures/configs', () => {
    expect(PUBLISHED).toEqual([
      'Llama-3.2-1B-Instruct', 'Llama-3.2-3B-Instruct', 'Qwen2.5-0.5B-Instruct', 'Qwen2.5-1.5B-Instruct',
      'Qwen2.5-3B-Instruct', 'Qwen3-0.6B', 'SmolLM2-135M-Instruct', 'SmolLM2-360M-Instruct',
    ]);
    for (const name of PUBLISHED) {
      const cfg = fromHfConfig(published(name), `${name}.json`);
      expect(cfg.NH % cfg.NKV, name).toBe(0);
      expect(cfg.HS % 2, name).toBe(0); // RoPE rotates pairs
      expect(cfg.tieEmbeddings, name).toBe(true); // all these small models tie lm_head
      expect(cfg.eosTokenIds.length, name).toBe(1);
    }
  });

  it('Qwen3-0.6B: explicit head_dim 128 (NH·HS = 2048 ≠ C = 1024), q/k norms, no biases', () => {
    const cfg = fromHfConfig(published('Qwen3-0.6B'));
    expect(cfg).toMatchObject({ arch: 'qwen3', V: 151936, C: 1024, I: 3072, L: 28, NH: 16, NKV: 8, HS: 128 });
    expect(cfg).toMatchObject({ qkNorm: true, qkvBias: false, tieEmbeddings: true, ropeScaling: null, ropeTheta: 1e6, eps: 1e-6 });
    const w = weightShapes(cfg);
    expect(w.get('model.layers.0.self_attn.q_proj.weight')).toEqual([2048, 1024]);
    expect(w.get('model.layers.0.self_attn.o_proj.weight')).toEqual([1024, 2048]);
    expect(w.get('model.layers.27.self_attn.k_norm.weight')).toEqual([128]);
    expect(w.has('lm_head.weight')).toBe(false);
  });

  it('Llama-3.2-1B: llama3 RoPE scaling with factor 32', () => {
    const cfg = fromHfConfig(published('Llama-3.2-1B-Instruct'));
    expect(cfg).toMatchObject({ arch: 'llama', V: 128256, C: 2048, I: 8192, L: 16, NH: 32, NKV: 8, HS: 64, eps: 1e-5, ropeTheta: 500000 });
    expect(cfg.ropeScaling).toEqual({ type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
    expect(cfg).toMatchObject({ qkvBias: false, qkNorm: false, maxPositions: 131072, bosTokenId: 128000, eosTokenIds: [128009], torchDtype: 'bfloat16' });
  });

  it('Qwen2.5: q/k/v biases, no o_proj bias', () => {
    for (const name of ['Qwen2.5-0.5B-Instruct', 'Qwen2.5-1.5B-Instruct', 'Qwen2.5-3B-Instruct']) {
      const cfg = fromHfConfig(published(name));
      expect(cfg, name).toMatchObject({ arch: 'qwen2', qkvBias: true, qkNorm: false, ropeScaling: null });
      const w = weightShapes(cfg);
      expect(w.get('model.layers.0.self_attn.k_proj.bias')).toEqual([cfg.NKV * cfg.HS]);
      expect(w.has('model.layers.0.self_attn.o_proj.bias')).toBe(false);
    }
    expect(fromHfConfig(published('Qwen2.5-0.5B-Instruct'))).toMatchObject({ C: 896, NH: 14, NKV: 2, HS: 64 });
  });

  it('SmolLM2: Llama without scaling, 9 heads over 3 KV heads', () => {
    expect(fromHfConfig(published('SmolLM2-135M-Instruct'))).toMatchObject({ arch: 'llama', C: 576, NH: 9, NKV: 3, HS: 64, L: 30, ropeScaling: null, qkvBias: false });
  });

  it('parameterCount matches the published sizes (tied embeddings counted once)', () => {
    const count = (name: string) => parameterCount(fromHfConfig(published(name)));
    // Qwen2.5-0.5B: 0.49B on its model card; safetensors total 494,032,768.
    expect(Math.abs(count('Qwen2.5-0.5B-Instruct') / 494e6 - 1)).toBeLessThan(0.01);
    expect(count('Qwen2.5-0.5B-Instruct')).toBe(494032768);
    expect(Math.abs(count('Qwen2.5-1.5B-Instruct') / 1.54e9 - 1)).toBeLessThan(0.01);
    expect(Math.abs(count('Qwen2.5-3B-Instruct') / 3.09e9 - 1)).toBeLessThan(0.01);
    expect(Math.abs(count('Llama-3.2-1B-Instruct') / 1.24e9 - 1)).toBeLessThan(0.01);
    expect(Math.abs(count('Llama-3.2-3B-Instruct') / 3.21e9 - 1)).toBeLessThan(0.01);
    expect(Math.abs(count('SmolLM2-135M-Instruct') / 134.5e6 - 1)).toBeLessThan(0.01);
    expect(Math.abs(count('SmolLM2-360M-Instruct') / 361.8e6 - 1)).toBeLessThan(0.01);
    // Qwen3-0.6B: 0.44B non-embedding + 151936 × 1024 embedding.
    expect(Math.abs(count('Qwen3-0.6B') / (0.44e9 + 151936 * 1024) - 1)).toBeLessThan(0.01);
  });
});

describe('fromHfConfig on the PyTorch fixture configs', () => {
  const expected: Record<string, Partial<ModelConfig>> = {
    'llama-tiny': { arch: 'llama', V: 384, C: 64, I: 160, L: 2, NH: 4, NKV: 2, HS: 16, qkvBias: false, qkNorm: false, tieEmbeddings: false, ropeScaling: null, torchDtype: 'float32' },
    'llama3-scaled-tied': { arch: 'llama', V: 320, NH: 4, NKV: 1, HS: 16, tieEmbeddings: true, ropeTheta: 500000, ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 } },
    'qwen2-tiny': { arch: 'qwen2', V: 400, C: 96, NH: 6, NKV: 2, HS: 16, qkvBias: true, qkNorm: false, tieEmbeddings: true },
    'qwen3-tiny': { arch: 'qwen3', V: 352, C: 64, L: 3, NH: 4, NKV: 2, HS: 24, qkvBias: false, qkNorm: true, tieEmbeddings: true, torchDtype: 'float16' },
  };
  for (const name of FIXTURES) {
    it(name, () => {
      const cfg = fromHfConfig(fixture(name));
      expect(cfg).toMatchObject({ ...expected[name], eps: 1e-6, maxPositions: 256, bosTokenId: 1, eosTokenIds: [2] });
      // Tensor count: embed + norm (+ lm_head) + per layer 2 norms, 7 projections, 3 biases, 2 q/k norms.
      const perLayer = 9 + (cfg.qkvBias ? 3 : 0) + (cfg.qkNorm ? 2 : 0);
      expect(weightShapes(cfg).size).toBe(2 + (cfg.tieEmbeddings ? 0 : 1) + cfg.L * perLayer);
    });
  }
});

describe('fromHfConfig variants', () => {
  const base = () => published('SmolLM2-135M-Instruct');

  it('applies transformers defaults and accepts alternative spellings', () => {
    const c = base();
    delete c.num_key_value_heads;
    delete c.rope_scaling;
    delete c.architectures; // model_type alone is enough
    delete c.hidden_act;
    c.eos_token_id = [2, 7];
    c.bos_token_id = null;
    const cfg = fromHfConfig(c);
    expect(cfg).toMatchObject({ arch: 'llama', NKV: 9, ropeScaling: null, bosTokenId: null, eosTokenIds: [2, 7] });
    expect(fromHfConfig({ ...base(), rope_scaling: { rope_type: 'default' } }).ropeScaling).toBeNull();
    // "type" is the pre-4.45 key.
    const old = published('Llama-3.2-1B-Instruct');
    old.rope_scaling = { type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
    expect(fromHfConfig(old).ropeScaling?.factor).toBe(32);
    // transformers ≥ 5: rope_parameters and dtype.
    const v5 = published('Llama-3.2-1B-Instruct');
    v5.rope_parameters = { rope_type: 'llama3', rope_theta: 500000, factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
    delete v5.rope_scaling;
    delete v5.rope_theta;
    v5.dtype = v5.torch_dtype;
    delete v5.torch_dtype;
    expect(fromHfConfig(v5)).toMatchObject({ ropeTheta: 500000, torchDtype: 'bfloat16', ropeScaling: { type: 'llama3', factor: 32 } });
    // Qwen2.5 configs carry use_sliding_window: false; that is fine.
    expect(fromHfConfig({ ...published('Qwen2.5-0.5B-Instruct'), use_sliding_window: false, sliding_window: 32768 }).arch).toBe('qwen2');
  });

  it('refuses other architectures, listing the supported ones', () => {
    const e = unsupported({ ...base(), architectures: ['MistralForCausalLM'], model_type: 'mistral' });
    expect(e.message).toMatch(/config\.json: architectures\[0\] is "MistralForCausalLM"; supported: architectures LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM/);
    expect(e.message).toMatch(/HINT: pick a Llama, Qwen2/);
    expect(unsupported({ ...base(), architectures: undefined, model_type: 'gemma2' }).message).toMatch(/model_type is "gemma2".*supported: model_type llama, qwen2, qwen3/);
    expect(unsupported({ ...base(), model_type: 'qwen2' }).message).toMatch(/model_type "qwen2" does not match architecture LlamaForCausalLM/);
  });

  it('refuses RoPE scaling other than llama3', () => {
    for (const type of ['yarn', 'linear', 'dynamic', 'longrope']) {
      const e = unsupported({ ...published('Qwen2.5-0.5B-Instruct'), rope_scaling: { type, factor: 4, original_max_position_embeddings: 32768 } });
      expect(e.message).toContain(`rope_scaling type "${type}" is not implemented; supported: rope_scaling null, rope_type "default", or rope_type "llama3"`);
    }
  });

  it('refuses activations other than silu', () => {
    expect(unsupported({ ...base(), hidden_act: 'gelu' }).message).toMatch(/hidden_act is "gelu"; supported: hidden_act silu/);
  });

  it('refuses sliding-window attention', () => {
    expect(unsupported({ ...published('Qwen2.5-0.5B-Instruct'), use_sliding_window: true }).message).toMatch(/use_sliding_window is true.*supported: use_sliding_window false or absent/);
    expect(unsupported({ ...published('Qwen3-0.6B'), use_sliding_window: true }).message).toMatch(/use_sliding_window/);
  });

  it('refuses NH not divisible by NKV', () => {
    expect(unsupported({ ...base(), num_key_value_heads: 4 }).message).toMatch(/num_attention_heads 9 is not a multiple of num_key_value_heads 4; supported: num_key_value_heads dividing num_attention_heads/);
  });

  it('refuses MLP biases, attention_bias (it also biases o_proj) and pre-quantised checkpoints', () => {
    expect(unsupported({ ...base(), mlp_bias: true }).message).toMatch(/mlp_bias is true; supported: mlp_bias false/);
    expect(unsupported({ ...base(), attention_bias: true }).message).toMatch(/attention_bias is true.*o_proj.*supported: attention_bias false/);
    expect(unsupported({ ...published('Qwen3-0.6B'), attention_bias: true }).message).toMatch(/attention_bias/);
    expect(unsupported({ ...base(), quantization_config: { quant_method: 'gptq', bits: 4 } }).message).toMatch(/quant_method "gptq".*supported: unquantised/);
  });

  it('calls malformed values a corrupt config.json, naming the field', () => {
    expect(() => fromHfConfig('nope', 'x/config.json')).toThrow(CorruptFileError);
    expect(() => fromHfConfig({ ...base(), hidden_size: '576' }, 'x/config.json')).toThrow(/x\/config\.json: hidden_size is "576", expected a positive integer/);
    expect(() => fromHfConfig({ ...base(), num_hidden_layers: 0 })).toThrow(/num_hidden_layers is 0/);
    expect(() => fromHfConfig({ ...base(), intermediate_size: 1.5 })).toThrow(CorruptFileError);
    const v = base();
    delete v.vocab_size;
    expect(() => fromHfConfig(v)).toThrow(/vocab_size is undefined, expected a positive integer/);
    const q3 = published('Qwen3-0.6B');
    delete q3.head_dim;
    expect(() => fromHfConfig(q3)).toThrow(/head_dim/);
    expect(() => fromHfConfig({ ...published('Llama-3.2-1B-Instruct'), rope_scaling: { rope_type: 'llama3', factor: 32 } })).toThrow(/rope_scaling\.low_freq_factor is undefined/);
    expect(() => fromHfConfig({ ...base(), eos_token_id: 'two' })).toThrow(/eos_token_id/);
  });
});
