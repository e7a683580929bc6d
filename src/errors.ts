// The short list of named errors. Every message ends with what to do next (a "HINT"), and every
// class carries a stable `code` so that errors crossing a worker boundary can be rebuilt as themselves.

export class EntrotuneError extends Error {
  readonly code: string = 'ENTROTUNE';
  override name = 'EntrotuneError';
  constructor(message: string, readonly hint = '') {
    super(hint ? `${message}\nHINT: ${hint}` : message);
  }
}

/** No WebGPU in this browser or Node process. */
export class WebGpuUnavailableError extends EntrotuneError {
  override readonly code = 'WEBGPU_UNAVAILABLE';
  override name = 'WebGpuUnavailableError'; // explicit: minified builds rename classes
}

/** The adapter cannot give what a plan or kernel needs (buffer size, workgroup storage, ...). */
export class LimitTooLowError extends EntrotuneError {
  override readonly code = 'LIMIT_TOO_LOW';
  override name = 'LimitTooLowError'; // explicit: minified builds rename classes
  constructor(
    readonly limit: string,
    readonly needed: number,
    readonly available: number,
    hint: string,
  ) {
    super(`${limit}: needs ${needed}, the device allows ${available}`, hint);
  }
}

/** The GPU device was lost (driver reset, tab in background too long, out of memory, destroy()). */
export class DeviceLostError extends EntrotuneError {
  override readonly code = 'DEVICE_LOST';
  override name = 'DeviceLostError'; // explicit: minified builds rename classes
  constructor(readonly reason: string, message: string) {
    super(
      `WebGPU device lost (${reason}): ${message}`,
      'work done so far is kept in the last checkpoint; create a new device and resume the run',
    );
  }
}

