// Typed errors cross the worker boundary as themselves: the class, the message word for word and
// every field (a file's byte range, a dataset line, a limit's numbers, a download's `transient`, the
// hint). The page shows the hint on a line of its own.
import { describe, expect, it } from 'vitest';
import * as errors from '../../src/errors';
import {
  CorruptFileError, DatasetError, DeviceLostError, DownloadError, EntrotuneError, GpuError, LimitTooLowError, QuotaExceededError,
  ShaderCompileError, ShapeError, StorageError, TeacherError, UnsupportedModelError, WebGpuUnavailableError, deserializeError, serializeError,
} from '../../src/errors';
import { describeError } from '../../src/ui/dom';

/** Across a worker: serialised, structured-cloned (what postMessage does), rebuilt. */
const across = (e: unknown) => deserializeError(structuredClone(serializeError(e)));

const samples: EntrotuneError[] = [
  new EntrotuneError('no model is loaded', 'load a model first'),
  new WebGpuUnavailableError('this browser has no WebGPU', 'use Chrome'),
  new LimitTooLowError('maxStorageBufferBindingSize', 268435456, 134217728, 'lower the batch size'),
  new DeviceLostError('destroyed', 'the device was destroyed'),
  new ShaderCompileError('matmul.wgsl', 12, 5, "unresolved value 'x'"),
  new GpuError('out of memory', 'use a smaller batch'),
  new ShapeError('X is [2, 3], W is [4, 5]'),
  new CorruptFileError('model.safetensors', 'tensor lm_head.weight: bytes 1024..4096 lie past the end of the file (2048 bytes)'),
  new UnsupportedModelError('architecture GPT2LMHeadModel', 'use a Llama, Qwen2 or Qwen3 model'),
  new DownloadError('HTTP 503 for config.json', 'try again later', true),
  new QuotaExceededError('the model needs 2 GiB more', 'free storage'),
  new DatasetError('mmlu.jsonl', 17, 'no answer field'),
  new TeacherError('the API key was refused', 'check the key'),
  new StorageError('write', 'OPFS runs/r1/run.json', 'QuotaExceededError: the quota has been exceeded', true),
];

describe('errors across the worker boundary', () => {
  it('the samples cover every error class of src/errors.ts (a new class must be added here and to its table)', () => {
    const classes = Object.values(errors).filter((v) => typeof v === 'function' && (v === EntrotuneError || v.prototype instanceof EntrotuneError));
    expect(new Set(samples.map((s) => s.constructor))).toEqual(new Set(classes));
  });

  it.each(samples.map((e) => [e.name, e] as const))('%s keeps its class, message and every field', (_, e) => {
    const back = across(e);
    expect(back.constructor).toBe(e.constructor);
    expect(back).toBeInstanceOf(EntrotuneError);
    expect(back.name).toBe(e.name);
    expect(back.message).toBe(e.message);
    expect({ ...back }).toEqual({ ...e }); // every own field: code, hint, file, line, needed, transient, path, ...
  });

  it('names the fields the page needs', () => {
    expect(across(samples[7])).toMatchObject({ file: 'model.safetensors', hint: expect.stringMatching(/download the file again/) });
    expect(across(samples[11])).toMatchObject({ file: 'mmlu.jsonl', line: 17, hint: expect.stringMatching(/fix or remove that row/) });
    expect(across(samples[2])).toMatchObject({ limit: 'maxStorageBufferBindingSize', needed: 268435456, available: 134217728 });
    expect(across(samples[9])).toMatchObject({ transient: true });
    expect(across(samples[13])).toMatchObject({ op: 'write', path: 'OPFS runs/r1/run.json', full: true });
  });

  it('an error that is not entrotune\'s keeps its name, message and fields (a Node error\'s code and path)', () => {
    const e = Object.assign(new Error("ENOENT: no such file or directory, open '/x/state.json'"), { code: 'ENOENT', path: '/x/state.json', errno: -2 });
    const back = across(e);
    expect(back).not.toBeInstanceOf(EntrotuneError);
    expect(back).toMatchObject({ name: 'Error', message: e.message, code: 'ENOENT', path: '/x/state.json', errno: -2 });
    expect(across(new DOMException('stopped', 'AbortError'))).toMatchObject({ name: 'AbortError', message: 'stopped' });
    expect(across('a string')).toMatchObject({ message: 'a string' });
  });

  it('the page shows the hint on a line of its own', () => {
    expect(describeError(across(samples[7]))).toBe(
      'CorruptFileError: model.safetensors: tensor lm_head.weight: bytes 1024..4096 lie past the end of the file (2048 bytes)\nHINT: download the file again; if it keeps failing, the published file itself is broken',
    );
    // A hint that the message does not carry is shown all the same.
    const bare = Object.assign(new Error('it failed'), { name: 'TeacherError', hint: 'check the key' });
    expect(describeError(bare)).toBe('TeacherError: it failed\nHINT: check the key');
    expect(describeError(new TypeError('x is undefined'))).toBe('TypeError: x is undefined');
  });
});
