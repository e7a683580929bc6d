// The model cache keeps storage's one policy: not found is null (or false, or an empty list), anything
// else is a StorageError naming the path; a manifest torn by a crash only costs a re-check.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../src/errors';
import type { ByteSource } from '../../src/model/bytes';
import { MANIFEST, memoryCache, readManifest, type ModelCache } from '../../src/model/model-cache';
import { nodeDirCache, nodeDirFiles } from '../../src/model/node-files';

describe('the Node model cache', () => {
  it('answers null for what is missing and a StorageError for what cannot be read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'entrotune-cache-'));
    const cache = nodeDirCache(dir);
    expect(await cache.get('hub/a/main/config.json')).toBeNull();
    expect(await cache.list()).toEqual([]);
    // A file where a folder should be: ENOTDIR, not "missing".
    writeFileSync(join(dir, 'hub'), 'not a folder');
    const err = await cache.get('hub/a/main/config.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).path).toBe(join(dir, 'hub/a/main/config.json'));
    expect((err as Error).message).toMatch(/could not read .*hub\/a\/main\/config\.json: ENOTDIR/);
  });

  it('a model folder says which file it could not look at', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'entrotune-folder-'));
    writeFileSync(join(dir, 'config.json'), '{}');
    const files = await nodeDirFiles(dir);
    expect(await files.has('tokenizer.json')).toBe(false);
    await expect(files.has('config.json/x')).rejects.toThrow(StorageError);
  });
});

describe('readManifest', () => {
  const put = async (cache: ModelCache, text: string) => cache.put(`hub/a/main/${MANIFEST}`, new TextEncoder().encode(text));

  it('reads a manifest, and takes a torn one for none', async () => {
    const cache = memoryCache();
    expect(await readManifest(cache, 'hub/a/main')).toBeNull();
    await put(cache, JSON.stringify({ version: 1, files: ['config.json'], absent: [] }));
    expect((await readManifest(cache, 'hub/a/main'))?.files).toEqual(['config.json']);
    await put(cache, '{"version": 1, "fil');
    expect(await readManifest(cache, 'hub/a/main')).toBeNull();
  });

  it('passes on a manifest that cannot be read at all', async () => {
    const failing: ByteSource = { name: MANIFEST, size: 10, read: async () => { throw new StorageError('read', 'somewhere/.entrotune.json', 'EIO: i/o error'); } };
    const cache: ModelCache = { ...memoryCache(), get: async () => failing };
    await expect(readManifest(cache, 'hub/a/main')).rejects.toThrow(/could not read somewhere\/\.entrotune\.json: EIO/);
  });
});
