// A Folder over an OPFS directory (the browser's origin-private file system). Folders are made when
// something is written into them, never by reading. A file is written whole to a temporary copy that
// then replaces it; writes and appends to one file are queued (OPFS refuses two writables on a file).

import { serialised } from '../util/serial';
import { guarded, isNotFound } from './fail';
import { fileName, pathParts, textBytes, type Folder } from './folder';

/** The OPFS root; tests give one of their own. */
export type OpfsRoot = () => Promise<FileSystemDirectoryHandle>;

const browserRoot: OpfsRoot = () => navigator.storage.getDirectory();

/** The directory at `path` below `top`; null when it (or a folder above it) does not exist and `create` is false. */
export async function opfsDirectory(top: FileSystemDirectoryHandle, path: string[], create: boolean): Promise<FileSystemDirectoryHandle | null> {
  let d = top;
  for (const p of path) {
    try {
      d = await d.getDirectoryHandle(p, { create });
    } catch (err) {
      if (!create && isNotFound(err)) return null;
      throw err;
    }
  }
  return d;
}

export function opfsFolder(path: string[], root: OpfsRoot = browserRoot): Folder {
  const where = `OPFS ${path.join('/')}`;
  const at = (name: string) => `${where}/${fileName(name)}`;
  const key = (name: string) => `opfs:${[...path, name].join('/')}`;
  const dir = async (create: boolean) => opfsDirectory(await root(), path, create);
  const replace = async (name: string, data: Uint8Array | string) => {
    const d = (await dir(true))!;
    const tmp = await d.getFileHandle(`.${name}.tmp`, { create: true });
    const w = await tmp.createWritable();
    await w.write(textBytes(data) as Uint8Array<ArrayBuffer>);
    await w.close();
    const h = await d.getFileHandle(name, { create: true });
    const w2 = await h.createWritable();
    await w2.write(await (await tmp.getFile()).arrayBuffer());
    await w2.close();
    await d.removeEntry(`.${name}.tmp`);
  };
  return {
    where,
    write: async (name, data) => serialised(key(name), () => guarded('write', at(name), () => replace(name, data))),
    read: async (name) => guarded('read', at(name), async () => {
      const d = await dir(false);
      if (!d) return null;
      return new Uint8Array(await (await (await d.getFileHandle(name)).getFile()).arrayBuffer());
    }, () => null),
    append: async (name, text) => serialised(key(name), () => guarded('append', at(name), async () => {
      const h = await (await dir(true))!.getFileHandle(name, { create: true });
      const size = (await h.getFile()).size;
      const w = await h.createWritable({ keepExistingData: true });
      await w.seek(size);
      await w.write(text);
      await w.close();
    })),
    list: async () => guarded('list', where, async () => {
      const d = await dir(false);
      const out: string[] = [];
      if (!d) return out;
      for await (const [name, h] of (d as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) if (h.kind === 'directory') out.push(name);
      return out;
    }),
    remove: async (name) => guarded('remove', at(name), async () => {
      await (await dir(false))?.removeEntry(name, { recursive: true });
    }, () => undefined),
    folder: (sub) => opfsFolder([...path, ...pathParts(sub)], root),
  };
}
