// Where model files come from: the Hugging Face Hub, any static server with the same files, files
// picked from disk in a browser, or a folder in Node. Every source is opened as one `ModelFiles`, so
// the loader asks for "config.json" or "model-00001-of-00002.safetensors" without knowing where it is.
//
// HTTP sources (hub, url) are downloaded once into a `ModelCache` (OPFS in browsers, a folder in Node,
// memory in tests) and read from there by range. A download is checked before it enters the cache —
// its length against content-length, JSON files parse, a safetensors header fits in the file and
// parses — so a corrupt or partial file is never cached; a failed file costs only itself, the files
// already cached are kept and the next open goes on from there.
//
// What openModel() downloads up front (everything else is fetched on demand by has/json/bytes):
//   model:   config.json; tokenizer.json, tokenizer_config.json, generation_config.json when present;
//            model.safetensors, or model.safetensors.index.json and every shard it names.
//   adapter: (no config.json, but adapter_config.json) adapter_config.json, adapter_model.safetensors.
// When all is cached, a manifest (`.entrotune.json`) records which files exist and which do not, so a
// second open makes no request at all.
//
// Node-only code (node:fs) lives in ./node-files, loaded by dynamic import behind
// `import.meta.env.SSR`, so a browser bundle never contains it. The OPFS cache is in ./opfs-cache.

import { CorruptFileError, DownloadError, EntrotuneError } from '../errors';
import { blobSource, memorySource, type ByteSource } from './bytes';
import { readSafetensorsHeader } from './safetensors';

// ---------------------------------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------------------------------

/** A model repository on the Hugging Face Hub: https://huggingface.co/{repo}/resolve/{revision}/{file}. */
export interface HubSource {
  kind: 'hub';
  /** "owner/name", e.g. "Qwen/Qwen2.5-0.5B-Instruct". */
  repo: string;
  /** Branch, tag or commit; default 'main'. */
  revision?: string;
}

/** Any static server holding the same files as a Hub repository: `${baseUrl}/${file}`. */
export interface UrlSource {
  kind: 'url';
  baseUrl: string;
}

/** Files picked from disk in a browser (a directory picker or <input webkitdirectory>); matched by name. */
export interface FilesSource {
  kind: 'files';
  files: File[];
}

/** A folder on disk (Node only). */
export interface DirSource {
  kind: 'dir';
  path: string;
}

export type HttpSource = HubSource | UrlSource;
export type ModelSource = HubSource | UrlSource | FilesSource | DirSource;

export const HUB_URL = 'https://huggingface.co';

/** Hub repo ids: "owner/name", letters, digits, '-', '_', '.', no "--" or ".." (the Hub's own rule). */
const HUB_REPO = /^[A-Za-z0-9][\w.-]{0,95}\/[A-Za-z0-9][\w.-]{0,95}$/;

function isHubRepo(repo: string): boolean {
  return HUB_REPO.test(repo) && !repo.includes('--') && !repo.includes('..') && !/[.-]$/.test(repo);
}

/**
 * Read a model source from text (a CLI argument, a text box):
 *   "Qwen/Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct@v1.0"  → hub (revision after '@')
 *   "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct[/tree/rev]"   → hub (a pasted Hub page)
 *   "http://localhost:8000/models/tiny"                               → url
 *   an existing folder (checked with `isDir`)                         → dir
 * A folder wins over a Hub id with the same spelling, as in transformers' from_pretrained. `isDir`
 * defaults to node:fs in Node and to "no folders" in browsers, so this stays browser-safe.
 */
