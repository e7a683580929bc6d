// Where model files come from: the Hugging Face Hub, any static server with the same files, files
// picked from disk in a browser, or a folder in Node. This file is what a source is, how one is read
// from text, and the names an HTTP source goes by (its cache id, its file URLs). Every source is opened
// (./download) as one `ModelFiles` (./model-files), so the loader asks for "config.json" or
// "model-00001-of-00002.safetensors" without knowing where it is; HTTP sources are kept in a
// `ModelCache` (./model-cache).

import { EntrotuneError } from '../errors';


/** A model repository on the Hugging Face Hub: https://huggingface.co/{repo}/resolve/{revision}/{file}. */
export interface HubSource {
  kind: 'hub';
  /** "owner/name", e.g. "Qwen/Qwen2.5-0.5B-Instruct". */
  repo: string;
  /** Branch, tag or commit; default 'main'. */
  revision?: string;
}

/** Any static server holding the same files as a Hub repository: `${baseUrl}/${file}`. */
export interface UrlSource {
  kind: 'url';
  baseUrl: string;
}

/** Files picked from disk in a browser (a directory picker or <input webkitdirectory>); matched by name. */
export interface FilesSource {
  kind: 'files';
  files: File[];
}

/** A folder on disk (Node only). */
export interface DirSource {
  kind: 'dir';
  path: string;
}

export type HttpSource = HubSource | UrlSource;
export type ModelSource = HubSource | UrlSource | FilesSource | DirSource;

export const HUB_URL = 'https://huggingface.co';

/** Hub repo ids: "owner/name", letters, digits, '-', '_', '.', no "--" or ".." (the Hub's own rule). */
const HUB_REPO = /^[A-Za-z0-9][\w.-]{0,95}\/[A-Za-z0-9][\w.-]{0,95}$/;

function isHubRepo(repo: string): boolean {
  return HUB_REPO.test(repo) && !repo.includes('--') && !repo.includes('..') && !/[.-]$/.test(repo);
}

/**
 * Read a model source from text (a CLI argument, a text box):
 *   "Qwen/Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct@v1.0"  → hub (revision after '@')
 *   "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct[/tree/rev]"   → hub (a pasted Hub page)
 *   "http://localhost:8000/models/tiny"                               → url
 *   an existing folder (checked with `isDir`)                         → dir
 * A folder wins over a Hub id with the same spelling, as in transformers' from_pretrained. `isDir`
 * defaults to node:fs in Node and to "no folders" in browsers, so this stays browser-safe.
 */
export function parseModelSource(text: string, isDir: ((path: string) => boolean) | null = defaultIsDir()): ModelSource {
  const s = text.trim();
  const hint = 'give a Hub repository as owner/name (optionally @revision), an http(s) URL of a folder with the model files, or (in Node) a folder on disk';
  if (!s) throw new EntrotuneError('empty model source', hint);
  if (/^https?:\/\//i.test(s)) {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      throw new EntrotuneError(`model source '${s}' is not a valid URL`, hint);
    }
    // A Hub page pasted from the address bar: /{owner}/{name}[/tree|resolve|blob/{revision}].
    if (url.hostname === 'huggingface.co' && !url.search) {
      const m = /^\/([^/]+\/[^/]+?)(?:\/(?:tree|resolve|blob)\/([^/]+))?\/?$/.exec(url.pathname);
      if (m && isHubRepo(m[1])) return m[2] ? { kind: 'hub', repo: m[1], revision: decodeURIComponent(m[2]) } : { kind: 'hub', repo: m[1] };
    }
    return { kind: 'url', baseUrl: s.replace(/\/+$/, '') };
  }
  if (isDir?.(s)) return { kind: 'dir', path: s };
  const at = s.indexOf('@');
  const repo = at < 0 ? s : s.slice(0, at);
  const revision = at < 0 ? undefined : s.slice(at + 1);
  if (isHubRepo(repo) && (revision === undefined || /^[^\s@]+$/.test(revision))) {
    return revision ? { kind: 'hub', repo, revision } : { kind: 'hub', repo };
  }
  if (/^(\.{0,2}\/|~|[A-Za-z]:\\)|\\/.test(s) || s.split('/').length > 2) {
    throw isDir
      ? new EntrotuneError(`model folder '${s}' does not exist`, 'check the path (relative paths start from the current directory)')
      : new EntrotuneError(`model source '${s}' looks like a folder, and folders can only be opened by path in Node`, 'in a browser, pick the folder with the directory picker ({ kind: "files" })');
  }
  throw new EntrotuneError(`model source '${s}' is neither a Hub repository (owner/name), a URL, nor a folder`, hint);
}

/** node:fs's "is this a directory" in Node (without importing node:fs into the module graph), null elsewhere. */
function defaultIsDir(): ((path: string) => boolean) | null {
  if (!import.meta.env.SSR) return null;
  const fs = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:fs') as
    | typeof import('node:fs')
    | undefined;
  if (!fs) return null;
  return (p) => {
    try {
      return fs.statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
}

export function revisionOf(source: HttpSource): string {
  return source.kind === 'hub' ? (source.revision ?? 'main') : 'static';
}

/** A short stable hash (FNV-1a, 32 bit) for names that must fit a file name. */
function hash32(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * The cache name of an HTTP source: always two path segments, `hub/{owner}--{name}` (the Hub forbids
 * "--" in names, so this is unambiguous) or `url/{readable part}-{hash}` (URLs may be long or hold
 * characters file systems refuse). Cache keys are `${sourceId}/${encodeURIComponent(revision)}/${file}`.
 */
export function sourceId(source: HttpSource): string {
  if (source.kind === 'hub') return `hub/${source.repo.replace('/', '--')}`;
  const base = source.baseUrl.replace(/\/+$/, '');
  const readable = base.replace(/^https?:\/\//i, '').replace(/[^\w.-]+/g, '_').slice(0, 80);
  return `url/${readable}-${hash32(base)}`;
}

/** Where an HTTP source's files are kept in a cache: `${sourceId}/${revision}`. */
export function cachePrefix(source: HttpSource): string {
  return `${sourceId(source)}/${encodeURIComponent(revisionOf(source))}`;
}

/** The URL of one file of an HTTP source. */
export function fileUrl(source: HttpSource, file: string): string {
  const path = file.split('/').map(encodeURIComponent).join('/');
  if (source.kind === 'hub') return `${HUB_URL}/${source.repo}/resolve/${encodeURIComponent(revisionOf(source))}/${path}`;
  return `${source.baseUrl.replace(/\/+$/, '')}/${path}`;
}

/** A human name for a source, for messages and the UI. */
export function describeSource(source: ModelSource): string {
  switch (source.kind) {
    case 'hub':
      return source.revision && source.revision !== 'main' ? `${source.repo}@${source.revision}` : source.repo;
    case 'url':
      return source.baseUrl;
    case 'dir':
      return source.path;
    case 'files':
      return `${source.files.length} local file(s)`;
  }
}
