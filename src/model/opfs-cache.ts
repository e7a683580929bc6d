// The browser's model cache, in the Origin Private File System (navigator.storage.getDirectory()),
// usable from the page and from workers. Key "hub/Qwen--Qwen2.5-0.5B/main/model.safetensors" is the
// file model.safetensors in folders entrotune-models/hub/Qwen--Qwen2.5-0.5B/main/.
//
// Write-then-mark-complete: a download streams into its file, is validated there, and only then gets
// a marker `<name>.complete` holding its size. get() and list() see a file only with a marker of the
// same size, so a tab closed or a crash mid-write never leaves a file that looks complete; a put first
// deletes the old marker, so a file being replaced is not complete either. (FileSystemHandle.move()
// would allow a rename instead, but it is not everywhere yet; the marker works in every engine.)
//
// Writing uses createWritable() (Chrome, Firefox, Safari 26+, page and workers; it streams to disk,
// so a multi-GB file never sits in memory) or, where only that exists (older Safari, workers only),
// createSyncAccessHandle(). Reads go through getFile() and blobSource: ranges, never the whole file.

import { EntrotuneError, QuotaExceededError } from '../errors';
import { blobSource } from './bytes';
import { guarded, storageError } from '../storage/fail';
import { opfsDirectory } from '../storage/opfs';
import { forEachChunk, type CacheEntry, type ModelCache } from './model-cache';
import { pathSegments } from './model-files';

const MARK = '.complete';

function storage(): StorageManager {
  const s = (globalThis as { navigator?: Navigator }).navigator?.storage;
  if (!s || typeof s.getDirectory !== 'function') {
    throw new EntrotuneError(
      'this browser has no Origin Private File System (navigator.storage.getDirectory)',
      'use a current Chrome, Edge, Firefox or Safari, from https:// or http://localhost and not in a private window; or open the model without a cache',
    );
  }
  return s;
}

/**
 * Ask the browser to keep this site's storage under pressure instead of evicting it. Only a page can
 * ask (workers have no storage.persist()): call it from the page, e.g. when the user picks a model.
 * Returns whether storage is persistent.
 */
export async function requestPersistentStorage(): Promise<boolean> {
  const s = (globalThis as { navigator?: Navigator }).navigator?.storage;
  if (!s) return false;
  if (typeof s.persisted === 'function' && (await s.persisted())) return true;
  return typeof s.persist === 'function' ? s.persist().catch(() => false) : false;
}

function isMissing(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'NotFoundError' || name === 'TypeMismatchError';
}

function quotaError(err: unknown, what: string): unknown {
  if ((err as { name?: string } | null)?.name !== 'QuotaExceededError') return err;
  return new QuotaExceededError(
    `browser storage is full while writing ${what}`,
    'remove cached models you no longer need (listCachedModels / removeCachedModel, or the model list in the page), free disk space (browsers give a site a share of the free disk), or use a smaller model',
  );
}