export function parseModelSource(text: string, isDir: ((path: string) => boolean) | null = defaultIsDir()): ModelSource {
  const s = text.trim();
  const hint = 'give a Hub repository as owner/name (optionally @revision), an http(s) URL of a folder with the model files, or (in Node) a folder on disk';
  if (!s) throw new EntrotuneError('empty model source', hint);
  if (/^https?:\/\//i.test(s)) {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      throw new EntrotuneError(`model source '${s}' is not a valid URL`, hint);
    }
    // A Hub page pasted from the address bar: /{owner}/{name}[/tree|resolve|blob/{revision}].
    if (url.hostname === 'huggingface.co' && !url.search) {
      const m = /^\/([^/]+\/[^/]+?)(?:\/(?:tree|resolve|blob)\/([^/]+))?\/?$/.exec(url.pathname);
      if (m && isHubRepo(m[1])) return m[2] ? { kind: 'hub', repo: m[1], revision: decodeURIComponent(m[2]) } : { kind: 'hub', repo: m[1] };
    }
    return { kind: 'url', baseUrl: s.replace(/\/+$/, '') };
  }
  if (isDir?.(s)) return { kind: 'dir', path: s };
  const at = s.indexOf('@');
  const repo = at < 0 ? s : s.slice(0, at);
  const revision = at < 0 ? undefined : s.slice(at + 1);
  if (isHubRepo(repo) && (revision === undefined || /^[^\s@]+$/.test(revision))) {
    return revision ? { kind: 'hub', repo, revision } : { kind: 'hub', repo };
  }
  if (/^(\.{0,2}\/|~|[A-Za-z]:\\)|\\/.test(s) || s.split('/').length > 2) {
    throw isDir
      ? new EntrotuneError(`model folder '${s}' does not exist`, 'check the path (relative paths start from the current directory)')
      : new EntrotuneError(`model source '${s}' looks like a folder, and folders can only be opened by path in Node`, 'in a browser, pick the folder with the directory picker ({ kind: "files" })');
  }
  throw new EntrotuneError(`model source '${s}' is neither a Hub repository (owner/name), a URL, nor a folder`, hint);
}

