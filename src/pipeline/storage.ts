// Where a pipeline run keeps what it makes, so that closing the tab or killing the process loses
// nothing: the scores, every teacher reply, each method's checkpoints and adapter, the evaluation
// records and the report. A folder in Node, an OPFS directory in the browser, memory in tests.

import { fileStore, memoryStore, opfsStore, type RecordStore } from '../score/store';
import { nodeDirSink, opfsSink, type FileSink } from '../train/checkpoint';

export interface RunStorage {
  /** An append-only JSON-lines store, e.g. "scores.jsonl". */
  records<T extends { id: string }>(name: string): Promise<RecordStore<T>>;
  /** A folder of files (checkpoints, the adapter), e.g. "pipeline". */
  sink(folder: string): Promise<FileSink>;
  /** A top-level file (the report, the routed data). */
  write(name: string, data: string | Uint8Array): Promise<void>;
  read(name: string): Promise<Uint8Array | null>;
  /** Where it is, for messages ("runs/demo", "OPFS runs/abc"). */
  readonly where: string;
}

export async function nodeRunStorage(dir: string): Promise<RunStorage> {
  const { join } = await import('node:path');
  const top = await nodeDirSink(dir);
  return {
    where: dir,
    records: (name) => fileStore(join(dir, name)),
    sink: (folder) => nodeDirSink(join(dir, folder)),
    write: (name, data) => top.write(name, data),
    read: (name) => top.read(name),
  };
}

export function opfsRunStorage(path: string[]): RunStorage {
  const top = opfsSink(path);
  return {
    where: `OPFS ${path.join('/')}`,
    records: async (name) => opfsStore(path, name),
    sink: async (folder) => opfsSink([...path, ...folder.split('/')]),
    write: (name, data) => top.write(name, data),
    read: (name) => top.read(name),
  };
}

export function memorySink(): FileSink & { files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return {
    files,
    async write(name, data) {
      files.set(name, typeof data === 'string' ? new TextEncoder().encode(data) : data.slice());
    },
    async read(name) {
      return files.get(name) ?? null;
    },
  };
}

export function memoryRunStorage(): RunStorage {
  const stores = new Map<string, RecordStore<never>>();
  const sinks = new Map<string, FileSink>();
  const top = memorySink();
  return {
    where: 'memory',
    records: async <T extends { id: string }>(name: string) => {
      if (!stores.has(name)) stores.set(name, memoryStore<never>());
      return stores.get(name) as unknown as RecordStore<T>;
    },
    sink: async (folder) => {
      if (!sinks.has(folder)) sinks.set(folder, memorySink());
      return sinks.get(folder)!;
    },
    write: (name, data) => top.write(name, data),
    read: (name) => top.read(name),
  };
}
