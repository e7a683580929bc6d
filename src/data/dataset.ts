// Multiple-choice datasets: reading them (JSONL, JSON array, CSV, or rows of the Hugging Face datasets
// server), checking every row, splitting train/test, and writing our canonical JSONL.
//
// Every source goes through one row reader (`rowToQuestion`), so a file and the same dataset fetched
// from the Hub give the same questions and the same reasons for the rows they refuse. The reader takes
// the common spellings as they come:
//   question  `question` | `prompt` | `input`
//   options   an array `options` | `choices` (a JSON-array string in CSV; ARC's {text, label} object),
//             or columns `A`,`B`,… | `option_a`,… | `choice1`,… (`choice0`,… too)
//   answer    `answer_index` (0-based), and/or `answer` (or ARC's `answerKey`) as a letter ('C', '(C)',
//             'c'), a 1-based number (3 or "3"), or the exact option text
//   subject   `subject` | `category`, else 'general';  id `id` | `question_id`, else `${file}:${line}`;
//   rationale `rationale` | `cot_content` (MMLU-Pro) | `explanation`
// Our canonical rows ({id, question, options, answer, answer_letter, subject, rationale?}, written by
// toJsonl) carry `answer_letter`; in such a row `answer` is the 0-based index, checked against the letter.
//
// An answer is accepted only when every reading of it that names an option names the same one: with
// options ["2","3","4","5"], answer "3" is option C as a 1-based number but option B as text, so the row
// is refused as ambiguous rather than guessed. When both `answer` and `answer_index` are given they must
// agree. Rows are refused with a reason and their line number; with onInvalid 'stop' the first refused
// row throws a DatasetError, with 'skip' (the default) it is listed in `invalid` and reading goes on.
//
// Line numbers: JSONL and CSV report the 1-based line of the file where the row starts (a CSV record can
// span lines); a JSON array reports the 1-based element index ("row N"); datasets-server rows report
// row_idx + 1.

import { DatasetError, DownloadError, EntrotuneError } from '../errors';
import { hashSeed, rng, shuffle } from '../util/random';

export interface Question {
  id: string;
  question: string;
  options: string[];
  /** The gold option, 0-based. */
  answer: number;
  /** 'general' when the source names none. */
  subject: string;
  rationale?: string;
}

export type DatasetFormat = 'jsonl' | 'json' | 'csv';

export interface InvalidRow {
  line: number;
  reason: string;
  /** The row as it was in the source: the JSONL line, the CSV record, or the JSON element re-serialised. */
  raw: string;
}

export interface ParseDatasetOptions {
  /** Default: from the extension (.jsonl/.ndjson, .json, .csv), else sniffed from the first character. */
  format?: DatasetFormat;
  /** 'skip' (default): list invalid rows and go on; 'stop': throw a DatasetError at the first one. */
  onInvalid?: 'skip' | 'stop';
}

export interface ParsedDataset {
  questions: Question[];
  invalid: InvalidRow[];
  format: DatasetFormat;
}

/** Options are labelled with letters; ten (A–J) is MMLU-Pro's maximum and ours. */
export const OPTION_LETTERS = 'ABCDEFGHIJ';
export const MAX_OPTIONS = OPTION_LETTERS.length;

/** The letter of a 0-based option index: 0 → 'A'. */
export function letterOf(index: number): string {
  return String.fromCharCode(65 + index);
}

// ---------------------------------------------------------------------------------------------------
// Files

