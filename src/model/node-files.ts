// Model files on a Node file system: a ByteSource reading ranges of a file, ModelFiles over a
// folder (the 'dir' source), and a ModelCache in a folder. Node only: ./download loads this file by
// dynamic import behind `import.meta.env.SSR`, and the CLI imports it directly, so browser bundles
// never contain node:fs.
//
// The folder cache writes each download to `<key>.partial-<random>` beside its final name, validates
// it there and renames it into place; rename is atomic on one file system, so a crash mid-write leaves
// only a .partial file, which get() and list() never see and removeCachedModel() deletes with the model.

import { constants, statSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CorruptFileError, QuotaExceededError } from '../errors';
import { guarded } from '../storage/fail';
import type { ByteSource } from './bytes';
import { forEachChunk, type CacheEntry, type ModelCache } from './model-cache';
import { pathSegments, type ModelFiles } from './model-files';

/** A ByteSource over a file; every read opens, reads and closes it, so nothing is held between reads. */
async function nodeFileSource(path: string, name = basename(path)): Promise<ByteSource> {
  const size = (await stat(path)).size;
  return {
    name,
    size,
    async read(offset, length) {
      if (offset < 0 || offset + length > size) throw new RangeError(`${name}: read of ${length} bytes at ${offset} past the end (${size})`);
      const out = new Uint8Array(length);
      const fh = await open(path, constants.O_RDONLY);
      try {
        // read() may return fewer bytes than asked; loop until the range is filled.
        let done = 0;
        while (done < length) {
          const { bytesRead } = await fh.read(out, done, length - done, offset + done);
          if (bytesRead === 0) throw new CorruptFileError(name, `file ended at byte ${offset + done} while reading ${length} bytes at ${offset} (it was ${size} bytes when opened)`);
          done += bytesRead;
        }
      } finally {
        await fh.close();
      }
      return out;
    },
  };
}

/** True if `path` is an existing folder (for parseModelSource). */
export function isDirectorySync(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** ModelFiles over a model folder, as written by `huggingface-cli download --local-dir` or git clone. */
export async function nodeDirFiles(dir: string): Promise<ModelFiles> {
  const root = resolve(dir);
  let names: string[];
  try {
    names = (await readdir(root, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch (err) {
    throw new CorruptFileError(root, `cannot read the folder (${(err as Error).message})`, 'check the path and its permissions');
  }
  const path = (name: string) => join(root, ...pathSegments(name));
  const has = async (name: string) => guarded('read', path(name), async () => (await stat(path(name))).isFile(), () => false);
  const missing = (name: string) =>
    new CorruptFileError(name, `not found in ${root}`, 'a model folder holds config.json, tokenizer.json, tokenizer_config.json and model.safetensors (or model.safetensors.index.json and its shards)');
  return {
    list: () => [...names],
    has,
    async json(name) {
      if (!(await has(name))) throw missing(name);
      const text = await readFile(path(name), 'utf8');
      try {
        return JSON.parse(text);
      } catch (err) {
        throw new CorruptFileError(join(root, name), `not valid JSON (${(err as Error).message})`, 'fix or download the file again');
      }
    },
    async bytes(name) {
      if (!(await has(name))) throw missing(name);
      return nodeFileSource(path(name), name);
    },
  };
}

const PARTIAL = '.partial-';

/**
 * A ModelCache in a folder: key "hub/Qwen--Qwen2.5-0.5B/main/config.json" is the file
 * `<dir>/hub/Qwen--Qwen2.5-0.5B/main/config.json`, so the cache can be inspected and copied by hand.
 */
export function nodeDirCache(dir: string): ModelCache {
  const root = resolve(dir);
  const path = (key: string) => join(root, ...pathSegments(key, 'cache key'));
  return {
    async get(key) {
      const p = path(key);
      return (await guarded('read', p, async () => (await stat(p)).isFile(), () => false)) ? nodeFileSource(p) : null;
    },

    async put(key, data, validate) {
      const final = path(key);
      await mkdir(dirname(final), { recursive: true });
      const tmp = `${final}${PARTIAL}${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
      try {
        const fh = await open(tmp, 'w');
        try {
          await forEachChunk(data, async (chunk) => {
            let done = 0;
            while (done < chunk.byteLength) done += (await fh.write(chunk, done, chunk.byteLength - done)).bytesWritten;
          });
        } finally {
          await fh.close();
        }
        await validate?.(await nodeFileSource(tmp, basename(final)));
        await rename(tmp, final);
      } catch (err) {
        await unlink(tmp).catch(() => {});
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
          throw new QuotaExceededError(`the disk holding ${root} is full (writing ${key})`, 'free disk space or give another cache folder');
        }
        throw err;
      }
    },

    async delete(prefix) {
      await rm(path(prefix.replace(/\/+$/, '')), { recursive: true, force: true });
    },

    async list() {
      const out: CacheEntry[] = [];
      const walk = async (abs: string, rel: string): Promise<void> => {
        const entries = await guarded('list', abs, () => readdir(abs, { withFileTypes: true }), () => []);
        for (const e of entries) {
          const key = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory()) await walk(join(abs, e.name), key);
          else if (e.isFile() && !e.name.includes(PARTIAL)) out.push({ key, bytes: (await stat(join(abs, e.name))).size });
        }
      };
      await walk(root, '');
      return out.sort((a, b) => (a.key < b.key ? -1 : 1));
    },

    async ensureSpace(bytes) {
      await mkdir(root, { recursive: true });
      const fs = await statfs(root);
      const available = fs.bavail * fs.bsize;
      if (bytes > available) {
        throw new QuotaExceededError(
          `the download needs ${gib(bytes)}, the disk holding ${root} has ${gib(available)} free`,
          'free disk space, remove cached models you no longer need, or give a cache folder on another disk',
        );
      }
    },
  };
}

function gib(n: number): string {
  return n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}
