// The one storage contract. Everything entrotune keeps (checkpoints and adapters, append-only record
// files, run folders) is built on a Folder, and a Folder is written three times: memory (tests),
// a Node directory, an OPFS directory. One policy for all three:
//   - "not found" is not an error: read() answers null, list() of a missing folder [], remove() of a
//     missing name does nothing;
//   - every other failure is a StorageError that names the operation and the path (src/errors.ts);
//   - a write replaces the whole file at once (a crash leaves the old file or the new one), and the
//     writes and appends to one file happen one at a time, in the order they were called.

import { EntrotuneError } from '../errors';

/** Where files are written and read by name: what training writes checkpoints and adapters into. */
export interface FileSink {
  /** Where it is, for messages: "runs/demo/pipeline", "OPFS runs/abc", "memory". */
  readonly where: string;
  write(name: string, data: Uint8Array | string): Promise<void>;
  /** The file's bytes, or null when there is no such file. */
  read(name: string): Promise<Uint8Array | null>;
}

export interface Folder extends FileSink {
  /** Add text to the end of a file (created when missing). */
  append(name: string, text: string): Promise<void>;
  /** The names of the sub-folders ([] when this folder does not exist). */
  list(): Promise<string[]>;
  /** Delete a file or a sub-folder with everything in it. */
  remove(name: string): Promise<void>;
  /** A sub-folder ("a" or "a/b"), made when something is written into it. */
  folder(path: string): Folder;
}

/** The parts of a sub-folder path, refusing what would leave the folder. */
export function pathParts(path: string): string[] {
  const parts = path.split('/');
  if (parts.some((p) => !p || p === '.' || p === '..')) throw new EntrotuneError(`'${path}' is not a folder or file name inside the folder`, 'use names without empty parts, "." or ".."');
  return parts;
}

/** A file name of this folder (no "/"). */
export function fileName(name: string): string {
  if (pathParts(name).length > 1) throw new EntrotuneError(`'${name}' is a path, not a file name`, 'open the sub-folder with folder() first');
  return name;
}

export const textBytes = (data: Uint8Array | string): Uint8Array => (typeof data === 'string' ? new TextEncoder().encode(data) : data);
