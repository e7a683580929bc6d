// The files of one opened model, wherever they are (`ModelFiles`): over bytes in memory, over files
// picked in a browser (folders in Node are ./node-files, HTTP sources ./download), and which of them
// hold the weights (model.safetensors, or the shards of model.safetensors.index.json).

import { CorruptFileError, EntrotuneError } from '../errors';
import { blobSource, memorySource, type ByteSource } from './bytes';

/** The files of one model, wherever they are. Names are relative to the model folder ("config.json"). */
export interface ModelFiles {
  /** Every file name, where the source can list them (local files, folders); null for HTTP sources. */
  list(): string[] | null;
  has(name: string): Promise<boolean>;
  /** The file parsed as JSON (CorruptFileError if it is not JSON). */
  json(name: string): Promise<unknown>;
  /** The file's bytes, read by range. */
  bytes(name: string): Promise<ByteSource>;
}

/**
 * Split a file name or cache key into path segments, refusing anything that could step out of a
 * folder (names come from JSON files we downloaded, so they are not trusted).
 */
export function pathSegments(name: string, what = 'file name'): string[] {
  const segs = name.split('/');
  for (const s of segs) {
    if (!s || s === '.' || s === '..' || s.includes('\\') || s.includes('\0')) {
      throw new EntrotuneError(`invalid ${what} '${name}'`, 'names are relative paths with "/" separators and no "." or ".." parts');
    }
  }
  return segs;
}

/** The bytes parsed as JSON; a CorruptFileError naming the file if they are not JSON. */
export async function readJson(src: ByteSource, name: string): Promise<unknown> {
  const text = new TextDecoder().decode(await src.read(0, src.size));
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CorruptFileError(name, `not valid JSON (${(err as Error).message})`);
  }
}

function missingLocal(name: string, where: string): CorruptFileError {
  return new CorruptFileError(
    name,
    `not found in ${where}`,
    'a model folder holds config.json, tokenizer.json, tokenizer_config.json and model.safetensors (or model.safetensors.index.json and its shards)',
  );
}

/** ModelFiles over bytes in memory (tests, generated tiny models). Strings are stored as UTF-8. */
export function memoryFiles(entries: Record<string, Uint8Array | string>): ModelFiles {
  const map = new Map<string, Uint8Array>();
  for (const [k, v] of Object.entries(entries)) map.set(k, typeof v === 'string' ? new TextEncoder().encode(v) : v);
  const get = (name: string): ByteSource => {
    const b = map.get(name);
    if (!b) throw missingLocal(name, 'the in-memory model');
    return memorySource(name, b);
  };
  return {
    list: () => [...map.keys()],
    has: async (name) => map.has(name),
    json: async (name) => readJson(get(name), name),
    bytes: async (name) => get(name),
  };
}

/**
 * ModelFiles over File objects picked in a browser. Files are matched by name, ignoring folders; if
 * the pick holds several files of one name (a parent folder with two models), the shallowest wins,
 * and two at the same depth are an error rather than a guess.
 */
export function pickedFiles(files: File[]): ModelFiles {
  const byName = new Map<string, File[]>();
  for (const f of files) byName.set(f.name, [...(byName.get(f.name) ?? []), f]);
  const path = (f: File) => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
  const depth = (f: File) => path(f).split('/').length;
  const find = (name: string): File | null => {
    const base = name.slice(name.lastIndexOf('/') + 1);
    const all = [...(byName.get(base) ?? [])].sort((a, b) => depth(a) - depth(b));
    if (all.length > 1 && depth(all[0]) === depth(all[1])) {
      throw new EntrotuneError(`the picked files hold several ${base} (${path(all[0])}, ${path(all[1])})`, "pick the model's own folder, not a folder above it");
    }
    return all[0] ?? null;
  };
  const get = (name: string): ByteSource => {
    const f = find(name);
    if (!f) throw missingLocal(name, 'the picked files');
    return blobSource(name, f);
  };
  return {
    list: () => [...byName.keys()],
    has: async (name) => find(name) !== null,
    json: async (name) => readJson(get(name), name),
    bytes: async (name) => get(name),
  };
}

/** The unique shard names of a model.safetensors.index.json, validated, sorted. */
export function shardNames(index: unknown, file = 'model.safetensors.index.json'): string[] {
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof index !== 'object' || index === null || typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new CorruptFileError(file, 'has no "weight_map" object (tensor name → shard file)');
  }
  const names = new Set<string>();
  for (const [tensor, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || !shard.endsWith('.safetensors')) {
      throw new CorruptFileError(file, `weight_map["${tensor}"] is ${JSON.stringify(shard)}, not a .safetensors file name`);
    }
    try {
      pathSegments(shard);
    } catch {
      throw new CorruptFileError(file, `weight_map["${tensor}"] names '${shard}', which is not a plain relative file name`);
    }
    names.add(shard);
  }
  if (names.size === 0) throw new CorruptFileError(file, 'weight_map is empty');
  return [...names].sort();
}

/** The model's weight files: ['model.safetensors'], or the shards that model.safetensors.index.json names. */
export async function safetensorsFileNames(files: ModelFiles): Promise<string[]> {
  if (await files.has('model.safetensors')) return ['model.safetensors'];
  if (await files.has('model.safetensors.index.json')) return shardNames(await files.json('model.safetensors.index.json'));
  throw new CorruptFileError(
    'model.safetensors',
    'the model has neither model.safetensors nor model.safetensors.index.json',
    'entrotune reads safetensors weights only; use a repository or folder that has them (most Hub models do)',
  );
}