/** A WGSL shader failed to compile or a pipeline failed validation. */
export class ShaderCompileError extends EntrotuneError {
  override readonly code = 'SHADER_COMPILE';
  override name = 'ShaderCompileError'; // explicit: minified builds rename classes
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}:${column}: ${detail}`, 'this is a bug in entrotune or an unsupported driver; please report it with the adapter name');
  }
}

/** A WebGPU validation or out-of-memory error outside shader compilation. */
export class GpuError extends EntrotuneError {
  override readonly code = 'GPU_ERROR';
  override name = 'GpuError'; // explicit: minified builds rename classes
}

/** A kernel was called with tensors whose shapes or sizes do not agree. */
export class ShapeError extends EntrotuneError {
  override readonly code = 'SHAPE';
  override name = 'ShapeError'; // explicit: minified builds rename classes
}

/** A model or data file is damaged or not what it claims: names the file, the tensor, the byte range. */
export class CorruptFileError extends EntrotuneError {
  override readonly code = 'CORRUPT_FILE';
  override name = 'CorruptFileError'; // explicit: minified builds rename classes
  constructor(
    readonly file: string,
    detail: string,
    hint = 'download the file again; if it keeps failing, the published file itself is broken',
  ) {
    super(`${file}: ${detail}`, hint);
  }
}

/** config.json describes an architecture or a field entrotune does not support. */
export class UnsupportedModelError extends EntrotuneError {
  override readonly code = 'UNSUPPORTED_MODEL';
  override name = 'UnsupportedModelError'; // explicit: minified builds rename classes
}

/** A download failed (network, HTTP status, size mismatch); nothing partial was kept. */
export class DownloadError extends EntrotuneError {
  override readonly code = 'DOWNLOAD';
  override name = 'DownloadError'; // explicit: minified builds rename classes
  /** A network failure, a busy server (429, 5xx) or a cut connection: trying again may work, so the
   * files finished so far stay in the cache. False for 404s, refused access and the like. */
  constructor(message: string, hint = '', readonly transient = false) {
    super(message, hint);
  }
}

/** Browser storage cannot hold what is about to be written. */
export class QuotaExceededError extends EntrotuneError {
  override readonly code = 'QUOTA_EXCEEDED';
  override name = 'QuotaExceededError'; // explicit: minified builds rename classes
}

/** A dataset file or row is not a usable multiple-choice question: names the file and the line (or row). */
export class DatasetError extends EntrotuneError {
  override readonly code = 'DATASET';
  override name = 'DatasetError'; // explicit: minified builds rename classes
  constructor(
    readonly file: string,
    readonly line: number | null,
    detail: string,
    hint = 'fix or remove that row, or load the dataset with invalid rows skipped',
    unit: 'line' | 'row' = 'line',
  ) {
    super(line === null ? `${file}: ${detail}` : `${file}, ${unit} ${line}: ${detail}`, hint);
  }
}

/** A teacher failed in a way a retry will not fix (bad key, unknown model, no network): the run stops; answers so far are kept. */
export class TeacherError extends EntrotuneError {
  override readonly code = 'TEACHER';
  override name = 'TeacherError'; // explicit: minified builds rename classes
}

/** Reading, writing, listing or removing stored files failed in any way but "not found" (which storage
 *  answers with null): names the operation and the path (OPFS's own errors name neither). */
export class StorageError extends EntrotuneError {
  override readonly code = 'STORAGE';
  override name = 'StorageError'; // explicit: minified builds rename classes
  constructor(
    readonly op: 'read' | 'write' | 'append' | 'list' | 'remove',
    readonly path: string,
    /** What the platform said, e.g. "EACCES: permission denied" or "QuotaExceededError: …". */
    readonly reason: string,
    /** The disk or the browser's storage quota is full. */
    readonly full = false,
    hint = full
      ? 'free storage (in the browser: remove cached models or old runs; in Node: disk space), then run it again: what was stored before is kept'
      : 'check that the place can be read and written; what was stored before is kept, so running it again resumes',
  ) {
    super(`could not ${op} ${path}: ${reason}`, hint);
  }
}

/** Every class, by its code: the receiving side of a worker boundary rebuilds errors from this table
 *  (tests/unit/errors.test.ts checks that no class of this file is missing). */
const byCode: Record<string, { prototype: EntrotuneError }> = {
  ENTROTUNE: EntrotuneError,
  WEBGPU_UNAVAILABLE: WebGpuUnavailableError,
  LIMIT_TOO_LOW: LimitTooLowError,
  DEVICE_LOST: DeviceLostError,
  SHADER_COMPILE: ShaderCompileError,
  GPU_ERROR: GpuError,
  SHAPE: ShapeError,
  CORRUPT_FILE: CorruptFileError,
  UNSUPPORTED_MODEL: UnsupportedModelError,
  DOWNLOAD: DownloadError,
  QUOTA_EXCEEDED: QuotaExceededError,
  DATASET: DatasetError,
  TEACHER: TeacherError,
  STORAGE: StorageError,
};

/** A value that survives structured cloning and JSON alike: what an error field may carry across. */
type Plain = string | number | boolean | null | Plain[] | { [k: string]: Plain };

function isPlain(v: unknown): v is Plain {
  if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) return true;
  if (Array.isArray(v)) return v.every(isPlain);
  return typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && Object.values(v as object).every(isPlain);
}

/** A plain, structured-clone-safe description of an error, for crossing worker boundaries. */
export interface SerializedError {
  name: string;
  /** The class's code ('UNKNOWN' for errors that are not entrotune's). */
  code: string;
  message: string;
  stack?: string;
  /** Every other own field (file, line, hint, transient, ...): whatever a class declares comes along. */
  fields: Record<string, Plain>;
}

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', code: 'UNKNOWN', message: String(err), fields: {} };
  const ours = err instanceof EntrotuneError;
  // Entrotune's `code` names the class; any other error's (a Node error's ENOENT) is a field like the rest.
  const top = ours ? ['name', 'code', 'message', 'stack'] : ['name', 'message', 'stack'];
  const fields: Record<string, Plain> = {};
  for (const [k, v] of Object.entries(err)) if (!top.includes(k) && isPlain(v)) fields[k] = v;
  return { name: err.name, code: ours ? err.code : 'UNKNOWN', message: err.message, stack: err.stack, fields };
}

/** Rebuild an error on the receiving side as its own class, with its message (hint included) word for
 *  word and every field it had. */
export function deserializeError(e: SerializedError): Error {
  const Cls = byCode[e.code];
  const err: Error = Cls ? Object.create(Cls.prototype) : new Error(e.message);
  const props: Record<string, unknown> = { ...e.fields, name: e.name, message: e.message, stack: e.stack ?? `${e.name}: ${e.message}` };
  if (Cls) props.code = e.code;
  for (const [k, value] of Object.entries(props)) {
    Object.defineProperty(err, k, { value, writable: true, configurable: true, enumerable: !['message', 'stack'].includes(k) });
  }
  return err;
}
