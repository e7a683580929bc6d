// Dataset files: JSONL, a JSON array, or CSV with a header, each row read by the one row reader in
// ./rows (so every format accepts the same spellings and refuses rows for the same reasons).
//
// Line numbers: JSONL and CSV report the 1-based line of the file where the row starts (a CSV record can
// span lines); a JSON array reports the 1-based element index ("row N").

import { DatasetError } from '../errors';
import { parseCsv } from './csv';
import type { InvalidRow, Question } from './dataset';
import { RowCollector } from './rows';

export type DatasetFormat = 'jsonl' | 'json' | 'csv';

export interface ParseDatasetOptions {
  /** Default: from the extension (.jsonl/.ndjson, .json, .csv), else sniffed from the first character. */
  format?: DatasetFormat;
  /** 'skip' (default): list invalid rows and go on; 'stop': throw a DatasetError at the first one. */
  onInvalid?: 'skip' | 'stop';
  /** With 'stop': what the error's hint says to do instead (the CLI names its flag, the API its option). */
  stopHint?: string;
}

export interface ParsedDataset {
  questions: Question[];
  invalid: InvalidRow[];
  format: DatasetFormat;
}

export function parseDataset(text: string, fileName: string, opts: ParseDatasetOptions = {}): ParsedDataset {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a UTF-8 BOM, as Excel writes
  const format = opts.format ?? detectFormat(text, fileName);
  const rows = new RowCollector(fileName, format === 'json' ? 'row' : 'line', opts.onInvalid ?? 'skip', opts.stopHint);
  if (format === 'jsonl') readJsonl(text, rows);
  else if (format === 'json') readJsonArray(text, fileName, rows);
  else readCsv(text, fileName, rows);
  return { questions: rows.questions, invalid: rows.invalid, format };
}

function detectFormat(text: string, fileName: string): DatasetFormat {
  const ext = /\.([a-z0-9]+)$/i.exec(fileName)?.[1]?.toLowerCase();
  if (ext === 'jsonl' || ext === 'ndjson') return 'jsonl';
  if (ext === 'csv') return 'csv';
  const first = text[text.search(/\S/)] ?? '';
  // `datasets.Dataset.to_json()` writes JSON lines into files named .json, so .json is sniffed too.
  if (ext === 'json') return first === '[' ? 'json' : 'jsonl';
  if (first === '[') return 'json';
  if (first === '{') return 'jsonl';
  return 'csv';
}

function readJsonl(text: string, rows: RowCollector): void {
  // A JSON text cannot hold a raw line break (inside strings it is escaped), so lines are rows.
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      rows.reject(i + 1, `not valid JSON (${(err as Error).message})`, raw);
      continue;
    }
    rows.add(i + 1, raw, value);
  }
}

function readJsonArray(text: string, fileName: string, rows: RowCollector): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DatasetError(
      fileName,
      null,
      `not valid JSON (${(err as Error).message})`,
      'a .json dataset must be one JSON array of question objects; for one object per line, name the file .jsonl',
    );
  }
  if (!Array.isArray(value)) {
    throw new DatasetError(fileName, null, 'expected a JSON array of question objects', 'put the questions in a top-level array, or write one object per line in a .jsonl file');
  }
  value.forEach((el, i) => rows.add(i + 1, JSON.stringify(el) ?? String(el), el));
}

function readCsv(text: string, fileName: string, rows: RowCollector): void {
  const records = parseCsv(text);
  if (records.length === 0) return;
  const head = records[0];
  if (head.error) throw new DatasetError(fileName, head.line, `cannot read the CSV header: ${head.error}`, 'the first line must name the columns, e.g. question,A,B,C,D,answer');
  const columns = head.fields.map((f) => f.trim());
  const dup = columns.find((c, i) => c !== '' && columns.indexOf(c) !== i);
  if (dup !== undefined) throw new DatasetError(fileName, head.line, `column '${dup}' appears twice in the header`, 'give every column its own name');
  for (const rec of records.slice(1)) {
    if (rec.error) {
      rows.reject(rec.line, rec.error, rec.raw);
      continue;
    }
    // Spreadsheets often leave empty cells past the last column; anything else must match the header.
    const extra = rec.fields.slice(columns.length);
    if (rec.fields.length < columns.length || extra.some((f) => f !== '')) {
      rows.reject(rec.line, `has ${rec.fields.length} fields but the header has ${columns.length}`, rec.raw);
      continue;
    }
    const row: Record<string, unknown> = {};
    columns.forEach((c, i) => {
      if (c !== '') row[c] = rec.fields[i];
    });
    rows.add(rec.line, rec.raw, row);
  }
}

