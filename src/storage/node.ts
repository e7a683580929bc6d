// A Folder over a Node directory (the CLI, tests). node:fs is imported when first used, so that the
// browser build never loads it. A write goes to a temporary file that is then renamed over the old one.

import { serialised } from '../util/serial';
import { guarded } from './fail';
import { fileName, pathParts, type Folder } from './folder';

const fs = () => import('node:fs/promises');

export function nodeFolder(path: string): Folder {
  const dir = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const at = (name: string) => `${dir}/${fileName(name)}`;
  return {
    where: dir,
    write: async (name, data) => serialised(`node:${at(name)}`, () => guarded('write', at(name), async () => {
      const { mkdir, rename, writeFile } = await fs();
      await mkdir(dir, { recursive: true });
      const tmp = `${dir}/.${name}.tmp`;
      await writeFile(tmp, data);
      await rename(tmp, at(name));
    })),
    read: async (name) => guarded('read', at(name), async () => new Uint8Array(await (await fs()).readFile(at(name))), () => null),
    append: async (name, text) => serialised(`node:${at(name)}`, () => guarded('append', at(name), async () => {
      const { appendFile, mkdir } = await fs();
      await mkdir(dir, { recursive: true });
      await appendFile(at(name), text);
    })),
    list: async () => guarded('list', dir, async () => {
      const entries = await (await fs()).readdir(dir, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name);
    }, () => []),
    remove: async (name) => guarded('remove', at(name), async () => (await fs()).rm(at(name), { recursive: true, force: true })),
    folder: (path) => nodeFolder(`${dir}/${pathParts(path).join('/')}`),
  };
}
