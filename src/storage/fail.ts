// What a platform error means to storage: "not found" (answered as null / [] by the caller) or a
// StorageError naming the operation and the path. Node says ENOENT, OPFS says NotFoundError.

import { EntrotuneError, StorageError } from '../errors';

export function isNotFound(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown } | null;
  return e?.code === 'ENOENT' || e?.name === 'NotFoundError';
}

function isFull(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown } | null;
  return e?.name === 'QuotaExceededError' || e?.code === 'ENOSPC' || e?.code === 'EDQUOT';
}

/** The failure as a StorageError; entrotune's own errors and a stop (AbortError) pass as they are. */
export function storageError(op: StorageError['op'], path: string, err: unknown): Error {
  if (err instanceof EntrotuneError) return err;
  const e = err as { name?: string; code?: unknown; message?: string } | null;
  if (e?.name === 'AbortError') return err as Error;
  const what = typeof e?.code === 'string' ? e.code : e?.name ?? 'Error';
  const said = e?.message ?? String(err);
  return new StorageError(op, path, said.startsWith(what) ? said : `${what}: ${said}`, isFull(err));
}

/** Run one storage operation: "not found" gives `missing()` when it is given, any other failure a StorageError. */
export async function guarded<T>(op: StorageError['op'], path: string, fn: () => Promise<T>, missing?: () => T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (missing && isNotFound(err)) return missing();
    throw storageError(op, path, err);
  }
}