async function removeQuiet(dir: FileSystemDirectoryHandle, name: string, recursive = false): Promise<void> {
  try {
    await dir.removeEntry(name, { recursive });
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
}

async function fileOrNull(dir: FileSystemDirectoryHandle, name: string): Promise<File | null> {
  try {
    return await (await dir.getFileHandle(name)).getFile();
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

/** Stream `data` into a file, replacing what it held. */
async function writeFile(fh: FileSystemFileHandle, data: Uint8Array | ReadableStream<Uint8Array>): Promise<void> {
  if (typeof fh.createWritable === 'function') {
    // Starts empty (keepExistingData: false); Chrome writes to a swap file and swaps it in on close().
    const w = await fh.createWritable();
    try {
      await forEachChunk(data, (c) => w.write(c as Uint8Array<ArrayBuffer>));
    } catch (err) {
      await w.abort().catch(() => {});
      throw err;
    }
    await w.close();
    return;
  }
  const sync = (fh as FileSystemFileHandle & { createSyncAccessHandle?: () => Promise<FileSystemSyncAccessHandle> }).createSyncAccessHandle;
  if (typeof sync !== 'function') {
    throw new EntrotuneError('this browser cannot write OPFS files from the page', 'open the model from a worker (the engine worker does), or use a current browser');
  }
  const h = await sync.call(fh);
  try {
    h.truncate(0);
    let at = 0;
    await forEachChunk(data, (c) => {
      // write() may write less than asked; continue from where it stopped.
      for (let off = 0; off < c.byteLength; ) off += h.write(c.subarray(off) as Uint8Array<ArrayBuffer>, { at: at + off });
      at += c.byteLength;
    });
    h.flush();
  } finally {
    h.close();
  }
}

/**
 * The OPFS model cache. `dirName` is its top folder in the origin's OPFS (other entrotune data,
 * checkpoints and scores, lives in folders beside it). Safe to create several times: they share files.
 */
export function opfsCache(dirName = 'entrotune-models'): ModelCache {
  let rootPromise: Promise<FileSystemDirectoryHandle> | null = null;
  const root = () => (rootPromise ??= storage().getDirectory().then((d) => d.getDirectoryHandle(dirName, { create: true })));

  /** The folder for `segs`, or null if it does not exist and `create` is false. */
  const folder = async (segs: string[], create: boolean) => opfsDirectory(await root(), segs, create);
  /** Where a key lives, for errors. */
  const where = (key: string) => `OPFS ${dirName}/${key}`;

  /** The data file of a complete entry: marker present and holding the file's size. */
  const complete = async (dir: FileSystemDirectoryHandle, name: string): Promise<File | null> => {
    const mark = await fileOrNull(dir, name + MARK);
    if (!mark) return null;
    const file = await fileOrNull(dir, name);
    return file && String(file.size) === (await mark.text()).trim() ? file : null;
  };

  let persistAsked = false;

  return {
    async get(key) {
      const segs = pathSegments(key, 'cache key');
      const name = segs.pop()!;
      const file = await guarded('read', where(key), async () => {
        const dir = await folder(segs, false);
        return dir && (await complete(dir, name));
      });
      return file ? blobSource(name, file) : null;
    },

    async put(key, data, validate) {
      const segs = pathSegments(key, 'cache key');
      const name = segs.pop()!;
      if (name.endsWith(MARK)) throw new EntrotuneError(`cache key '${key}' ends in ${MARK}, which the OPFS cache reserves`, 'this is a bug in entrotune; please report it');
      let dir: FileSystemDirectoryHandle;
      try {
        dir = (await folder(segs, true))!;
        await removeQuiet(dir, name + MARK); // from here on, the old content (if any) is not complete
      } catch (err) {
        throw storageError('write', where(key), quotaError(err, key));
      }
      try {
        const fh = await dir.getFileHandle(name, { create: true });
        await writeFile(fh, data);
        const file = await fh.getFile();
        await validate?.(blobSource(name, file));
        await writeFile(await dir.getFileHandle(name + MARK, { create: true }), new TextEncoder().encode(String(file.size)));
      } catch (err) {
        await removeQuiet(dir, name + MARK).catch(() => {});
        await removeQuiet(dir, name).catch(() => {});
        throw storageError('write', where(key), quotaError(err, key));
      }
    },

    async delete(prefix) {
      const segs = pathSegments(prefix.replace(/\/+$/, ''), 'cache key');
      const name = segs.pop()!;
      await guarded('remove', where(prefix), async () => {
        const dir = await folder(segs, false);
        if (!dir) return;
        await removeQuiet(dir, name + MARK);
        await removeQuiet(dir, name, true);
      });
    },

    async list() {
      const out: CacheEntry[] = [];
      const walk = async (dir: FileSystemDirectoryHandle, rel: string): Promise<void> => {
        const files = new Map<string, FileSystemFileHandle>();
        for await (const [name, h] of dir.entries()) {
          const key = rel ? `${rel}/${name}` : name;
          if (h.kind === 'directory') await walk(h as FileSystemDirectoryHandle, key);
          else files.set(name, h as FileSystemFileHandle);
        }
        for (const name of files.keys()) {
          if (name.endsWith(MARK) || !files.has(name + MARK)) continue; // markers, and files still being written
          const file = await complete(dir, name);
          if (file) out.push({ key: rel ? `${rel}/${name}` : name, bytes: file.size });
        }
      };
      await guarded('list', `OPFS ${dirName}`, async () => walk(await root(), ''));
      return out.sort((a, b) => (a.key < b.key ? -1 : 1));
    },

    async ensureSpace(bytes) {
      const s = storage();
      // Persistence makes the quota larger in some browsers and protects the cache from eviction; only
      // a page can ask (see requestPersistentStorage), so from a worker this is skipped.
      if (!persistAsked) {
        persistAsked = true;
        await requestPersistentStorage();
      }
      const { quota, usage } = await s.estimate();
      if (quota === undefined || usage === undefined) return; // the browser does not say: let writes fail if they must
      const available = Math.max(0, quota - usage);
      if (bytes > available) {
        throw new QuotaExceededError(
          `the download needs ${size(bytes)} of browser storage, ${size(available)} is available (this site may use ${size(quota)} and already uses ${size(usage)})`,
          'remove cached models you no longer need (the model list in the page, or removeCachedModel), free disk space (browsers give a site a share of the free disk), or use a smaller model',
        );
      }
    },
  };
}

function size(n: number): string {
  return n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}
