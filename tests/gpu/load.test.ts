// Loading over HTTP from a real local server, generation with the chat template, and every kind of
// bad input giving its typed error with nothing left in the cache.
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptFileError, DownloadError, loadModel, memoryCache, UnsupportedModelError, type ModelCache } from '../../src/index';
import { getGpu } from './gpu';

const TINY = join(__dirname, '../fixtures/tiny');
let server: Server;
let base = '';
const requests: string[] = [];
/** Per-test overrides: URL path → body (or a function of the original bytes). */
const overrides = new Map<string, Uint8Array | string>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = decodeURIComponent(req.url!.split('?')[0]);
    requests.push(`${req.method} ${path}`);
    let body: Uint8Array | string | undefined = overrides.get(path);
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

  it('a missing file is a DownloadError naming it', async () => {
    const gpu = await getGpu();
    const err = await loadModel(gpu, `${base}/nothing-here`, { cache: memoryCache() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/config\.json/);
  });
});
