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
};

/** Later modules add their error classes here so they survive a worker boundary. */
export function registerErrorClass(code: string, cls: { prototype: EntrotuneError }): void {
  byCode[code] = cls;
}

/** A plain, structured-clone-safe description of an error, for crossing worker boundaries. */
export interface SerializedError {
  name: string;
  code: string;
  message: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof EntrotuneError) return { name: err.name, code: err.code, message: err.message };
  if (err instanceof Error) return { name: err.name, code: 'UNKNOWN', message: err.message };
  return { name: 'Error', code: 'UNKNOWN', message: String(err) };
}

/** Rebuild an error on the receiving side; the message (hint included) is kept word for word. */
export function deserializeError(e: SerializedError): Error {
  const Cls = byCode[e.code];
  if (!Cls) return Object.assign(new Error(e.message), { name: e.name });
  const err = Object.create(Cls.prototype) as EntrotuneError;
  for (const [k, v] of Object.entries({ name: e.name, message: e.message, code: e.code, stack: `${e.name}: ${e.message}` })) {
    Object.defineProperty(err, k, { value: v, writable: true, configurable: true });
  }
  return err;
}
