// Where downloaded model files are kept (`ModelCache`: OPFS in browsers (./opfs-cache), a folder in Node
// (./node-files), memory in tests and by default), keyed by `${sourceId}/${revision}/${file}`; the
// manifest written beside a fully downloaded model; and listing and removing what a cache holds.

import { CorruptFileError } from '../errors';
import { memorySource, type ByteSource } from './bytes';
import { pathSegments, readJson } from './model-files';
import { cachePrefix, type HttpSource } from './sources';

export interface CacheEntry {
  key: string;
  bytes: number;
}

/**
 * Where downloaded files are kept, keyed by `${sourceId}/${revision}/${file}`. `put` is atomic: the
 * data is written aside, `validate` runs on it, and only then does the key exist; if the data stream
 * fails or `validate` throws, nothing is left behind and the error is rethrown.
 */
export interface ModelCache {
  get(key: string): Promise<ByteSource | null>;
  put(key: string, data: Uint8Array | ReadableStream<Uint8Array>, validate?: (src: ByteSource) => Promise<void>): Promise<void>;
  /** Remove `prefix` itself and every key under `prefix/`. */
  delete(prefix: string): Promise<void>;
  /** Every complete entry. */
  list(): Promise<CacheEntry[]>;
  /** Throw QuotaExceededError if `bytes` more would not fit (checked before a download starts). */
  ensureSpace?(bytes: number): Promise<void>;
}

/**
 * Feed a Uint8Array or a stream to `fn` chunk by chunk. If `fn` throws, the stream is cancelled, which
 * for a download closes the connection.
 */
export async function forEachChunk(data: Uint8Array | ReadableStream<Uint8Array>, fn: (chunk: Uint8Array) => unknown): Promise<void> {
  if (data instanceof Uint8Array) {
    await fn(data);
    return;
  }
  const reader = data.getReader();
  for (;;) {
    const r = await reader.read(); // a stream error propagates as is (the downloader has typed it)
    if (r.done) return;
    try {
      await fn(r.value);
    } catch (err) {
      reader.cancel(err).catch(() => {});
      throw err;
    }
  }
}

/** A cache in memory: for tests, and the default when openModel is given none. */
export function memoryCache(): ModelCache {
  const map = new Map<string, Uint8Array>();
  return {
    async get(key) {
      const b = map.get(key);
      return b ? memorySource(key.slice(key.lastIndexOf('/') + 1), b) : null;
    },
    async put(key, data, validate) {
      pathSegments(key, 'cache key');
      const chunks: Uint8Array[] = [];
      let n = 0;
      await forEachChunk(data, (c) => {
        chunks.push(c.slice()); // copy: a stream may reuse its buffers
        n += c.byteLength;
      });
      const all = new Uint8Array(n);
      let o = 0;
      for (const c of chunks) {
        all.set(c, o);
        o += c.byteLength;
      }
      await validate?.(memorySource(key.slice(key.lastIndexOf('/') + 1), all));
      map.set(key, all);
    },
    async delete(prefix) {
      for (const k of [...map.keys()]) if (k === prefix || k.startsWith(prefix.replace(/\/+$/, '') + '/')) map.delete(k);
    },
    async list() {
      return [...map].map(([key, b]) => ({ key, bytes: b.byteLength }));
    },
  };
}

/** The record written beside a fully downloaded model: which files it has and which it does not. */
export interface Manifest {
  version: 1;
  source: HttpSource;
  revision: string;
  kind: 'model' | 'adapter';
  files: string[];
  absent: string[];
}

export const MANIFEST = '.entrotune.json';

/** The manifest under `prefix`, or null when there is none or its JSON is damaged (that costs only a
 *  re-check of the files); a manifest that cannot be read at all is the cache's typed error. */
export async function readManifest(cache: ModelCache, prefix: string): Promise<Manifest | null> {
  const src = await cache.get(`${prefix}/${MANIFEST}`);
  if (!src) return null;
  let m: Manifest;
  try {
    m = (await readJson(src, MANIFEST)) as Manifest;
  } catch (err) {
    if (err instanceof CorruptFileError) return null; // torn by a crash mid-write: the files are checked again
    throw err;
  }
  return m.version === 1 && Array.isArray(m.files) && Array.isArray(m.absent) ? m : null;
}

export interface CachedModel {
  sourceId: string;
  revision: string;
  /** The source as it was opened (from the manifest); null until its first download completed. */
  source: HttpSource | null;
  /** Files cached and their total size. */
  files: string[];
  bytes: number;
  /** Every file the model needs is cached. */
  complete: boolean;
}

/** The models in a cache, for a "downloaded models" list in the UI. */
export async function listCachedModels(cache: ModelCache): Promise<CachedModel[]> {
  const groups = new Map<string, CacheEntry[]>();
  for (const e of await cache.list()) {
    const segs = e.key.split('/');
    if (segs.length < 4) continue;
    const prefix = segs.slice(0, 3).join('/');
    groups.set(prefix, [...(groups.get(prefix) ?? []), e]);
  }
  const out: CachedModel[] = [];
  for (const [prefix, entries] of groups) {
    const segs = prefix.split('/');
    const manifest = await readManifest(cache, prefix);
    const files = entries.map((e) => e.key.slice(prefix.length + 1)).filter((f) => f !== MANIFEST);
    out.push({
      sourceId: `${segs[0]}/${segs[1]}`,
      revision: decodeURIComponent(segs[2]),
      source: manifest?.source ?? null,
      files: files.sort(),
      bytes: entries.reduce((s, e) => s + e.bytes, 0),
      complete: !!manifest && manifest.files.every((f) => files.includes(f)),
    });
  }
  return out.sort((a, b) => (a.sourceId + a.revision < b.sourceId + b.revision ? -1 : 1));
}

/** The cache keys of a source's files now: taken before a load, so a failed load can put the cache back. */
export async function cachedKeys(cache: ModelCache, source: HttpSource): Promise<Set<string>> {
  const prefix = `${cachePrefix(source)}/`;
  return new Set((await cache.list()).map((e) => e.key).filter((k) => k.startsWith(prefix)));
}

/** Remove the source's files that were not in the cache when `before` was taken. */
export async function removeAddedFiles(cache: ModelCache, source: HttpSource, before: ReadonlySet<string>): Promise<void> {
  for (const key of await cachedKeys(cache, source)) if (!before.has(key)) await cache.delete(key);
}

/** Remove a cached model: one revision, or every revision of the source. */
export async function removeCachedModel(cache: ModelCache, id: string, revision?: string): Promise<void> {
  pathSegments(id, 'source id');
  await cache.delete(revision === undefined ? id : `${id}/${encodeURIComponent(revision)}`);
}
