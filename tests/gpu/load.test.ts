// Loading over HTTP from a real local server, generation with the chat template, and every kind of
// bad input giving its typed error with nothing left in the cache.
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptFileError, DownloadError, loadModel, memoryCache, UnsupportedModelError, type ModelCache } from '../../src/index';
import { memorySource } from '../../src/model/bytes';
import { writeSafetensors } from '../../src/model/safetensors-write';
import { makeTokenizerFiles, SAMPLE_CORPUS } from '../fixtures/make-tokenizer';
import { getGpu } from './gpu';

const TINY = join(__dirname, '../fixtures/tiny');
let server: Server;
let base = '';
const requests: string[] = [];
/** Per-test overrides: URL path → body, or an HTTP status to answer with. */
const overrides = new Map<string, Uint8Array | string | number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = decodeURIComponent(req.url!.split('?')[0]);
    requests.push(`${req.method} ${path}`);
    let body: Uint8Array | string | number | undefined = overrides.get(path);
    if (typeof body === 'number') {
      res.writeHead(body).end();
      return;
    }
    if (body === undefined) {
      try {
        body = readFileSync(join(TINY, path));
      } catch {
        res.writeHead(404).end();
        return;
      }
    }
    const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
    res.writeHead(200, { 'content-length': bytes.byteLength });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
});
afterAll(() => server.close());

function header(bytes: Uint8Array): { json: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { json: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}

function withHeader(json: unknown, data: Uint8Array, claimedLength?: bigint): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(json));
  const out = new Uint8Array(8 + h.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, claimedLength ?? BigInt(h.byteLength), true);
  out.set(h, 8);
  out.set(data, 8 + h.byteLength);
  return out;
}

async function cachedFiles(cache: ModelCache): Promise<string[]> {
  return (await cache.list()).map((e) => e.key).filter((k) => !k.endsWith('.entrotune.json'));
}

describe('loading a model over HTTP', () => {
  it('reports progress, generates with the chat template, and loads again from the cache without a request', async () => {
    const gpu = await getGpu();
    const cache = memoryCache();
    const events: { phase: string; bytes?: number; total?: number; done?: number }[] = [];
    requests.length = 0;
    const model = await loadModel(gpu, `${base}/llama`, { cache, onProgress: (p) => events.push(p as never) });
    const downloads = events.filter((e) => e.phase === 'download');
    expect(downloads.length).toBeGreaterThan(0);
    expect(downloads.at(-1)!.bytes).toBe(downloads.at(-1)!.total);
    expect(events.filter((e) => e.phase === 'weights').at(-1)!.done).toBe(model.cfg.L * 9 + 3);
    expect(model.report.quant).toBe('none'); // tiny models load exactly
    const out = await model.generate('What is 2 + 2?', { maxNewTokens: 5, stopTokens: [] });
    expect(out.ids.length).toBe(5);
    expect(out.promptTokens).toBe(model.tokenizer!.encode(model.tokenizer!.applyChatTemplate([{ role: 'user', content: 'What is 2 + 2?' }], { addGenerationPrompt: true })).length);
    model.dispose();
    requests.length = 0;
    const again = await loadModel(gpu, `${base}/llama`, { cache });
    expect(requests).toEqual([]);
    again.dispose();
  });

  it('loads the BF16 (qwen2) and F16 (qwen3) tiny models and generates the same greedy tokens twice', async () => {
    const gpu = await getGpu();
    for (const name of ['qwen2', 'qwen3']) {
      const model = await loadModel(gpu, `${base}/${name}`, { quant: 'nf4' });
      const a = await model.generate([1, 2, 3, 4], { maxNewTokens: 4, stopTokens: [] });
      const b = await model.generate([1, 2, 3, 4], { maxNewTokens: 4, stopTokens: [] });
      expect(a.ids).toEqual(b.ids);
      model.dispose();
    }
  });
});

