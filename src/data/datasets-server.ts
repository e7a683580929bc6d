// The Hugging Face datasets server's /rows API: one split read page by page with the same row reader
// as files (./rows); a row reports row_idx + 1 as its line. Every failure is a DownloadError that says
// what to do next.

import { DownloadError, EntrotuneError } from '../errors';
import type { InvalidRow, Question } from './dataset';
import { isRecord, RowCollector } from './rows';

export const DATASETS_SERVER_URL = 'https://datasets-server.huggingface.co';

export interface FetchHfRowsOptions {
  /** e.g. 'TIGER-Lab/MMLU-Pro' */
  dataset: string;
  /** e.g. 'default' */
  config: string;
  /** e.g. 'test' */
  split: string;
  /** First row, 0-based (default 0). */
  offset?: number;
  /** How many rows at most (default: to the end of the split). */
  length?: number;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Rows received so far, and the number expected once the server has said (null before). */
  onProgress?: (done: number, total: number | null) => void;
  /** Rows per request, 1–100 (the server's maximum; default 100). */
  pageSize?: number;
}

interface RowsPage {
  features?: { name: string; type?: { _type?: string } }[];
  rows: { row_idx: number; row: unknown; truncated_cells?: string[] }[];
  num_rows_total?: number;
}

/**
 * Rows of one split from the datasets server's /rows API, page by page, read with the same row reader
 * as files (line = row_idx + 1; refused rows are listed in `invalid`). Errors are DownloadErrors naming
 * the HTTP status and what to do; an abort rethrows the signal's reason.
 */
export async function fetchHfDatasetRows(opts: FetchHfRowsOptions): Promise<{ questions: Question[]; invalid: InvalidRow[] }> {
  const { dataset, config, split, signal, onProgress } = opts;
  const pageSize = opts.pageSize ?? 100;
  const offset = opts.offset ?? 0;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) throw new EntrotuneError(`pageSize ${pageSize} is not a whole number in 1–100`, 'the datasets server returns at most 100 rows per request');
  if (!Number.isInteger(offset) || offset < 0) throw new EntrotuneError(`offset ${offset} is not a whole number ≥ 0`, 'pass the 0-based index of the first row');
  if (opts.length !== undefined && (!Number.isInteger(opts.length) || opts.length < 0)) throw new EntrotuneError(`length ${opts.length} is not a whole number ≥ 0`, 'pass how many rows to read, or leave it out to read to the end of the split');
  // A plain reference to window.fetch must be called with the right `this` ("Illegal invocation").
  const doFetch: typeof fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const name = `${dataset}/${config}/${split}`;
  const rows = new RowCollector(name, 'row', 'skip');

  let end = opts.length === undefined ? Infinity : offset + opts.length;
  let total: number | null = opts.length ?? null;
  let at = offset;
  let done = 0;
  while (at < end) {
    const want = Math.min(pageSize, end - at);
    const params = new URLSearchParams({ dataset, config, split, offset: String(at), length: String(want) });
    const page = await getRowsPage(doFetch, `${DATASETS_SERVER_URL}/rows?${params}`, name, dataset, signal);
    if (typeof page.num_rows_total === 'number') {
      end = Math.min(end, page.num_rows_total);
      total = Math.max(0, end - offset);
    }
    // A ClassLabel column stores a 0-based class index (cais/mmlu's `answer` is 0–3 for A–D), while a
    // bare numeric `answer` in a file is read as 1-based; the features say which, so use them.
    const classLabel = new Set((page.features ?? []).filter((f) => f.type?._type === 'ClassLabel').map((f) => f.name));
    page.rows.forEach((r, k) => {
      const line = (typeof r.row_idx === 'number' ? r.row_idx : at + k) + 1;
      const raw = JSON.stringify(r.row) ?? String(r.row);
      if (r.truncated_cells && r.truncated_cells.length > 0) {
        rows.reject(line, `the datasets server truncated ${r.truncated_cells.join(', ')} (too large to serve); download the dataset's files and load them instead`, raw);
        return;
      }
      let row = r.row;
      if (isRecord(row) && classLabel.has('answer') && typeof row.answer === 'number' && row.answer_index === undefined) {
        row = { ...row, answer: undefined, answer_index: row.answer };
      }
      rows.add(line, raw, row);
    });
    done += page.rows.length;
    onProgress?.(done, total);
    if (page.rows.length === 0) break; // the split ends earlier than the server said
    at += page.rows.length;
  }
  return { questions: rows.questions, invalid: rows.invalid };
}

async function getRowsPage(doFetch: typeof fetch, url: string, name: string, dataset: string, signal: AbortSignal | undefined): Promise<RowsPage> {
  let res: Response;
  let body: string;
  try {
    res = await doFetch(url, { signal });
    body = await res.text();
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    const cause = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err);
    throw new DownloadError(`${name}: could not reach the Hugging Face datasets server (${cause}) at ${url}`, 'check the connection, then try again; or download the dataset file and load it from disk');
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    // The server explains itself in {"error": "..."}; keep that, it is usually the useful part.
    const said = isRecord(json) && typeof json.error === 'string' ? `: ${json.error}` : '';
    const where = `(HTTP ${res.status} at ${url})${said}`;
    const page = `https://huggingface.co/datasets/${dataset}`;
    if (res.status === 404) throw new DownloadError(`${name}: dataset, config or split not found ${where}`, `check the names on ${page} (the viewer lists the configs and splits)`);
    if (res.status === 401 || res.status === 403) throw new DownloadError(`${name}: the dataset is gated or private ${where}`, `the datasets server serves only public datasets; accept the terms on ${page}, download the files and load them from disk`);
    if (res.status === 429 || res.status >= 500) {
      throw new DownloadError(`${name}: the datasets server is busy or cannot serve this dataset ${where}`, `wait a minute and try again; if it keeps failing, download the files from ${page} and load them from disk`);
    }
    throw new DownloadError(`${name}: unexpected answer from the datasets server ${where}`, 'check the dataset, config and split names and the offset, then try again');
  }
  if (!isRecord(json) || !Array.isArray(json.rows)) {
    throw new DownloadError(`${name}: the datasets server sent something other than rows (${body.slice(0, 120)}) at ${url}`, 'try again later; if it persists, download the dataset file and load it from disk');
  }
  return json as unknown as RowsPage;
}
