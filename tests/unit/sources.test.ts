// Model sources against a real HTTP server on 127.0.0.1 serving small generated model folders
// (JSON files and hand-built safetensors): progress, caching (memory and folder), the errors of
// truncated, missing, gated and corrupt downloads, sharded weights, abort, and the local sources.

import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CorruptFileError, DownloadError, EntrotuneError } from '../../src/errors';
import { memorySource } from '../../src/model/bytes';
import { isDirectorySync, nodeDirCache } from '../../src/model/node-files';
import { checkSafetensors, openModel, type DownloadProgress } from '../../src/model/download';
import { listCachedModels, memoryCache, removeCachedModel, type ModelCache } from '../../src/model/model-cache';
import { memoryFiles, safetensorsFileNames, shardNames, type ModelFiles } from '../../src/model/model-files';
import { parseModelSource, sourceId } from '../../src/model/sources';

// ---------------------------------------------------------------------------------------------------
// Fake models
// ---------------------------------------------------------------------------------------------------

const enc = new TextEncoder();
const json = (v: unknown) => enc.encode(JSON.stringify(v));

/** A valid safetensors file: u64 LE header length, JSON header (space-padded to 8 bytes), F32 data. */
function safetensors(tensors: Record<string, number[] | Float32Array>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, data] of Object.entries(tensors)) {
    header[name] = { dtype: 'F32', shape: [data.length], data_offsets: [offset, offset + data.length * 4] };
    offset += data.length * 4;
  }
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - (text.length % 8)) % 8);
  const out = new Uint8Array(8 + text.length + offset);
  new DataView(out.buffer).setUint32(0, text.length, true);
  out.set(enc.encode(text), 8);
  let at = 8 + text.length;
  for (const data of Object.values(tensors)) {
    out.set(new Uint8Array(Float32Array.from(data).buffer), at);
    at += data.length * 4;
  }
  return out;
}

const BIG = 700_000; // floats: 2.8 MB of weights, so progress spans several events
const weights = safetensors({ 'model.embed_tokens.weight': new Float32Array(BIG).map((_, i) => i % 97), 'model.norm.weight': [1, 2, 3] });
const smallFiles = {
  'config.json': json({ architectures: ['LlamaForCausalLM'], hidden_size: 8, num_hidden_layers: 1 }),
  'tokenizer.json': json({ version: '1.0', model: { type: 'BPE', vocab: { a: 0 }, merges: [] } }),
  'tokenizer_config.json': json({ chat_template: '{{ messages }}' }),
  'generation_config.json': json({ eos_token_id: 2 }),
};
const shard1 = safetensors({ 'model.embed_tokens.weight': [1, 2, 3, 4] });
const shard2 = safetensors({ 'model.norm.weight': [5, 6] });

/** A safetensors file whose header length points past the end of the file. */
const badLength = (() => {
  const b = weights.slice(0, 64);
  new DataView(b.buffer).setUint32(0, 1_000_000, true);
  return b;
})();
/** A safetensors file whose header is not JSON. */
const badJson = (() => {
  const b = weights.slice();
  b[8] = 'X'.charCodeAt(0);
  return b;
})();

type Folder = Record<string, Uint8Array>;
const folders: Record<string, Folder> = {
  single: { ...smallFiles, 'model.safetensors': weights },
  nogen: { 'config.json': smallFiles['config.json'], 'tokenizer.json': smallFiles['tokenizer.json'], 'model.safetensors': shard1 },
  sharded: {
    ...smallFiles,
    'model.safetensors.index.json': json({
      metadata: { total_size: 24 },
      weight_map: { 'model.embed_tokens.weight': 'model-00001-of-00002.safetensors', 'model.norm.weight': 'model-00002-of-00002.safetensors' },
    }),
    'model-00001-of-00002.safetensors': shard1,
    'model-00002-of-00002.safetensors': shard2,
  },
  missingshard: {
    ...smallFiles,
    'model.safetensors.index.json': json({ weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }),
    'model-00001-of-00002.safetensors': shard1,
  },
  noweights: { ...smallFiles },
  truncated: { ...smallFiles, 'model.safetensors': weights },
  corrupt: { ...smallFiles, 'model.safetensors': badLength },
  corruptjson: { ...smallFiles, 'model.safetensors': badJson },
  badconfig: { ...smallFiles, 'config.json': enc.encode('{"hidden_size": 8,') },
  slow: { ...smallFiles, 'model.safetensors': weights },
  gated: { ...smallFiles, 'model.safetensors': weights },
  adapter: { 'adapter_config.json': json({ r: 4, lora_alpha: 8 }), 'adapter_model.safetensors': shard2 },
};

