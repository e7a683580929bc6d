// The storage layer (src/storage/): one contract for the memory, Node and OPFS folders, and one
// policy: "not found" is null, a torn last line of a record file is dropped, every other failure is a
// typed error that names the path.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptFileError, StorageError } from '../../src/errors';
import type { Folder } from '../../src/storage/folder';
import { readJson } from '../../src/storage/json';
import { memoryFolder } from '../../src/storage/memory';
import { nodeFolder } from '../../src/storage/node';
import { opfsFolder } from '../../src/storage/opfs';
import { jsonlStore } from '../../src/storage/records';
import { opfsRunFolders } from '../../src/storage/runs';
import { readCheckpointState } from '../../src/train/checkpoint';
import { fakeOpfs } from './fake-opfs';

const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : b);

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

const backends: [string, () => Folder][] = [
  ['memory', () => memoryFolder()],
  ['a Node directory', () => nodeFolder(mkdtempSync(join(tmpdir(), 'storage-')))],
  ['OPFS', () => opfsFolder(['runs'], fakeOpfs().root)],
];

describe.each(backends)('a folder in %s', (_, make) => {
  it('answers null / [] for what is not there, and keeps what is written, appended and removed', async () => {
    const f = make();
    expect(await f.read('a.json')).toBeNull();
    expect(await f.folder('x/y').read('a.json')).toBeNull();
    expect(await f.list()).toEqual([]);
    await f.remove('nothing'); // removing what is not there is fine
    await f.write('a.json', '{"v":1}');
    await f.write('a.json', '{"v":2}');
    expect(text(await f.read('a.json'))).toBe('{"v":2}');
    await f.append('r.jsonl', 'one\n');
    await f.append('r.jsonl', 'two\n');
    expect(text(await f.read('r.jsonl'))).toBe('one\ntwo\n');
    await f.folder('run-1/pipeline').write('state.json', new Uint8Array([1, 2, 3]));
    await f.folder('run-2').write('run.json', '{}');
    expect((await f.list()).sort()).toEqual(['run-1', 'run-2']);
    expect(await f.folder('run-1').folder('pipeline').read('state.json')).toEqual(new Uint8Array([1, 2, 3]));
    await f.remove('run-1');
    expect(await f.list()).toEqual(['run-2']);
    expect(await f.folder('run-1/pipeline').read('state.json')).toBeNull();
    expect(() => f.folder('../up')).toThrow(/not a folder or file name/);
    await expect(f.read('a/b.json')).rejects.toThrow(/is a path, not a file name/);
  });

  it('keeps appends to one file in the order they were made, even when they overlap', async () => {
    const f = make();
    await Promise.all(Array.from({ length: 8 }, (_, i) => f.append('r.jsonl', `${i}\n`)));
    expect(text(await f.read('r.jsonl'))).toBe('0\n1\n2\n3\n4\n5\n6\n7\n');
  });
});

describe('failures other than "not found" are StorageErrors naming the path', () => {
  it('Node: a file that cannot be read (a folder in its place) is an error, not a missing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'storage-'));
    mkdirSync(join(dir, 'state.json'));
    const e = await caught(nodeFolder(dir).read('state.json'));
    expect(e).toBeInstanceOf(StorageError);
    expect(e).toMatchObject({ code: 'STORAGE', op: 'read', path: `${dir}/state.json`, full: false });
    expect(e.message).toMatch(/^could not read .*state\.json: EISDIR/);
  });

  it('OPFS: a full quota on writing run.json says which file and that storage is full', async () => {
    const fs = fakeOpfs((op, name) => (op === 'write' && name === '.run.json.tmp' ? new DOMException('the quota has been exceeded', 'QuotaExceededError') : undefined));
    const e = await caught(opfsFolder(['runs', 'r1'], fs.root).write('run.json', '{}'));
    expect(e).toBeInstanceOf(StorageError);
    expect(e).toMatchObject({ op: 'write', path: 'OPFS runs/r1/run.json', full: true });
    expect(e.message).toMatch(/QuotaExceededError: the quota has been exceeded\nHINT: free storage/);
  });

  it('OPFS: a failing file system is not "no runs"; a missing runs folder is', async () => {
    expect(await opfsRunFolders('runs', fakeOpfs().root).list()).toEqual([]);
    const denied = fakeOpfs((op) => (op === 'root' ? new DOMException('storage is not allowed here', 'SecurityError') : undefined));
    const e = await caught(opfsRunFolders('runs', denied.root).list());
    expect(e).toBeInstanceOf(StorageError);
    expect(e).toMatchObject({ op: 'list', path: 'OPFS runs' });
    expect(e.message).toContain('SecurityError: storage is not allowed here');
    const broken = fakeOpfs((op) => (op === 'list' ? new DOMException('the folder could not be read', 'NotReadableError') : undefined));
    await broken.top.getDirectoryHandle('runs', { create: true });
    await expect(opfsRunFolders('runs', broken.root).list()).rejects.toThrow(/could not list OPFS runs: NotReadableError/);
  });

  it('OPFS: a read that fails for another reason than a missing file is an error', async () => {
    const fs = fakeOpfs((op) => (op === 'read' ? new DOMException('the file is busy', 'NoModificationAllowedError') : undefined));
    await (await fs.top.getDirectoryHandle('runs', { create: true })).getFileHandle('run.json', { create: true });
    await expect(opfsFolder(['runs'], fs.root).read('run.json')).rejects.toMatchObject({ name: 'StorageError', op: 'read', path: 'OPFS runs/run.json' });
    expect(await opfsFolder(['runs'], fs.root).read('other.json')).toBeNull();
  });
});

