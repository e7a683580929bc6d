// A JSON file of a folder: run.json, score.json, report.json, a checkpoint's state.json.

import { CorruptFileError } from '../errors';
import type { FileSink } from './folder';

/** The parsed file, null when there is none; a file that is not JSON is a CorruptFileError naming it. */
export async function readJson<T>(sink: FileSink, name: string, hint = 'something other than entrotune changed or cut the file: restore it, or delete what it belongs to'): Promise<T | null> {
  const bytes = await sink.read(name);
  if (!bytes) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (err) {
    throw new CorruptFileError(`${sink.where}/${name}`, `not valid JSON (${(err as Error).message})`, hint);
  }
}
