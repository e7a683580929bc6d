// Where per-example results are kept as they are made, so an interrupted run resumes where it
// stopped: a JSON-lines file in Node, an OPFS file in the browser, memory in tests. A record is a
// line; a line cut short by a crash is dropped on load (and the example scored again).

import { serialised } from '../util/serial';

export interface RecordStore<T extends { id: string }> {
  /** Every complete record, in the order written. */
  load(): Promise<T[]>;
  /** Append records durably (one write per call). */
  append(records: T[]): Promise<void>;
}

export function parseJsonLines<T>(text: string): T[] {
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // a torn last line from a crash mid-write: ignore it; the example is redone
    }
  }
  return out;
}

export function memoryStore<T extends { id: string }>(initial: T[] = []): RecordStore<T> & { records: T[] } {
  const records = [...initial];
  return {
    records,
    async load() {
      return [...records];
    },
    async append(rs) {
      records.push(...rs);
    },
  };
}

/** Node: a JSON-lines file, appended to. */
export async function fileStore<T extends { id: string }>(path: string): Promise<RecordStore<T>> {
  const { readFile, appendFile, writeFile, mkdir } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  await mkdir(dirname(path), { recursive: true });
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch {
        return [];
      }
      const records = parseJsonLines<T>(text);
      // Rewrite without a torn tail so the next append starts on a fresh line.
      if (text && !text.endsWith('\n')) await writeFile(path, records.map((r) => JSON.stringify(r) + '\n').join(''));
      return records;
    },
    async append(rs) {
      if (rs.length) await appendFile(path, rs.map((r) => JSON.stringify(r) + '\n').join(''));
    },
  };
}

/** Browser: a JSON-lines file in OPFS (directory path like ['runs', runId], file name). */
export function opfsStore<T extends { id: string }>(dir: string[], name: string): RecordStore<T> {
  const handle = async () => {
    let d = await navigator.storage.getDirectory();
    for (const part of dir) d = await d.getDirectoryHandle(part, { create: true });
    return d.getFileHandle(name, { create: true });
  };
  return {
    async load() {
      return parseJsonLines<T>(await (await (await handle()).getFile()).text());
    },
    // One append at a time per file (see util/serial.ts).
    append(rs) {
      if (!rs.length) return Promise.resolve();
      return serialised(`opfs:${[...dir, name].join('/')}`, async () => {
        const h = await handle();
        const size = (await h.getFile()).size;
        const w = await h.createWritable({ keepExistingData: true });
        await w.seek(size);
        await w.write(rs.map((r) => JSON.stringify(r) + '\n').join(''));
        await w.close();
      });
    },
  };
}