/** node:fs's "is this a directory" in Node (without importing node:fs into the module graph), null elsewhere. */
function defaultIsDir(): ((path: string) => boolean) | null {
  if (!import.meta.env.SSR) return null;
  const fs = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:fs') as
    | typeof import('node:fs')
    | undefined;
  if (!fs) return null;
  return (p) => {
    try {
      return fs.statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
}

export function revisionOf(source: HttpSource): string {
  return source.kind === 'hub' ? (source.revision ?? 'main') : 'static';
}

/** A short stable hash (FNV-1a, 32 bit) for names that must fit a file name. */
function hash32(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * The cache name of an HTTP source: always two path segments, `hub/{owner}--{name}` (the Hub forbids
 * "--" in names, so this is unambiguous) or `url/{readable part}-{hash}` (URLs may be long or hold
 * characters file systems refuse). Cache keys are `${sourceId}/${encodeURIComponent(revision)}/${file}`.
 */
export function sourceId(source: HttpSource): string {
  if (source.kind === 'hub') return `hub/${source.repo.replace('/', '--')}`;
  const base = source.baseUrl.replace(/\/+$/, '');
  const readable = base.replace(/^https?:\/\//i, '').replace(/[^\w.-]+/g, '_').slice(0, 80);
  return `url/${readable}-${hash32(base)}`;
}

function cachePrefix(source: HttpSource): string {
  return `${sourceId(source)}/${encodeURIComponent(revisionOf(source))}`;
}

/** The URL of one file of an HTTP source. */
export function fileUrl(source: HttpSource, file: string): string {
  const path = file.split('/').map(encodeURIComponent).join('/');
  if (source.kind === 'hub') return `${HUB_URL}/${source.repo}/resolve/${encodeURIComponent(revisionOf(source))}/${path}`;
  return `${source.baseUrl.replace(/\/+$/, '')}/${path}`;
}

/** A human name for a source, for messages and the UI. */
export function describeSource(source: ModelSource): string {
  switch (source.kind) {
    case 'hub':
      return source.revision && source.revision !== 'main' ? `${source.repo}@${source.revision}` : source.repo;
    case 'url':
      return source.baseUrl;
    case 'dir':
      return source.path;
    case 'files':
      return `${source.files.length} local file(s)`;
  }
}

// ---------------------------------------------------------------------------------------------------
// ModelFiles
// ---------------------------------------------------------------------------------------------------

/** The files of one model, wherever they are. Names are relative to the model folder ("config.json"). */
export interface ModelFiles {
  /** Every file name, where the source can list them (local files, folders); null for HTTP sources. */
  list(): string[] | null;
  has(name: string): Promise<boolean>;
  /** The file parsed as JSON (CorruptFileError if it is not JSON). */
  json(name: string): Promise<unknown>;
  /** The file's bytes, read by range. */
  bytes(name: string): Promise<ByteSource>;
}

/**
 * Split a file name or cache key into path segments, refusing anything that could step out of a
 * folder (names come from JSON files we downloaded, so they are not trusted).
 */
export function pathSegments(name: string, what = 'file name'): string[] {
  const segs = name.split('/');
  for (const s of segs) {
    if (!s || s === '.' || s === '..' || s.includes('\\') || s.includes('\0')) {
      throw new EntrotuneError(`invalid ${what} '${name}'`, 'names are relative paths with "/" separators and no "." or ".." parts');
    }
  }
  return segs;
}

async function readJson(src: ByteSource, name: string): Promise<unknown> {
  const text = new TextDecoder().decode(await src.read(0, src.size));
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CorruptFileError(name, `not valid JSON (${(err as Error).message})`);
  }
}

function missingLocal(name: string, where: string): CorruptFileError {
  return new CorruptFileError(
    name,
    `not found in ${where}`,
    'a model folder holds config.json, tokenizer.json, tokenizer_config.json and model.safetensors (or model.safetensors.index.json and its shards)',
  );
}

/** ModelFiles over bytes in memory (tests, generated tiny models). Strings are stored as UTF-8. */
export function memoryFiles(entries: Record<string, Uint8Array | string>): ModelFiles {
  const map = new Map<string, Uint8Array>();
  for (const [k, v] of Object.entries(entries)) map.set(k, typeof v === 'string' ? new TextEncoder().encode(v) : v);
  const get = (name: string): ByteSource => {
    const b = map.get(name);
    if (!b) throw missingLocal(name, 'the in-memory model');
    return memorySource(name, b);
  };
  return {
    list: () => [...map.keys()],
    has: async (name) => map.has(name),
    json: async (name) => readJson(get(name), name),
    bytes: async (name) => get(name),
  };
}

/**
 * ModelFiles over File objects picked in a browser. Files are matched by name, ignoring folders; if
 * the pick holds several files of one name (a parent folder with two models), the shallowest wins,
 * and two at the same depth are an error rather than a guess.
 */
export function pickedFiles(files: File[]): ModelFiles {
  const byName = new Map<string, File[]>();
  for (const f of files) byName.set(f.name, [...(byName.get(f.name) ?? []), f]);
  const path = (f: File) => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
  const depth = (f: File) => path(f).split('/').length;
  const find = (name: string): File | null => {
    const base = name.slice(name.lastIndexOf('/') + 1);
    const all = [...(byName.get(base) ?? [])].sort((a, b) => depth(a) - depth(b));
    if (all.length > 1 && depth(all[0]) === depth(all[1])) {
      throw new EntrotuneError(`the picked files hold several ${base} (${path(all[0])}, ${path(all[1])})`, "pick the model's own folder, not a folder above it");
    }
    return all[0] ?? null;
  };
  const get = (name: string): ByteSource => {
    const f = find(name);
    if (!f) throw missingLocal(name, 'the picked files');
    return blobSource(name, f);
  };
  return {
    list: () => [...byName.keys()],
    has: async (name) => find(name) !== null,
    json: async (name) => readJson(get(name), name),
    bytes: async (name) => get(name),
  };
}

// ---------------------------------------------------------------------------------------------------
// Safetensors file names and the cheap checks done before caching
// ---------------------------------------------------------------------------------------------------

/** The unique shard names of a model.safetensors.index.json, validated, sorted. */
export function shardNames(index: unknown, file = 'model.safetensors.index.json'): string[] {
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof index !== 'object' || index === null || typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new CorruptFileError(file, 'has no "weight_map" object (tensor name → shard file)');
  }
  const names = new Set<string>();
  for (const [tensor, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || !shard.endsWith('.safetensors')) {
      throw new CorruptFileError(file, `weight_map["${tensor}"] is ${JSON.stringify(shard)}, not a .safetensors file name`);
    }
    try {
      pathSegments(shard);
    } catch {
      throw new CorruptFileError(file, `weight_map["${tensor}"] names '${shard}', which is not a plain relative file name`);
    }
    names.add(shard);
  }
  if (names.size === 0) throw new CorruptFileError(file, 'weight_map is empty');
  return [...names].sort();
}

/** The model's weight files: ['model.safetensors'], or the shards that model.safetensors.index.json names. */
export async function safetensorsFileNames(files: ModelFiles): Promise<string[]> {
  if (await files.has('model.safetensors')) return ['model.safetensors'];
  if (await files.has('model.safetensors.index.json')) return shardNames(await files.json('model.safetensors.index.json'));
  throw new CorruptFileError(
    'model.safetensors',
    'the model has neither model.safetensors nor model.safetensors.index.json',
    'entrotune reads safetensors weights only; use a repository or folder that has them (most Hub models do)',
  );
}

/**
 * The check a downloaded .safetensors file passes before it is cached: the loader's own header
 * validation (length, JSON, dtypes, shapes, offsets, each error naming the tensor and its bytes), and the
 * tensor data ending exactly at the end of the file (the format forbids holes and trailing bytes, so this
 * catches a truncated file even without a content-length).
 */
export async function checkSafetensors(src: ByteSource, file = src.name): Promise<void> {
  const named: ByteSource = { name: file, size: src.size, read: (offset, length) => src.read(offset, length) };
  const { tensors } = await readSafetensorsHeader(named);
  const head = await src.read(0, 8);
  let end = 8 + Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
  for (const t of tensors.values()) end = Math.max(end, t.end);
  if (end !== src.size) {
    throw new CorruptFileError(file, `the header describes ${end} bytes but the file has ${src.size}`, 'the file is truncated or padded: download it again');
  }
}

/** What a downloaded file must pass before it is cached. */
async function validateDownload(file: string, src: ByteSource): Promise<void> {
  if (file.endsWith('.json')) await readJson(src, file);
  else if (file.endsWith('.safetensors')) await checkSafetensors(src, file);
}

// ---------------------------------------------------------------------------------------------------
// Caches
// ---------------------------------------------------------------------------------------------------

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
interface Manifest {
  version: 1;
  source: HttpSource;
  revision: string;
  kind: 'model' | 'adapter';
  files: string[];
  absent: string[];
}

const MANIFEST = '.entrotune.json';

async function readManifest(cache: ModelCache, prefix: string): Promise<Manifest | null> {
  const src = await cache.get(`${prefix}/${MANIFEST}`);
  if (!src) return null;
  try {
    const m = (await readJson(src, MANIFEST)) as Manifest;
    return m.version === 1 && Array.isArray(m.files) && Array.isArray(m.absent) ? m : null;
  } catch {
    return null; // an unreadable manifest only costs a re-check of the files
  }
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

// ---------------------------------------------------------------------------------------------------
// Opening a source
// ---------------------------------------------------------------------------------------------------

/** Download progress over one openModel call (or one on-demand file later). Files found in the cache do not count. */
export interface DownloadProgress {
  /** The file being downloaded. */
  file: string;
  /** Its bytes received so far, and its size when known (content-length, or a HEAD request before). */
  fileBytes: number;
  fileTotal: number | null;
  /** Bytes received in this call, and the sum of the known sizes of the files it downloads. */
  bytes: number;
  total: number;
}

export interface OpenModelOptions {
  onProgress?: (p: DownloadProgress) => void;
  /** Where downloads are kept: opfsCache() in browsers, nodeDirCache(dir) in Node; default: memory. */
  cache?: ModelCache;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** A Hugging Face access token for gated or private repositories (sent to the Hub only). */
  token?: string;
  /** Called with config.json before any weight is downloaded: throw to refuse the model early
   *  (an unsupported architecture should not cost a multi-GB download). */
  checkConfig?: (config: unknown) => void;
}

/**
 * Open a model source. HTTP sources download what a model (or a PEFT adapter) needs first, so that
 * progress has a total and the cache's space is checked once; see the file header for the list.
 *
 * Progress: `total` is the sum of the sizes known so far. The weight files' sizes come from HEAD
 * requests before any of them is downloaded, so `total` is right from the first weight byte; the
 * small JSON files add their content-length as each starts. The last event has bytes === total.
 */
export async function openModel(source: ModelSource, options: OpenModelOptions = {}): Promise<ModelFiles> {
  options.signal?.throwIfAborted();
  switch (source.kind) {
    case 'files':
      return pickedFiles(source.files);
    case 'dir':
      // import.meta.env.SSR is false in browser builds, where this branch and node:fs go away.
      if (import.meta.env.SSR) {
        const { nodeDirFiles } = await import('./node-files');
        return nodeDirFiles(source.path);
      }
      throw new EntrotuneError(`cannot open the folder ${source.path} in a browser`, 'pick the folder with the directory picker ({ kind: "files" })');
    case 'hub':
    case 'url':
      return new HttpModel(source, options).open();
  }
}

/** Bytes and sizes over one openModel call, kept monotonic (see DownloadProgress). */
class Progress {
  private readonly sizes = new Map<string, number>();
  private done = 0; // bytes of finished files
  private lastReport = 0;
  constructor(private readonly onProgress?: (p: DownloadProgress) => void) {}

  /** A size learnt before or during a download; sizes only grow. */
  plan(file: string, size: number): void {
    this.sizes.set(file, Math.max(this.sizes.get(file) ?? 0, size));
  }

  get total(): number {
    let t = 0;
    for (const s of this.sizes.values()) t += s;
    return t;
  }

  /** Report `fileBytes` of `file`; between the first and last event, at most one event per MiB. */
  update(file: string, fileBytes: number, fileTotal: number | null, last: boolean): void {
    this.plan(file, fileBytes);
    if (last) {
      this.sizes.set(file, fileBytes); // exact once known (equal to the planned size after the length check)
      this.done += fileBytes;
    }
    const bytes = last ? this.done : this.done + fileBytes;
    if (!last && fileBytes > 0 && bytes - this.lastReport < 1 << 20) return;
    this.lastReport = bytes;
    this.onProgress?.({ file, fileBytes, fileTotal: last ? fileBytes : fileTotal, bytes, total: this.total });
  }
}

/** One HTTP source being opened: the downloads, then the ModelFiles over the cache. */
class HttpModel {
  private readonly cache: ModelCache;
  private readonly fetch: typeof fetch;
  private readonly prefix: string;
  private readonly revision: string;
  private readonly present = new Set<string>();
  private readonly absent = new Set<string>();
  private readonly progress: Progress;

  constructor(
    private readonly source: HttpSource,
    private readonly o: OpenModelOptions,
  ) {
    this.cache = o.cache ?? memoryCache();
    // A plain reference to window.fetch must be called with the right `this` ("Illegal invocation").
    this.fetch = o.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.prefix = cachePrefix(source);
    this.revision = revisionOf(source);
    this.progress = new Progress(o.onProgress);
  }

  private key(file: string): string {
    pathSegments(file);
    return `${this.prefix}/${file}`;
  }

  async open(): Promise<ModelFiles> {
    const manifest = await readManifest(this.cache, this.prefix);
    if (manifest) {
      const cached = await Promise.all(manifest.files.map((f) => this.cache.get(this.key(f))));
      manifest.absent.forEach((f) => this.absent.add(f));
      manifest.files.forEach((f, i) => cached[i] && this.present.add(f));
      if (cached.every(Boolean)) return this.files();
      // Some file was removed from the cache: fetch what is missing below.
    }

    // Small files first: they decide model vs adapter and sharded vs single.
    let kind: Manifest['kind'] = 'model';
    if (!(await this.ensure('config.json', true))) {
      if (!(await this.ensure('adapter_config.json', true))) throw this.statusError('config.json', fileUrl(this.source, 'config.json'), 404);
      kind = 'adapter';
    }
    const weights: string[] = [];
    const sizes = new Map<string, number | null>();
    if (kind === 'adapter') {
      weights.push('adapter_model.safetensors');
    } else {
      this.o.checkConfig?.(await readJson((await this.cache.get(this.key('config.json')))!, 'config.json'));
      for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) await this.ensure(f, true);
      if (await this.cache.get(this.key('model.safetensors'))) {
        weights.push('model.safetensors');
      } else if (!(await this.cache.get(this.key('model.safetensors.index.json')))) {
        const size = await this.head('model.safetensors');
        if (size !== 'absent') {
          weights.push('model.safetensors');
          sizes.set('model.safetensors', size);
        }
      }
      if (!weights.length) {
        if (!(await this.ensure('model.safetensors.index.json', true))) {
          throw new DownloadError(
            `${describeSource(this.source)} has neither model.safetensors nor model.safetensors.index.json (${fileUrl(this.source, 'model.safetensors')})`,
            'entrotune reads safetensors weights only; use a repository that publishes them (most Hub models do)',
          );
        }
        this.absent.add('model.safetensors');
        const index = await readJson((await this.cache.get(this.key('model.safetensors.index.json')))!, 'model.safetensors.index.json');
        weights.push(...shardNames(index));
      } else {
        this.absent.add('model.safetensors.index.json');
      }
    }

    // Sizes of the weights still to download, then one space check for all of them.
    const todo: string[] = [];
    for (const f of weights) {
      if (await this.cache.get(this.key(f))) this.present.add(f);
      else todo.push(f);
    }
    let needed = 0;
    for (const f of todo) {
      const size = sizes.has(f) ? sizes.get(f)! : await this.head(f);
      if (size === 'absent') throw this.statusError(f, fileUrl(this.source, f), 404);
      if (size !== null) {
        this.progress.plan(f, size);
        needed += size;
      }
    }
    if (needed > 0) await this.cache.ensureSpace?.(needed);
    for (const f of todo) await this.ensure(f, false);

    const m: Manifest = { version: 1, source: this.source, revision: this.revision, kind, files: [...this.present].sort(), absent: [...this.absent].sort() };
    await this.cache.put(`${this.prefix}/${MANIFEST}`, new TextEncoder().encode(JSON.stringify(m, null, 1)));
    return this.files();
  }

  /** The ModelFiles handed to the loader: reads from the cache, downloads what it has not seen. */
  private files(): ModelFiles {
    const bytes = async (name: string): Promise<ByteSource> => {
      const hit = await this.cache.get(this.key(name));
      if (hit) return hit;
      await this.ensure(name, false);
      return (await this.cache.get(this.key(name)))!;
    };
    return {
      list: () => null,
      has: async (name) => {
        if (this.present.has(name)) return true;
        if (this.absent.has(name)) return false;
        if (await this.cache.get(this.key(name))) return true;
        const exists = (await this.head(name)) !== 'absent';
        (exists ? this.present : this.absent).add(name);
        return exists;
      },
      json: async (name) => readJson(await bytes(name), name),
      bytes,
    };
  }

  /** Make sure `file` is cached: from the cache, or downloaded. False if optional and the server has no such file. */
  private async ensure(file: string, optional: boolean): Promise<boolean> {
    if (await this.cache.get(this.key(file))) {
      this.present.add(file);
      return true;
    }
    const ok = await this.download(file, optional);
    (ok ? this.present : this.absent).add(file);
    return ok;
  }

  private headers(): Record<string, string> {
    return this.source.kind === 'hub' && this.o.token ? { authorization: `Bearer ${this.o.token}` } : {};
  }

  /** fetch with network errors typed; an abort is rethrown as the signal's reason. */
  private async request(file: string, url: string, method: 'GET' | 'HEAD'): Promise<Response> {
    try {
      return await this.fetch(url, { method, headers: this.headers(), signal: this.o.signal });
    } catch (err) {
      throw this.failure(file, url, err);
    }
  }

  private failure(file: string, url: string, err: unknown): unknown {
    if (this.o.signal?.aborted) return this.o.signal.reason;
    if (err instanceof EntrotuneError) return err;
    const cause = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err);
    return new DownloadError(
      `${file}: download from ${url} failed (${cause})`,
      this.source.kind === 'url'
        ? 'check the connection and that the server is up and sends CORS headers (Access-Control-Allow-Origin); then open the model again (finished files are kept)'
        : 'check the connection, then open the model again (finished files are kept in the cache)',
      true,
    );
  }

  /** A size from a HEAD request: bytes, null when the server does not say, 'absent' on 404. */
  private async head(file: string): Promise<number | null | 'absent'> {
    const url = fileUrl(this.source, file);
    const res = await this.request(file, url, 'HEAD');
    if (res.status === 404) return 'absent';
    if (!res.ok) throw this.statusError(file, url, res.status);
    return contentLength(res);
  }

  private statusError(file: string, url: string, status: number): DownloadError {
    const s = this.source;
    const repoPage = s.kind === 'hub' ? `${HUB_URL}/${s.repo}` : '';
    if (status === 404) {
      return new DownloadError(
        `${file}: not found (HTTP 404) at ${url}`,
        s.kind === 'hub'
          ? `check the repository name and revision '${this.revision}' on ${repoPage}; entrotune needs config.json, tokenizer.json and safetensors weights`
          : `check the base URL: the server must serve the model's files directly under ${s.baseUrl}/`,
      );
    }
    if (status === 401 || status === 403) {
      return s.kind === 'hub'
        ? new DownloadError(
            `${file}: ${s.repo} is gated or private (HTTP ${status} at ${url})`,
            `accept the license on ${repoPage} while logged in, then pass a Hugging Face access token (the "token" option)` +
              (this.o.token ? '; the token given was refused: check that it has read access to the repository' : '') +
              '; or download the files yourself and open the folder',
          )
        : new DownloadError(`${file}: the server refused access (HTTP ${status} at ${url})`, 'the server must allow anonymous reads of the model files');
    }
    if (status === 429 || status >= 500) {
      return new DownloadError(`${file}: the server is busy or failing (HTTP ${status} at ${url})`, 'wait a minute and open the model again (finished files are kept in the cache)', true);
    }
    return new DownloadError(`${file}: unexpected HTTP ${status} at ${url}`, 'check the source URL; open the model again to retry');
  }

  /**
   * GET `file` and stream it into the cache, reporting progress and checking its length; the cache
   * validates the content before the file appears. Returns false only for an optional file's 404.
   */
  private async download(file: string, optional: boolean): Promise<boolean> {
    const url = fileUrl(this.source, file);
    const res = await this.request(file, url, 'GET');
    if (!res.ok) {
      res.body?.cancel().catch(() => {});
      if (optional && res.status === 404) return false;
      throw this.statusError(file, url, res.status);
    }
    const length = contentLength(res);
    // With Content-Encoding (gzip), fetch hands over decoded bytes while content-length counts the
    // encoded ones, so lengths cannot be compared; a truncated gzip stream fails to decode instead.
    // Cross-origin responses hide Content-Encoding: there only "fewer bytes than announced" is an error.
    const encoding = res.headers.get('content-encoding');
    const encoded = !!encoding && encoding !== 'identity';
    const hidden = res.type === 'cors';
    if (length !== null && !encoded) this.progress.plan(file, length);

    const body = res.body;
    if (!body) throw new DownloadError(`${file}: the server sent no body (${url})`, 'open the model again to retry', true);
    const reader = body.getReader();
    let received = 0;
    this.progress.update(file, 0, encoded ? null : length, false);
    const stream = new ReadableStream<Uint8Array>({
      // Throwing here errors the stream with this very error, which reaches the cache's put() and,
      // from there, the caller: network failures become DownloadError, an abort stays an abort.
      pull: async (controller) => {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (err) {
          throw this.failure(file, url, err);
        }
        if (r.done) {
          if (length !== null && !encoded && (hidden ? received < length : received !== length)) {
            throw new DownloadError(
              `${file}: received ${received} bytes, the server announced ${length} (${url})`,
              'the connection was cut or the server is misconfigured; open the model again to retry',
              true,
            );
          }
          this.progress.update(file, received, length, true);
          controller.close();
          return;
        }
        received += r.value.byteLength;
        this.progress.update(file, received, encoded ? null : length, false);
        controller.enqueue(r.value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    await this.cache.put(this.key(file), stream, (src) => validateDownload(file, src));
    return true;
  }
}

function contentLength(res: Response): number | null {
  const h = res.headers.get('content-length');
  const n = h === null ? NaN : Number(h);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}
