// A Folder in memory: tests, and the engine where there is nowhere to keep runs. Like the others, a
// sub-folder exists once something is written into it.

import { fileName, pathParts, textBytes, type Folder } from './folder';

interface Node {
  files: Map<string, Uint8Array>;
  folders: Map<string, Node>;
}

export interface MemoryFolder extends Folder {
  /** This folder's files (tests look at them and tear them). */
  readonly files: Map<string, Uint8Array>;
}

const empty = (): Node => ({ files: new Map(), folders: new Map() });

export function memoryFolder(where = 'memory'): MemoryFolder {
  return view(empty(), [], where);
}

function view(root: Node, path: string[], where: string): MemoryFolder {
  /** This folder's node; null when it was never written to and `create` is false. */
  const node = (create: boolean): Node | null => {
    let n = root;
    for (const p of path) {
      if (!n.folders.has(p)) {
        if (!create) return null;
        n.folders.set(p, empty());
      }
      n = n.folders.get(p)!;
    }
    return n;
  };
  return {
    where,
    get files() {
      return node(true)!.files;
    },
    async write(name, data) {
      node(true)!.files.set(fileName(name), textBytes(data).slice());
    },
    async read(name) {
      return node(false)?.files.get(fileName(name))?.slice() ?? null;
    },
    async append(name, text) {
      const files = node(true)!.files;
      const old = files.get(fileName(name)) ?? new Uint8Array();
      const add = textBytes(text);
      const both = new Uint8Array(old.length + add.length);
      both.set(old);
      both.set(add, old.length);
      files.set(name, both);
    },
    async list() {
      return [...(node(false)?.folders.keys() ?? [])];
    },
    async remove(name) {
      const n = node(false);
      n?.files.delete(name);
      n?.folders.delete(name);
    },
    folder: (sub) => {
      const parts = pathParts(sub);
      return view(root, [...path, ...parts], `${where}/${parts.join('/')}`);
    },
  };
}