describe('bad inputs give typed errors and leave nothing cached', () => {
  const model = () => readFileSync(join(TINY, 'llama/model.safetensors'));
  const cases: [string, () => void, new (...a: never[]) => Error, RegExp][] = [
    ['a truncated file', () => overrides.set('/bad/model.safetensors', model().subarray(0, 40_000)), CorruptFileError, /model\.safetensors/],
    ['a header claiming a huge length', () => { const { json, data } = header(model()); overrides.set('/bad/model.safetensors', withHeader(json, data, 2n ** 40n)); }, CorruptFileError, /header/i],
    ['offsets out of range', () => { const { json, data } = header(model()); json['model.norm.weight'].data_offsets = [data.byteLength - 8, data.byteLength + 248]; overrides.set('/bad/model.safetensors', withHeader(json, data)); }, CorruptFileError, /model\.safetensors: .*bytes/],
    ['an unknown dtype', () => { const { json, data } = header(model()); json['model.norm.weight'].dtype = 'Q4_K'; overrides.set('/bad/model.safetensors', withHeader(json, data)); }, CorruptFileError, /Q4_K/],
    ['a wrong shape', () => { const cfg = JSON.parse(readFileSync(join(TINY, 'llama/config.json'), 'utf8')); cfg.intermediate_size = 96; overrides.set('/bad/config.json', JSON.stringify(cfg)); }, CorruptFileError, /shape/],
    ['a tokenizer from a model with a larger vocabulary', () => overrides.set('/bad/tokenizer.json', JSON.stringify(makeTokenizerFiles(SAMPLE_CORPUS, 512)['tokenizer.json'])), CorruptFileError, /^tokenizer\.json: has 512 tokens, but the model's embedding has 384 rows/],
    ['an unsupported architecture', () => { const cfg = JSON.parse(readFileSync(join(TINY, 'llama/config.json'), 'utf8')); cfg.architectures = ['MistralForCausalLM']; cfg.model_type = 'mistral'; overrides.set('/bad/config.json', JSON.stringify(cfg)); }, UnsupportedModelError, /MistralForCausalLM.*supported: architectures LlamaForCausalLM/],
  ];
  for (const [what, setup, cls, message] of cases) {
    it(what, async () => {
      const gpu = await getGpu();
      overrides.clear();
      for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'model.safetensors']) {
        overrides.set(`/bad/${f}`, readFileSync(join(TINY, 'llama', f)));
      }
      setup();
      const cache = memoryCache();
      requests.length = 0;
      const err = await loadModel(gpu, `${base}/bad`, { cache }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(cls);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain('HINT:');
      expect(await cachedFiles(cache)).toEqual([]);
      if (what === 'an unsupported architecture') expect(requests.filter((r) => r.includes('safetensors'))).toEqual([]);
      overrides.clear();
    });
  }

  it('a sharded model whose index names a missing shard', async () => {
    const gpu = await getGpu();
    overrides.clear();
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) overrides.set(`/bad/${f}`, readFileSync(join(TINY, 'llama', f)));
    overrides.set('/bad/model.safetensors.index.json', JSON.stringify({ metadata: {}, weight_map: { 'model.norm.weight': 'model-00001-of-00002.safetensors', 'lm_head.weight': 'model-00002-of-00002.safetensors' } }));
    overrides.set('/bad/model-00001-of-00002.safetensors', model());
    const cache = memoryCache();
    const err = await loadModel(gpu, `${base}/bad`, { cache }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/^model-00002-of-00002\.safetensors: not found \(HTTP 404\)/);
    expect((err as DownloadError).transient).toBe(false);
    expect(await cachedFiles(cache)).toEqual([]); // not config.json, the tokenizer or the index either
    overrides.clear();
  });

  it('a busy server keeps the finished files, so the next try resumes', async () => {
    const gpu = await getGpu();
    overrides.clear();
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) overrides.set(`/busy/${f}`, readFileSync(join(TINY, 'llama', f)));
    overrides.set('/busy/model.safetensors', 503);
    const cache = memoryCache();
    const err = await loadModel(gpu, `${base}/busy`, { cache }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/^model\.safetensors: the server is busy or failing \(HTTP 503/);
    expect((err as DownloadError).transient).toBe(true);
    expect((await cachedFiles(cache)).map((k) => k.split('/').at(-1)).sort()).toEqual(['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']);
    overrides.set('/busy/model.safetensors', model());
    requests.length = 0;
    const loaded = await loadModel(gpu, `${base}/busy`, { cache });
    expect(requests.filter((r) => r.startsWith('GET')).map((r) => r.split('/').at(-1))).toEqual(['model.safetensors']);
    loaded.dispose();
    overrides.clear();
  });

  it('a model already in the cache stays there when a load of it fails for another reason', async () => {
    const gpu = await getGpu();
    const cache = memoryCache();
    (await loadModel(gpu, `${base}/llama`, { cache })).dispose();
    const before = await cache.list();
    const err = await loadModel(gpu, `${base}/llama`, { cache, adapter: `${base}/no-such-adapter` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(await cache.list()).toEqual(before);
  });

  it('a missing file is a DownloadError naming it', async () => {
    const gpu = await getGpu();
    const err = await loadModel(gpu, `${base}/nothing-here`, { cache: memoryCache() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/config\.json/);
  });
});

describe('adapters that do not fit the model give typed errors and leave no GPU memory behind', () => {
  const P = 'base_model.model.model.layers';
  const pair = (l: number) => [
    { name: `${P}.${l}.self_attn.q_proj.lora_A.weight`, shape: [4, 64] },
    { name: `${P}.${l}.self_attn.q_proj.lora_B.weight`, shape: [64, 4] },
  ];
  const weights = (tensors: { name: string; shape: number[] }[]) => memorySource('adapter_model.safetensors', writeSafetensors(
    tensors.map((t) => ({ ...t, dtype: 'F32' as const, data: new Float32Array(t.shape[0] * t.shape[1]).fill(0.01) })), { format: 'pt' }));
  const config = { r: 4, lora_alpha: 8, target_modules: ['q_proj'] };
  const cases: [string, unknown, { name: string; shape: number[] }[], new (...a: never[]) => Error, RegExp][] = [
    ['a layer the model does not have', config, [...pair(0), ...pair(1), ...pair(9)], CorruptFileError, /^adapter_model\.safetensors: 2 tensor\(s\) this model has no place for, e\.g\. base_model\.model\.model\.layers\.9\.self_attn\.q_proj\.lora_A\.weight \(the model has 2 layers/],
    ['modules saved whole beside the LoRA weights', { ...config, modules_to_save: ['lm_head'] }, [...pair(0), ...pair(1)], UnsupportedModelError, /modules_to_save \(\["lm_head"\]\) is not supported/],
    ['a dropout that is no probability', { ...config, lora_dropout: 1.5 }, [...pair(0), ...pair(1)], CorruptFileError, /lora_dropout must be a number in \[0, 1\), got 1\.5/],
    ['a tensor missing', config, [...pair(0), pair(1)[0]], CorruptFileError, /missing base_model\.model\.model\.layers\.1\.self_attn\.q_proj\.lora_B\.weight/],
  ];
  for (const [what, cfg, tensors, cls, message] of cases) {
    it(what, async () => {
      const gpu = await getGpu();
      const before = gpu.memory.current;
      const err = await loadModel(gpu, { kind: 'dir', path: join(TINY, 'llama') }, { adapter: { config: cfg, weights: weights(tensors) } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(cls);
      expect((err as Error).message).toMatch(message);
      expect(gpu.memory.current).toBe(before);
    });
  }
});
