// The sinks training writes checkpoints and adapters into, by the names the rest of the code uses.

import type { FileSink } from './folder';
import { memoryFolder, type MemoryFolder } from './memory';
import { nodeFolder } from './node';
import { opfsFolder } from './opfs';

/** A Node directory (made now, so that a path that cannot be a folder fails here). */
export async function nodeDirSink(dir: string): Promise<FileSink> {
  await (await import('node:fs/promises')).mkdir(dir, { recursive: true });
  return nodeFolder(dir);
}

export const opfsSink = (path: string[]): FileSink => opfsFolder(path);
export const memorySink = (): MemoryFolder => memoryFolder();
