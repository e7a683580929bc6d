// Append-only record files (JSON lines): scores, teacher replies and evaluations, kept as they are
// made so that an interrupted run resumes where it stopped. A record is a line. The last line of a
// file that does not end in a newline was cut short by a crash mid-append: it is dropped (its example
// is done again) and cut off the file before the next append. Any other line that is not JSON is a
// CorruptFileError naming the file and the line: dropping it would silently redo, or lose, work.

import { CorruptFileError } from '../errors';
import type { Folder } from './folder';
import { memoryFolder } from './memory';
import { nodeFolder } from './node';
import { opfsFolder } from './opfs';

export interface RecordStore<T extends { id: string }> {
  /** Every complete record, in the order written. */
  load(): Promise<T[]>;
  /** Append records durably (one write per call). */
  append(records: T[]): Promise<void>;
}

/** The records of a JSON-lines text; `unterminated`: the text does not end in a newline (a torn last line was dropped, if any). */
export function parseJsonLines<T>(text: string, file: string): { records: T[]; unterminated: boolean } {
  const records: T[] = [];
  const lines = text.split('\n');
  const unterminated = text.length > 0 && !text.endsWith('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    try {
      records.push(JSON.parse(lines[i]) as T);
    } catch (err) {
      if (unterminated && i === lines.length - 1) break; // the torn last line of a crash mid-append
      throw new CorruptFileError(file, `line ${i + 1} is not a JSON record (${(err as Error).message})`,
        'something other than entrotune changed the file, or the disk is damaged: remove that line (its example is then done again) or delete the file');
    }
  }
  return { records, unterminated };
}

const asLines = (records: { id: string }[]) => records.map((r) => JSON.stringify(r) + '\n').join('');

/** The record file `name` of a folder. */
export function jsonlStore<T extends { id: string }>(folder: Folder, name: string): RecordStore<T> {
  const path = `${folder.where}/${name}`;
  const load = async () => {
    const bytes = await folder.read(name);
    if (!bytes) return [];
    const { records, unterminated } = parseJsonLines<T>(new TextDecoder().decode(bytes), path);
    // Without the torn tail, so that the next append starts on a line of its own.
    if (unterminated) await folder.write(name, asLines(records));
    return records;
  };
  // The first append waits for a first load (and its repair), once per store.
  let loaded: Promise<unknown> | null = null;
  return {
    load() {
      const p = load();
      loaded ??= p;
      return p;
    },
    async append(records) {
      if (!records.length) return;
      await (loaded ??= load());
      await folder.append(name, asLines(records));
    },
  };
}

/** Records in memory (tests); `records` is what the file holds now. */
export function memoryStore<T extends { id: string }>(initial: T[] = []): RecordStore<T> & { readonly records: T[] } {
  const folder = memoryFolder();
  if (initial.length) folder.files.set('records.jsonl', new TextEncoder().encode(asLines(initial)));
  const text = () => new TextDecoder().decode(folder.files.get('records.jsonl') ?? new Uint8Array());
  const { load, append } = jsonlStore<T>(folder, 'records.jsonl');
  return { load, append, get records() { return parseJsonLines<T>(text(), 'memory/records.jsonl').records; } };
}

/** Node: a JSON-lines file (its folder is made now). */
export async function fileStore<T extends { id: string }>(path: string): Promise<RecordStore<T>> {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  const dir = cut > 0 ? path.slice(0, cut) : '.';
  await (await import('node:fs/promises')).mkdir(dir, { recursive: true });
  return jsonlStore<T>(nodeFolder(dir), path.slice(cut + 1));
}

/** Browser: a JSON-lines file in OPFS (directory path like ['runs', runId], file name). */
export function opfsStore<T extends { id: string }>(dir: string[], name: string): RecordStore<T> {
  return jsonlStore<T>(opfsFolder(dir), name);
}