// ---------------------------------------------------------------------------------------------------
// The server: /{folder}/{file} for url sources, /hub/{owner}/{folder}/resolve/{revision}/{file} for the
// Hub (the test's fetch maps https://huggingface.co to it). Every request is logged.
// ---------------------------------------------------------------------------------------------------

let server: Server;
let base = '';
const log: string[] = [];

function serve(req: IncomingMessage, res: ServerResponse): void {
  log.push(`${req.method} ${req.url}`);
  const path = new URL(req.url!, 'http://x').pathname; // still encoded: a revision may hold %2F
  const hub = /^\/hub\/[^/]+\/([^/]+)\/resolve\/[^/]+\/(.+)$/.exec(path);
  const [folderName, file] = (hub ?? /^\/([^/]+)\/(.+)$/.exec(path) ?? []).slice(1).map(decodeURIComponent);
  const folder = folders[folderName ?? ''];
  if (folderName === 'gated') {
    res.writeHead(401).end('gated');
    return;
  }
  const body = folder?.[file ?? ''];
  if (!body) {
    res.writeHead(404).end('not found');
    return;
  }
  res.writeHead(200, { 'content-length': body.byteLength, 'content-type': 'application/octet-stream' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  if (folderName === 'truncated' && file === 'model.safetensors') {
    // Announce the whole file, send half, then cut the connection.
    res.write(body.subarray(0, body.byteLength >> 1), () => setTimeout(() => res.destroy(), 20));
    return;
  }
  if (folderName === 'slow' && file === 'model.safetensors') {
    let at = 0;
    const tick = () => {
      if (res.destroyed) return;
      const n = Math.min(64 << 10, body.byteLength - at);
      res.write(body.subarray(at, at + n));
      at += n;
      if (at < body.byteLength) setTimeout(tick, 30);
      else res.end();
    };
    tick();
    return;
  }
  res.end(body);
}

/** fetch with the Hub's address pointed at the test server. */
const hubFetch: typeof fetch = (input, init) => fetch(String(input).replace('https://huggingface.co/', `${base}/hub/`), init);

beforeAll(async () => {
  server = createServer(serve);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  log.length = 0;
});

const url = (folder: string) => ({ kind: 'url' as const, baseUrl: `${base}/${folder}` });

/** Whether a file holds exactly `expected` (compared here: vitest's toEqual walks MB arrays slowly). */
async function holds(files: ModelFiles, name: string, expected: Uint8Array): Promise<boolean> {
  const src = await files.bytes(name);
  return src.size === expected.byteLength && Buffer.from(await src.read(0, src.size)).equals(expected);
}

async function cacheKeys(cache: ModelCache): Promise<string[]> {
  return (await cache.list()).map((e) => e.key);
}

/** Every file under a folder, recursively (to see leftovers of a failed write). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath ?? e.path, e.name));
  return out;
}

function checkProgress(events: DownloadProgress[], expectedTotal: number): void {
  expect(events.length).toBeGreaterThan(2);
  for (let i = 1; i < events.length; i++) {
    expect(events[i].bytes).toBeGreaterThanOrEqual(events[i - 1].bytes);
    expect(events[i].total).toBeGreaterThanOrEqual(events[i - 1].total);
    if (events[i].file === events[i - 1].file) expect(events[i].fileBytes).toBeGreaterThanOrEqual(events[i - 1].fileBytes);
  }
  for (const e of events) {
    expect(e.bytes).toBeLessThanOrEqual(e.total);
    if (e.fileTotal !== null) expect(e.fileBytes).toBeLessThanOrEqual(e.fileTotal);
  }
  const last = events[events.length - 1];
  expect(last.bytes).toBe(expectedTotal);
  expect(last.total).toBe(expectedTotal);
}

// ---------------------------------------------------------------------------------------------------

describe('openModel over HTTP', () => {
  it('downloads a model with monotonic progress, then serves a second open from the memory cache with no request', async () => {
    const cache = memoryCache();
    const events: DownloadProgress[] = [];
    const files = await openModel(url('single'), { cache, onProgress: (p) => events.push(p) });
    const sum = Object.values(folders.single).reduce((s, b) => s + b.byteLength, 0);
    checkProgress(events, sum);
    // The weights' size is known (HEAD) before their first byte arrives.
    const firstWeights = events.find((e) => e.file === 'model.safetensors')!;
    expect(firstWeights.total).toBe(sum);
    expect(firstWeights.fileTotal).toBe(weights.byteLength);

    expect(await files.json('config.json')).toEqual(JSON.parse(new TextDecoder().decode(smallFiles['config.json'])));
    expect(await holds(files, 'model.safetensors', weights)).toBe(true);
    expect(await safetensorsFileNames(files)).toEqual(['model.safetensors']);
    expect(await files.has('generation_config.json')).toBe(true);
    expect(files.list()).toBeNull();

    log.length = 0;
    const again = await openModel(url('single'), { cache, onProgress: () => expect.fail('nothing to download') });
    expect(await again.json('tokenizer.json')).toBeTruthy();
    expect(await holds(again, 'model.safetensors', weights)).toBe(true);
    expect(await safetensorsFileNames(again)).toEqual(['model.safetensors']);
    expect(await again.has('model.safetensors.index.json')).toBe(false);
    expect(log).toEqual([]);

    // A file outside the set is looked up on demand: one HEAD.
    expect(await again.has('special_tokens_map.json')).toBe(false);
    expect(log).toEqual([`HEAD /single/special_tokens_map.json`]);
  });

  it('serves a second open from a folder cache (a new instance on the same folder) with no request', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'entrotune-cache-'));
    try {
      const source = { kind: 'hub' as const, repo: 'test/single' };
      await openModel(source, { cache: nodeDirCache(dir), fetch: hubFetch });
      expect(log).toContain('GET /hub/test/single/resolve/main/config.json');
      log.length = 0;
      const files = await openModel(source, { cache: nodeDirCache(dir), fetch: hubFetch });
      expect(await holds(files, 'model.safetensors', weights)).toBe(true);
      expect(await files.json('tokenizer_config.json')).toEqual({ chat_template: '{{ messages }}' });
      expect(log).toEqual([]);

      const models = await listCachedModels(nodeDirCache(dir));
      expect(models).toHaveLength(1);
      expect(models[0]).toMatchObject({ sourceId: 'hub/test--single', revision: 'main', source, complete: true });
      expect(models[0].files).toEqual(Object.keys(folders.single).sort());
      expect(models[0].bytes).toBeGreaterThan(weights.byteLength);

      await removeCachedModel(nodeDirCache(dir), sourceId(source));
      expect(await listCachedModels(nodeDirCache(dir))).toEqual([]);
      await openModel(source, { cache: nodeDirCache(dir), fetch: hubFetch });
      expect(log.filter((l) => l.startsWith('GET')).length).toBe(5); // downloaded again
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('puts the revision into Hub URLs and cache keys', async () => {
    const cache = memoryCache();
    await openModel({ kind: 'hub', repo: 'test/nogen', revision: 'refs/pr/1' }, { cache, fetch: hubFetch });
    expect(log).toContain('GET /hub/test/nogen/resolve/refs%2Fpr%2F1/config.json');
    expect(await cacheKeys(cache)).toContain('hub/test--nogen/refs%2Fpr%2F1/config.json');
    expect((await listCachedModels(cache))[0]).toMatchObject({ revision: 'refs/pr/1', complete: true });
  });

  it('skips optional files the server does not have, and remembers that they are absent', async () => {
    const cache = memoryCache();
    const files = await openModel(url('nogen'), { cache });
    expect(await files.has('generation_config.json')).toBe(false);
    expect(await files.has('tokenizer_config.json')).toBe(false);
    expect(await files.has('tokenizer.json')).toBe(true);
    log.length = 0;
    const again = await openModel(url('nogen'), { cache });
    expect(await again.has('generation_config.json')).toBe(false);
    expect(log).toEqual([]);
  });

  it('downloads both shards of a sharded model', async () => {
    const cache = memoryCache();
    const events: DownloadProgress[] = [];
    const files = await openModel(url('sharded'), { cache, onProgress: (p) => events.push(p) });
    checkProgress(events, Object.values(folders.sharded).reduce((s, b) => s + b.byteLength, 0));
    const names = await safetensorsFileNames(files);
    expect(names).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(await holds(files, names[0], shard1)).toBe(true);
    expect(await holds(files, names[1], shard2)).toBe(true);
    expect(await files.has('model.safetensors')).toBe(false);
    log.length = 0;
    await openModel(url('sharded'), { cache });
    expect(log).toEqual([]);
  });

  it('opens a PEFT adapter repository (adapter_config.json, no config.json)', async () => {
    const files = await openModel(url('adapter'));
    expect(await files.json('adapter_config.json')).toEqual({ r: 4, lora_alpha: 8 });
    expect(await holds(files, 'adapter_model.safetensors', shard2)).toBe(true);
  });

  it('rejects a truncated body with DownloadError and caches nothing of it (memory and folder caches)', async () => {
    const mem = memoryCache();
    await expect(openModel(url('truncated'), { cache: mem })).rejects.toThrow(DownloadError);
    expect((await cacheKeys(mem)).some((k) => k.includes('model.safetensors'))).toBe(false);
    expect((await cacheKeys(mem)).some((k) => k.endsWith('config.json'))).toBe(true); // finished files are kept

    const dir = await mkdtemp(join(tmpdir(), 'entrotune-cache-'));
    try {
      const err = await openModel(url('truncated'), { cache: nodeDirCache(dir) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DownloadError);
      expect((err as Error).message).toContain('model.safetensors');
      const left = await filesUnder(dir);
      expect(left.some((f) => f.includes('model.safetensors'))).toBe(false); // no final file, no .partial
      expect(left.some((f) => f.endsWith('config.json'))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a body shorter than its content-length even when the stream ends cleanly', async () => {
    const cache = memoryCache();
    const shortFetch: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).endsWith('/model.safetensors') || init?.method === 'HEAD') return res;
      const body = new Uint8Array(await res.arrayBuffer()).subarray(0, 1000);
      return new Response(body, { status: 200, headers: { 'content-length': String(weights.byteLength) } });
    };
    const err = await openModel(url('single'), { cache, fetch: shortFetch }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/model\.safetensors: received 1000 bytes, the server announced \d+/);
    expect((await cacheKeys(cache)).some((k) => k.endsWith('model.safetensors'))).toBe(false);
  });

  it('reports a 404 as DownloadError naming the file and the URL', async () => {
    const err = await openModel(url('nosuchmodel')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toContain(`config.json: not found (HTTP 404) at ${base}/nosuchmodel/config.json`);
    expect((err as Error).message).toContain('HINT:');

    const shard = await openModel(url('missingshard')).catch((e: unknown) => e);
    expect(shard).toBeInstanceOf(DownloadError);
    expect((shard as Error).message).toContain('model-00002-of-00002.safetensors: not found (HTTP 404)');

    const none = await openModel(url('noweights')).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(DownloadError);
    expect((none as Error).message).toContain('neither model.safetensors nor model.safetensors.index.json');
  });

  it('explains 401/403 from the Hub as a gated or private repository', async () => {
    const err = await openModel({ kind: 'hub', repo: 'meta-llama/gated' }, { fetch: hubFetch }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toContain('meta-llama/gated is gated or private (HTTP 401');
    expect((err as Error).message).toContain('accept the license on https://huggingface.co/meta-llama/gated');
  });

  it('sends the token to the Hub only', async () => {
    const seen: (string | null)[] = [];
    const spy: typeof fetch = (input, init) => {
      seen.push(new Headers(init?.headers).get('authorization'));
      return hubFetch(input, init);
    };
    await openModel({ kind: 'hub', repo: 'test/nogen' }, { fetch: spy, token: 'hf_secret' });
    expect(seen.every((h) => h === 'Bearer hf_secret')).toBe(true);
    seen.length = 0;
    await openModel(url('nogen'), { fetch: spy, token: 'hf_secret' });
    expect(seen.every((h) => h === null)).toBe(true);
  });

  it('turns a network failure into DownloadError', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const err = await openModel({ kind: 'url', baseUrl: `http://127.0.0.1:${port}/m` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toContain('config.json: download from');
  });

  it('rejects a corrupt safetensors header with CorruptFileError and caches nothing of it', async () => {
    for (const folder of ['corrupt', 'corruptjson']) {
      const cache = memoryCache();
      const err = await openModel(url(folder), { cache }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CorruptFileError);
      expect((err as Error).message).toMatch(/^model\.safetensors: header/);
      expect((await cacheKeys(cache)).some((k) => k.endsWith('model.safetensors'))).toBe(false);
    }
    const dir = await mkdtemp(join(tmpdir(), 'entrotune-cache-'));
    try {
      await expect(openModel(url('corrupt'), { cache: nodeDirCache(dir) })).rejects.toThrow(CorruptFileError);
      expect((await filesUnder(dir)).some((f) => f.includes('model.safetensors'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a JSON file that does not parse, and caches nothing of it', async () => {
    const cache = memoryCache();
    const err = await openModel(url('badconfig'), { cache }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect((err as Error).message).toMatch(/^config\.json: not valid JSON/);
    expect(await cacheKeys(cache)).toEqual([]);
  });

  it('stops on AbortSignal, mid-download and before starting, caching nothing partial', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'entrotune-cache-'));
    try {
      const ac = new AbortController();
      const cache = nodeDirCache(dir);
      const started = Date.now();
      const err = await openModel(url('slow'), {
        cache,
        signal: ac.signal,
        onProgress: (p) => p.file === 'model.safetensors' && p.fileBytes > 0 && ac.abort(),
      }).catch((e: unknown) => e);
      expect((err as Error).name).toBe('AbortError');
      expect(Date.now() - started).toBeLessThan(1000); // the whole file would take ~1.3 s
      expect((await filesUnder(dir)).some((f) => f.includes('model.safetensors'))).toBe(false);

      log.length = 0;
      const pre = await openModel(url('slow'), { cache, signal: AbortSignal.abort() }).catch((e: unknown) => e);
      expect((pre as Error).name).toBe('AbortError');
      expect(log).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('safetensors checks', () => {
  it('accepts a valid file and rejects one whose data does not end where the header says', async () => {
    await checkSafetensors(memorySource('w.safetensors', weights));
    // Cut short: the last tensor's bytes run past the end of the file; padded: bytes after the last one.
    await expect(checkSafetensors(memorySource('w.safetensors', weights.subarray(0, weights.byteLength - 4)))).rejects.toThrow(/^w\.safetensors: tensor model\.norm\.weight: data_offsets .* ends past the end/);
    const padded = new Uint8Array(weights.byteLength + 4);
    padded.set(weights);
    await expect(checkSafetensors(memorySource('w.safetensors', padded))).rejects.toThrow(/header describes \d+ bytes but the file has \d+/);
    await expect(checkSafetensors(memorySource('w.safetensors', new Uint8Array(4)))).rejects.toThrow(CorruptFileError);
  });

  it('names the tensor and prints exact integers, as the folder loader does', async () => {
    const n = Number(new DataView(weights.buffer, weights.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(weights.subarray(8, 8 + n))) as Record<string, { data_offsets: number[] }>;
    const data = weights.subarray(8 + n);
    const rebuild = (h: unknown, length?: bigint) => {
      const text = enc.encode(JSON.stringify(h));
      const out = new Uint8Array(8 + text.length + data.byteLength);
      new DataView(out.buffer).setBigUint64(0, length ?? BigInt(text.length), true);
      out.set(text, 8);
      out.set(data, 8 + text.length);
      return out;
    };
    header['model.norm.weight'].data_offsets = [data.byteLength - 8, data.byteLength + 4];
    const offsets = await checkSafetensors(memorySource('model-00001-of-00002.safetensors', rebuild(header)), 'model-00001-of-00002.safetensors').catch((e: unknown) => e);
    expect(offsets).toBeInstanceOf(CorruptFileError);
    expect((offsets as Error).message).toMatch(/^model-00001-of-00002\.safetensors: tensor model\.norm\.weight: data_offsets \[\d+, \d+\] \(file bytes \d+–\d+\) ends past the end/);
    const huge = await checkSafetensors(memorySource('w.safetensors', rebuild(header, 2n ** 60n))).catch((e: unknown) => e);
    expect((huge as Error).message).toContain('header length 1152921504606846976 (bytes 0–7)');
  });

  it('validates model.safetensors.index.json', async () => {
    expect(shardNames({ weight_map: { a: 'b.safetensors', c: 'a.safetensors', d: 'b.safetensors' } })).toEqual(['a.safetensors', 'b.safetensors']);
    for (const bad of [null, [], {}, { weight_map: [] }, { weight_map: {} }, { weight_map: { a: 3 } }, { weight_map: { a: '../x.safetensors' } }, { weight_map: { a: 'x.bin' } }]) {
      expect(() => shardNames(bad)).toThrow(CorruptFileError);
    }
    const files = memoryFiles({ 'model.safetensors.index.json': '{"weight_map": {"x": "/etc/passwd.safetensors"}}' });
    await expect(safetensorsFileNames(files)).rejects.toThrow(CorruptFileError);
    await expect(safetensorsFileNames(memoryFiles({ 'config.json': '{}' }))).rejects.toThrow(/neither model.safetensors nor/);
  });
});

describe('parseModelSource', () => {
  const noDirs = () => false;
  it('reads Hub ids, revisions, Hub pages and URLs', () => {
    expect(parseModelSource('Qwen/Qwen2.5-0.5B-Instruct', noDirs)).toEqual({ kind: 'hub', repo: 'Qwen/Qwen2.5-0.5B-Instruct' });
    expect(parseModelSource(' Qwen/Qwen2.5-0.5B-Instruct@v1.0 ', noDirs)).toEqual({ kind: 'hub', repo: 'Qwen/Qwen2.5-0.5B-Instruct', revision: 'v1.0' });
    expect(parseModelSource('HuggingFaceTB/SmolLM2-135M@refs/pr/3', noDirs)).toEqual({ kind: 'hub', repo: 'HuggingFaceTB/SmolLM2-135M', revision: 'refs/pr/3' });
    expect(parseModelSource('https://huggingface.co/Qwen/Qwen3-0.6B', noDirs)).toEqual({ kind: 'hub', repo: 'Qwen/Qwen3-0.6B' });
    expect(parseModelSource('https://huggingface.co/Qwen/Qwen3-0.6B/tree/dev', noDirs)).toEqual({ kind: 'hub', repo: 'Qwen/Qwen3-0.6B', revision: 'dev' });
    expect(parseModelSource('http://localhost:8000/models/tiny/', noDirs)).toEqual({ kind: 'url', baseUrl: 'http://localhost:8000/models/tiny' });
    expect(parseModelSource('HTTPS://example.com/m', noDirs)).toEqual({ kind: 'url', baseUrl: 'HTTPS://example.com/m' });
  });

  it('prefers an existing folder, and uses node:fs by default in Node', async () => {
    expect(parseModelSource('Qwen/Qwen2.5-0.5B-Instruct', (p) => p === 'Qwen/Qwen2.5-0.5B-Instruct')).toEqual({ kind: 'dir', path: 'Qwen/Qwen2.5-0.5B-Instruct' });
    const dir = await mkdtemp(join(tmpdir(), 'entrotune-src-'));
    try {
      expect(parseModelSource(dir)).toEqual({ kind: 'dir', path: dir });
      expect(parseModelSource(dir, isDirectorySync)).toEqual({ kind: 'dir', path: dir });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says what is wrong with anything else', () => {
    expect(() => parseModelSource('', noDirs)).toThrow(EntrotuneError);
    expect(() => parseModelSource('./no/such/folder', noDirs)).toThrow(/model folder '.\/no\/such\/folder' does not exist/);
    expect(() => parseModelSource('./models/x', null)).toThrow(/folders can only be opened by path in Node/);
    expect(() => parseModelSource('gpt2', noDirs)).toThrow(/neither a Hub repository/);
    expect(() => parseModelSource('a--b/c', noDirs)).toThrow(EntrotuneError);
    expect(() => parseModelSource('owner/name@', noDirs)).toThrow(EntrotuneError);
  });
});

describe('local sources', () => {
  it("opens a folder ('dir'), reading files by range", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'entrotune-model-'));
    try {
      for (const [name, bytes] of Object.entries(folders.sharded)) await writeFile(join(dir, name), bytes);
      await mkdir(join(dir, 'sub'));
      const files = await openModel({ kind: 'dir', path: dir });
      expect(files.list()!.sort()).toEqual(Object.keys(folders.sharded).sort());
      expect(await files.json('generation_config.json')).toEqual({ eos_token_id: 2 });
      const names = await safetensorsFileNames(files);
      expect(names).toHaveLength(2);
      const src = await files.bytes(names[1]);
      expect(src.size).toBe(shard2.byteLength);
      expect(await src.read(3, 10)).toEqual(shard2.subarray(3, 13));
      await expect(src.read(src.size - 2, 4)).rejects.toThrow(RangeError);
      expect(await files.has('model.safetensors')).toBe(false);
      await expect(files.json('nope.json')).rejects.toThrow(CorruptFileError);
      await expect(files.bytes('../etc/passwd')).rejects.toThrow(EntrotuneError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("opens picked files ('files'), matching by name and ignoring folders", async () => {
    const picked = Object.entries(folders.single).map(([name, bytes]) => {
      const f = new File([bytes as Uint8Array<ArrayBuffer>], name);
      Object.defineProperty(f, 'webkitRelativePath', { value: `my-model/${name}` });
      return f;
    });
    const extra = new File([enc.encode('{"other": true}')], 'config.json');
    Object.defineProperty(extra, 'webkitRelativePath', { value: 'my-model/nested/config.json' });
    const files = await openModel({ kind: 'files', files: [...picked, extra] });
    expect(await files.json('config.json')).toMatchObject({ hidden_size: 8 }); // the shallower one
    expect(await safetensorsFileNames(files)).toEqual(['model.safetensors']);
    expect(await holds(files, 'model.safetensors', weights)).toBe(true);
    expect(await files.has('model.safetensors.index.json')).toBe(false);

    const twin = new File([enc.encode('{}')], 'config.json');
    Object.defineProperty(twin, 'webkitRelativePath', { value: 'other-model/config.json' });
    const ambiguous = await openModel({ kind: 'files', files: [...picked, twin] });
    await expect(ambiguous.json('config.json')).rejects.toThrow(/several config.json/);
  });
});
