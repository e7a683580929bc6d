// Where a pipeline run keeps what it makes, so that closing the tab or killing the process loses
// nothing: the scores, every teacher reply, each method's checkpoints and adapter, the evaluation
// records and the report (a folder of its own), and the folder of all runs (OPFS `runs/` in the
// browser, a directory in Node, memory in tests).

import { EntrotuneError } from '../errors';
import type { FileSink, Folder } from './folder';
import { memoryFolder } from './memory';
import { nodeFolder } from './node';
import { opfsFolder, type OpfsRoot } from './opfs';
import { jsonlStore, type RecordStore } from './records';

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

export function runStorage(folder: Folder): RunStorage {
  return {
    where: folder.where,
    records: async (name) => jsonlStore(folder, name),
    sink: async (sub) => folder.folder(sub),
    write: (name, data) => folder.write(name, data),
    read: (name) => folder.read(name),
  };
}

/** Node: a run in a directory (made now). */
export async function nodeRunStorage(dir: string): Promise<RunStorage> {
  await (await import('node:fs/promises')).mkdir(dir, { recursive: true });
  return runStorage(nodeFolder(dir));
}

export const opfsRunStorage = (path: string[]): RunStorage => runStorage(opfsFolder(path));
export const memoryRunStorage = (): RunStorage => runStorage(memoryFolder());

/** The folder of all runs, one sub-folder a run. */
export interface RunFolders {
  open(id: string): RunStorage;
  /** The runs' ids ([] when there is no folder of runs yet). */
  list(): Promise<string[]>;
  remove(id: string): Promise<void>;
}

export function runFolders(top: Folder): RunFolders {
  return {
    open: (id) => runStorage(top.folder(checkRunId(id))),
    list: () => top.list(),
    remove: (id) => top.remove(checkRunId(id)),
  };
}

export const opfsRunFolders = (top = 'runs', root?: OpfsRoot): RunFolders => runFolders(opfsFolder([top], root));
export const nodeRunFolders = (dir: string): RunFolders => runFolders(nodeFolder(dir));
export const memoryRunFolders = (): RunFolders => runFolders(memoryFolder('memory runs'));

export function checkRunId(id: string): string {
  if (!/^[\w.-]{1,80}$/.test(id) || id.startsWith('.')) throw new EntrotuneError(`run id '${id}' is not a folder name`, 'use letters, digits, - _ and . only');
  return id;
}
