// CSV records for the dataset reader, parsed by csv-parse, plus what the reader needs on top: the line
// where each record starts, the record's text as in the file (for the list of refused rows), and
// malformed records marked instead of dropped.
//
// The dialect (RFC 4180 with a spreadsheet's leniencies): fields separated by commas, records by CRLF,
// LF or a lone CR (mixed in one file); a field in double quotes may hold commas, line breaks and doubled
// quotes (""), kept as they are (a CRLF inside quotes stays CRLF); blank lines are skipped; a quote in
// the middle of an unquoted field is a character, as spreadsheets read `5" screen` (csv-parse's
// relax_quotes). relax_quotes also reads text after a closing quote (`"x"y`) into the field; such a
// record is marked instead (RECORD below), since its author most likely forgot to double a quote. A
// quoted field that is never closed runs to the end of the file: csv-parse drops that record, we return
// it marked.
//
// Lines are counted here rather than taken from csv-parse's `info.lines`, which is the line where a
// record ends and counts a CRLF inside quotes as two: each record ends at `info.bytes` (the UTF-8 offset
// after its line break), and lines are counted in the text before it: a record's own line break (CRLF,
// LF or CR) is one, and inside quoted fields each LF is one (a CR there is taken as part of the text).

import { parse } from 'csv-parse/browser/esm/sync';

export interface CsvRecord {
  fields: string[];
  /** 1-based line of the file where the record starts. */
  line: number;
  /** The record's text as in the file, without its line break. */
  raw: string;
  /** Why the record is malformed (text after a closing quote, a quote never closed); its fields are then
   *  csv-parse's lenient reading, or none for a quote never closed. */
  error?: string;
}

/** A well-formed record: fields quoted ("" for a quote inside) or not starting with a quote, comma-separated. */
const FIELD = String.raw`(?:"(?:[^"]|"")*"|[^",\r\n][^,\r\n]*|)`;
const RECORD = new RegExp(`^${FIELD}(?:,${FIELD})*$`);
/** The complete fields at the start of a record, and a quoted field that runs to its end unclosed. */
const FIELDS_BEFORE = new RegExp(`^(?:${FIELD},)*`);
const UNCLOSED = /^"(?:[^"]|"")*$/;
const TEXT_AFTER_QUOTE = 'text after a closing quote (a quote inside a quoted field must be doubled: "")';

const CR = 0x0d;
const LF = 0x0a;
const lfs = (s: string) => s.match(/\n/g)?.length ?? 0;

/** The records of a CSV text, in order; see the file header for the dialect. */
export function parseCsv(text: string): CsvRecord[] {
  const parsed: { fields: string[]; end: number }[] = [];
  let unclosed = false;
  parse(text, {
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_quotes: true,
    relax_column_count: true, // the reader compares each record with the header itself
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (err) => {
      // With these settings the only error left is a quote still open at the end of the text.
      if (err?.code !== 'CSV_QUOTE_NOT_CLOSED') throw err;
      unclosed = true;
    },
    on_record: (fields: string[], info) => {
      parsed.push({ fields, end: info.bytes });
      return null;
    },
  });

  const bytes = new TextEncoder().encode(text);
  const utf8 = new TextDecoder();
  const out: CsvRecord[] = [];
  let at = 0; // byte offset where the previous record ended
  let line = 1; // the line at `at`
  const skipBlankLines = () => {
    for (; at < bytes.length && (bytes[at] === CR || bytes[at] === LF); at++) if (bytes[at] === LF || bytes[at + 1] !== LF) line++;
  };
  for (const { fields, end } of parsed) {
    skipBlankLines();
    const text = utf8.decode(bytes.subarray(at, end));
    const rec: CsvRecord = { fields, line, raw: text.replace(/(?:\r\n|\r|\n)$/, '') };
    if (!RECORD.test(rec.raw)) rec.error = TEXT_AFTER_QUOTE;
    out.push(rec);
    line += lfs(rec.raw) + (text.length > rec.raw.length ? 1 : 0);
    at = end;
  }
  if (unclosed) {
    skipBlankLines();
    const raw = utf8.decode(bytes.subarray(at));
    // The first problem is reported: text after a closing quote can come before the quote never closed.
    const before = FIELDS_BEFORE.exec(raw)![0];
    const error = UNCLOSED.test(raw.slice(before.length)) ? `a quoted field opened on line ${line + lfs(before)} is never closed` : TEXT_AFTER_QUOTE;
    out.push({ fields: [], line, raw, error });
  }
  return out;
}