describe('record files (JSON lines)', () => {
  const rec = (id: string) => ({ id, v: id.length });

  it('drop a torn last line (a crash mid-append), and the next append starts on a line of its own', async () => {
    const f = memoryFolder();
    await f.write('scores.jsonl', '{"id":"a","v":1}\n{"id":"b","v":1}\n{"id":"c","v"');
    const store = jsonlStore<{ id: string }>(f, 'scores.jsonl');
    expect((await store.load()).map((r) => r.id)).toEqual(['a', 'b']);
    await store.append([rec('cc')]);
    expect(text(await f.read('scores.jsonl'))).toBe('{"id":"a","v":1}\n{"id":"b","v":1}\n{"id":"cc","v":2}\n');
  });

  it('cut a torn tail before appending even when nothing was loaded first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'records-'));
    writeFileSync(join(dir, 'teacher.jsonl'), '{"id":"a"}\n{"id":');
    const store = jsonlStore<{ id: string }>(nodeFolder(dir), 'teacher.jsonl');
    await Promise.all([store.append([rec('b')]), store.append([rec('c')])]);
    expect(readFileSync(join(dir, 'teacher.jsonl'), 'utf8')).toBe('{"id":"a"}\n{"id":"b","v":1}\n{"id":"c","v":1}\n');
  });

  it('refuse a damaged line anywhere else, naming the file and the line', async () => {
    const f = memoryFolder('runs/r1');
    await f.write('scores.jsonl', '{"id":"a"}\n{"id":"b"\n{"id":"c"}\n');
    const e = await caught(jsonlStore(f, 'scores.jsonl').load());
    expect(e).toBeInstanceOf(CorruptFileError);
    expect(e).toMatchObject({ file: 'runs/r1/scores.jsonl' });
    expect(e.message).toMatch(/^runs\/r1\/scores\.jsonl: line 2 is not a JSON record/);
    // A last line that is damaged but ends in a newline was not cut by a crash: it is refused too.
    await f.write('eval.jsonl', '{"id":"a"}\n{"id":\n');
    await expect(jsonlStore(f, 'eval.jsonl').load()).rejects.toThrow(/eval\.jsonl: line 2 is not a JSON record/);
  });
});

describe('JSON files', () => {
  it('a missing file is null; one that is not JSON is a CorruptFileError naming it', async () => {
    const f = memoryFolder('runs/r1');
    expect(await readJson(f, 'run.json')).toBeNull();
    await f.write('run.json', '{"version":1,');
    await expect(readJson(f, 'run.json')).rejects.toMatchObject({ name: 'CorruptFileError', file: 'runs/r1/run.json' });
  });

  it('a checkpoint whose state.json is damaged says which checkpoint and to delete it, not a bare SyntaxError', async () => {
    const f = memoryFolder('runs/r1/pipeline');
    await f.write('state.json', '{"step": 4, "losses": [');
    const e = await caught(readCheckpointState(f));
    expect(e).toBeInstanceOf(CorruptFileError);
    expect(e).toMatchObject({ file: 'runs/r1/pipeline/state.json' });
    expect(e.message).toMatch(/not valid JSON.*\nHINT: the checkpoint in runs\/r1\/pipeline is damaged: delete that folder to train again from step 0/s);
  });

  it('a checkpoint that cannot be read is an error, not "no checkpoint" (which would restart at step 0)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    mkdirSync(join(dir, 'state.json'));
    await expect(readCheckpointState(nodeFolder(dir))).rejects.toMatchObject({ name: 'StorageError', op: 'read', path: `${dir}/state.json` });
    expect(await readCheckpointState(nodeFolder(join(dir, 'none')))).toBeNull();
  });
});
