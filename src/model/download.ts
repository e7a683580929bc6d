// Opening a model source (openModel), and downloading an HTTP one (hub, url) into a `ModelCache`, from
// where it is read by range. A download is checked before it enters the cache — its length against
// content-length, JSON files parse, a safetensors header fits in the file and parses — so a corrupt or
// partial file is never cached; a failed file costs only itself, the files already cached are kept and
// the next open goes on from there.
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
import type { ByteSource } from './bytes';
import { MANIFEST, memoryCache, readManifest, type Manifest, type ModelCache } from './model-cache';
import { pathSegments, pickedFiles, readJson, shardNames, type ModelFiles } from './model-files';
import { readSafetensorsHeader } from './safetensors';
import { cachePrefix, describeSource, fileUrl, HUB_URL, revisionOf, type HttpSource, type ModelSource } from './sources';


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