export function parseDataset(text: string, fileName: string, opts: ParseDatasetOptions = {}): ParsedDataset {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a UTF-8 BOM, as Excel writes
  const format = opts.format ?? detectFormat(text, fileName);
  const rows = new RowCollector(fileName, format === 'json' ? 'row' : 'line', opts.onInvalid ?? 'skip');
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

// ---------------------------------------------------------------------------------------------------
// CSV (RFC 4180)

export interface CsvRecord {
  fields: string[];
  /** 1-based line of the file where the record starts. */
  line: number;
  /** The record's text as in the file, without its line break. */
  raw: string;
  /** Why the record is malformed (an unclosed quote, text after a closing quote); fields are best effort. */
  error?: string;
}

/**
 * RFC 4180 CSV: fields separated by commas, records by CRLF (LF and a lone CR are accepted too); a field
 * in double quotes may hold commas, line breaks and doubled quotes (""), kept as they are (a CRLF inside
 * quotes stays CRLF). Leniencies: a quote in the middle of an unquoted field is kept as a character (as
 * spreadsheets read `5" screen`); blank lines are skipped. A quoted field that is never closed, or text
 * after a closing quote, makes the record carry an `error` instead of silently merging rows.
 */
export function parseCsv(text: string): CsvRecord[] {
  const out: CsvRecord[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  const isBreak = (c: string | undefined) => c === '\n' || c === '\r';
  const countLf = (s: string) => {
    let k = 0;
    for (let p = s.indexOf('\n'); p >= 0; p = s.indexOf('\n', p + 1)) k++;
    return k;
  };
  while (i < n) {
    const start = i;
    const startLine = line;
    const fields: string[] = [];
    let error: string | undefined;
    for (;;) {
      let field: string;
      if (text[i] === '"') {
        // Quoted field: copy runs up to the next quote; "" is one quote, a single " closes the field.
        const openLine = line;
        field = '';
        i++;
        let closed = false;
        while (i < n) {
          const q = text.indexOf('"', i);
          const piece = text.slice(i, q < 0 ? n : q);
          field += piece;
          line += countLf(piece);
          if (q < 0) {
            i = n;
            break;
          }
          if (text[q + 1] === '"') {
            field += '"';
            i = q + 2;
          } else {
            i = q + 1;
            closed = true;
            break;
          }
        }
        if (!closed) error ??= `a quoted field opened on line ${openLine} is never closed`;
        else if (i < n && text[i] !== ',' && !isBreak(text[i])) {
          error ??= 'text after a closing quote (a quote inside a quoted field must be doubled: "")';
          const j = scanUnquoted(text, i);
          field += text.slice(i, j);
          i = j;
        }
      } else {
        const j = scanUnquoted(text, i);
        field = text.slice(i, j);
        i = j;
      }
      fields.push(field);
      if (text[i] === ',') {
        i++; // another field follows (possibly empty, when the comma ends the line)
        continue;
      }
      break;
    }
    const end = i;
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    if (i > end) line++;
    if (end === start) continue; // a blank line
    const rec: CsvRecord = { fields, line: startLine, raw: text.slice(start, end) };
    if (error) rec.error = error;
    out.push(rec);
  }
  return out;
}

/** End of an unquoted field: the next comma or line break. */
function scanUnquoted(text: string, i: number): number {
  while (i < text.length) {
    const c = text[i];
    if (c === ',' || c === '\n' || c === '\r') break;
    i++;
  }
  return i;
}

// ---------------------------------------------------------------------------------------------------
// One row → one question

/** Collects the questions and refused rows of one source, checks ids are unique, applies onInvalid. */
class RowCollector {
  readonly questions: Question[] = [];
  readonly invalid: InvalidRow[] = [];
  private readonly firstLineOfId = new Map<string, number>();

  constructor(
    private readonly file: string,
    private readonly unit: 'line' | 'row',
    private readonly onInvalid: 'skip' | 'stop',
  ) {}

  reject(line: number, reason: string, raw: string): void {
    if (this.onInvalid === 'stop') {
      throw new DatasetError(this.file, line, reason, `fix or remove that ${this.unit}, or load the dataset with invalid rows skipped (onInvalid: 'skip')`, this.unit);
    }
    this.invalid.push({ line, reason, raw });
  }

  add(line: number, raw: string, value: unknown): void {
    if (!isRecord(value)) return this.reject(line, 'not a JSON object', raw);
    const q = rowToQuestion(value, `${this.file}:${line}`);
    if (typeof q === 'string') return this.reject(line, q, raw);
    const first = this.firstLineOfId.get(q.id);
    if (first !== undefined) return this.reject(line, `duplicate id '${q.id}' (first used on ${this.unit} ${first})`, raw);
    this.firstLineOfId.set(q.id, line);
    this.questions.push(q);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The first of `names` with a value; null, undefined and blank strings count as absent (empty CSV cells). */
function pick(row: Record<string, unknown>, names: string[]): { name: string; value: unknown } | null {
  for (const name of names) {
    const value = row[name];
    if (value === undefined || value === null) continue;
    if (typeof value === 'string' && value.trim() === '') continue;
    return { name, value };
  }
  return null;
}

/** A question, or the reason the row is not one. `defaultId` is used when the row has no id. */
function rowToQuestion(row: Record<string, unknown>, defaultId: string): Question | string {
  const q = pick(row, ['question', 'prompt', 'input']);
  if (!q) return "missing question (expected a 'question', 'prompt' or 'input' field)";
  if (typeof q.value !== 'string') return `'${q.name}' is not text`;

  const read = readOptions(row);
  if (typeof read === 'string') return read;
  const { values, labels } = read;
  if (values.length < 2) return `fewer than 2 options (found ${values.length})`;
  const options: string[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number' && Number.isFinite(v)) options.push(String(v));
    else if (typeof v === 'string') options.push(v);
    else if (v === null || v === undefined) return `empty option ${optionName(i)}`;
    else return `option ${optionName(i)} is not text`;
    if (options[i].trim() === '') return `empty option ${optionName(i)}`;
  }

  // MMLU-Pro pads questions whose weak distractors were removed back to ten options with "N/A". Drop
  // only a trailing run of them, and only when the gold answer is not among them and two options stay:
  // dropping from the end never moves a letter, so the letters in `cot_content` still match.
  let keep = options.length;
  while (keep > 0 && options[keep - 1].trim() === 'N/A') keep--;
  const tooMany = (k: number) => `more than ${MAX_OPTIONS} options (found ${k}; letters go A–J)`;
  if (keep > MAX_OPTIONS) return tooMany(keep);

  const answer = resolveAnswer(row, options, labels);
  if (typeof answer === 'string') return answer;
  if (answer < keep && keep >= 2) options.length = keep;
  if (options.length > MAX_OPTIONS) return tooMany(options.length);

  const question: Question = {
    id: idOf(row) ?? defaultId,
    question: q.value,
    options,
    answer,
    subject: textOf(pick(row, ['subject', 'category']))?.trim() || 'general',
  };
  const rationale = textOf(pick(row, ['rationale', 'cot_content', 'explanation']));
  if (rationale !== undefined) question.rationale = rationale;
  return question;
}

function textOf(p: { value: unknown } | null): string | undefined {
  return p && typeof p.value === 'string' ? p.value : undefined;
}

function idOf(row: Record<string, unknown>): string | undefined {
  const p = pick(row, ['id', 'question_id']);
  if (!p) return undefined;
  return typeof p.value === 'string' || typeof p.value === 'number' ? String(p.value) : undefined;
}

/** 'A'…'J' for the options we accept; past that, the 1-based position (the row is refused anyway). */
function optionName(i: number): string {
  return i < 26 ? letterOf(i) : `#${i + 1}`;
}

/**
 * The option values, in order, from an options array or from per-option columns; a string is the
 * reason the row has none usable. `labels` are ARC-style per-option labels that answers refer to.
 */
function readOptions(row: Record<string, unknown>): { values: unknown[]; labels?: string[] } | string {
  const list = pick(row, ['options', 'choices']);
  if (list) {
    let v = list.value;
    if (typeof v === 'string') {
      // CSV cannot hold a list, so a column may carry it as a JSON array.
      try {
        v = JSON.parse(v);
      } catch {
        return `'${list.name}' is text but not a JSON array of options`;
      }
    }
    if (Array.isArray(v)) return { values: v };
    // ARC: choices = { text: [...], label: ['A', 'B', ...] } (labels are sometimes '1', '2', ...)
    if (isRecord(v) && Array.isArray(v.text)) {
      const labels = Array.isArray(v.label) && v.label.every((l) => typeof l === 'string') ? (v.label as string[]) : undefined;
      return labels ? { values: v.text, labels } : { values: v.text };
    }
    return `'${list.name}' is not a list of options`;
  }
  // Per-option columns: A, B, … | option_a, … | choice1, … (or choice0, …). Indexes must run without a
  // gap; trailing empty cells are dropped (a CSV whose rows have different numbers of options).
  const families: { re: RegExp; index: (m: RegExpExecArray) => number; bases: number[]; first: string }[] = [
    { re: /^([A-Z])$/, index: (m) => m[1].charCodeAt(0) - 65, bases: [0], first: 'A' },
    { re: /^option[_ ]?([a-z])$/i, index: (m) => m[1].toLowerCase().charCodeAt(0) - 97, bases: [0], first: 'option_a' },
    { re: /^choice[_ ]?(\d+)$/i, index: (m) => Number(m[1]), bases: [0, 1], first: 'choice1' },
  ];
  const blank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
  for (const fam of families) {
    const byIndex = new Map<number, unknown>();
    for (const [key, value] of Object.entries(row)) {
      const m = fam.re.exec(key);
      if (m) byIndex.set(fam.index(m), value);
    }
    if (byIndex.size === 0) continue;
    const base = Math.min(...byIndex.keys());
    if (!fam.bases.includes(base)) return `option columns do not start at the first option (no column ${fam.first})`;
    const max = Math.max(...[...byIndex.entries()].filter(([, v]) => !blank(v)).map(([k]) => k), base - 1);
    const values: unknown[] = [];
    for (let k = base; k <= max; k++) {
      if (!byIndex.has(k)) return `option columns have a gap: no column for option ${optionName(k - base)}`;
      values.push(byIndex.get(k));
    }
    return { values };
  }
  return { values: [] };
}

type Reading = { how: string; index: number };

/** The gold index, 0-based, or the reason it cannot be told. */
function resolveAnswer(row: Record<string, unknown>, options: string[], labels: string[] | undefined): number | string {
  const n = options.length;
  const range = `A–${letterOf(n - 1)}`;

  // Our canonical schema: answer_letter is the truth, answer is its 0-based index.
  const letter = pick(row, ['answer_letter']);
  if (letter) {
    const s = String(letter.value).trim().toUpperCase();
    const idx = /^[A-Z]$/.test(s) ? s.charCodeAt(0) - 65 : -1;
    if (idx < 0) return `answer_letter '${String(letter.value)}' is not a letter`;
    if (idx >= n) return `answer_letter '${s}' is beyond the ${n} options (${range})`;
    const a = pick(row, ['answer']);
    if (a && Number(a.value) !== idx) return `answer ${JSON.stringify(a.value)} (0-based index) and answer_letter '${s}' disagree`;
    return idx;
  }

  let fromIndex: number | undefined;
  const ai = pick(row, ['answer_index']);
  if (ai) {
    const v = typeof ai.value === 'string' && /^\s*-?\d+\s*$/.test(ai.value) ? Number(ai.value) : ai.value;
    if (typeof v !== 'number' || !Number.isInteger(v)) return `answer_index ${JSON.stringify(ai.value)} is not a whole number`;
    if (v < 0 || v >= n) return `answer_index ${v} is out of range 0–${n - 1} (0-based)`;
    fromIndex = v;
  }

  const a = pick(row, ['answer', 'answerKey']);
  if (!a) {
    if (fromIndex !== undefined) return fromIndex;
    return 'missing answer (expected answer_index, or answer as a letter, a 1-based number or the option text)';
  }
  const readings = readAnswer(a.value, options, labels);
  if (typeof readings === 'string') return readings;
  const distinct = [...new Set(readings.map((r) => r.index))];
  if (distinct.length === 0) {
    return fromIndex !== undefined
      ? `${a.name} ${JSON.stringify(a.value)} names no option, but answer_index says ${letterOf(fromIndex)}`
      : describeMiss(a.name, a.value, n, range);
  }
  if (distinct.length > 1) {
    return `ambiguous ${a.name} ${JSON.stringify(a.value)}: ${readings.map((r) => `as ${r.how} it is option ${letterOf(r.index)}`).join(', ')}; give answer_index or a letter`;
  }
  if (fromIndex !== undefined && fromIndex !== distinct[0]) {
    return `answer_index ${fromIndex} (option ${letterOf(fromIndex)}) and ${a.name} ${JSON.stringify(a.value)} (option ${letterOf(distinct[0])}) disagree`;
  }
  return distinct[0];
}

/** Every reading of an `answer` value that names an existing option. */
function readAnswer(value: unknown, options: string[], labels: string[] | undefined): Reading[] | string {
  const n = options.length;
  const out: Reading[] = [];
  if (typeof value !== 'number' && typeof value !== 'string') return `answer ${JSON.stringify(value)} is not a letter, number or option text`;
  const s = String(value).trim();
  if (labels) {
    // ARC: answerKey refers to the label list, which is the only sensible reading.
    const i = labels.findIndex((l) => l.trim() === s);
    return i >= 0 && i < n ? [{ how: 'label', index: i }] : [];
  }
  const m = /^(?:\(([A-Za-z])\)|([A-Za-z])[.)]?)$/.exec(s);
  if (typeof value === 'string' && m) {
    const i = (m[1] ?? m[2]).toUpperCase().charCodeAt(0) - 65;
    if (i < n) out.push({ how: 'a letter', index: i });
  }
  if (/^\d+$/.test(s)) {
    const i = Number(s) - 1;
    if (i >= 0 && i < n) out.push({ how: 'a 1-based number', index: i });
  }
  const texts = options.map((o, i) => (o.trim() === s ? i : -1)).filter((i) => i >= 0);
  for (const i of texts) out.push({ how: 'text', index: i });
  return out;
}

function describeMiss(name: string, value: unknown, n: number, range: string): string {
  const s = String(value).trim();
  if (typeof value === 'string' && /^(?:\(([A-Za-z])\)|([A-Za-z])[.)]?)$/.test(s)) return `${name} '${s}' is beyond the ${n} options (${range})`;
  if (/^\d+$/.test(s)) {
    return Number(s) === 0
      ? `${name} 0 is out of range 1–${n} (numbers are 1-based; name the column answer_index for 0-based answers)`
      : `${name} ${s} is out of range 1–${n} (1-based)`;
  }
  return `${name} ${JSON.stringify(value)} matches no option (give a letter, a 1-based number or the exact option text)`;
}

// ---------------------------------------------------------------------------------------------------
// Hugging Face datasets server

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

// ---------------------------------------------------------------------------------------------------
// Train/test split and writing

/**
 * A seeded, stratified train/test split. Each subject is shuffled on its own (its stream seeded from
 * `seed` and the subject name, so adding another subject does not change this one's split) and
 * round(n·testFraction) of its questions go to test, clamped to 1…n−1 when 0 < testFraction < 1 and the
 * subject has at least 2 questions, so both sides see every such subject. Both halves keep the input order.
 */
export function splitTrainTest(questions: readonly Question[], opts: { testFraction?: number; seed?: number } = {}): { train: Question[]; test: Question[] } {
  const { testFraction = 0.2, seed = 0 } = opts;
  if (!(testFraction >= 0 && testFraction <= 1)) throw new EntrotuneError(`testFraction ${testFraction} is not in 0–1`, 'use e.g. 0.2 for one question in five held out for testing');
  const bySubject = new Map<string, number[]>();
  questions.forEach((q, i) => {
    const list = bySubject.get(q.subject);
    if (list) list.push(i);
    else bySubject.set(q.subject, [i]);
  });
  const inTest = new Uint8Array(questions.length);
  for (const [subject, idx] of bySubject) {
    const n = idx.length;
    let nTest = Math.round(n * testFraction);
    if (testFraction > 0 && testFraction < 1 && n >= 2) nTest = Math.min(n - 1, Math.max(1, nTest));
    for (const i of shuffle(idx, rng(hashSeed(seed, subject))).slice(0, nTest)) inTest[i] = 1;
  }
  return { train: questions.filter((_, i) => !inTest[i]), test: questions.filter((_, i) => inTest[i]) };
}

/** Our canonical JSONL, one question per line; parseDataset reads it back to the same questions. */
export function toJsonl(questions: readonly Question[]): string {
  return questions
    .map((q) => {
      const row: Record<string, unknown> = { id: q.id, question: q.question, options: q.options, answer: q.answer, answer_letter: letterOf(q.answer), subject: q.subject };
      if (q.rationale !== undefined) row.rationale = q.rationale;
      return JSON.stringify(row) + '\n';
    })
    .join('');
}
