// One row → one question: the row reader every dataset source goes through (files in ./formats, the
// datasets server in ./datasets-server), so a file and the same dataset fetched from the Hub give the
// same questions and the same reasons for the rows they refuse. It takes the common spellings as they
// come:
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

import { DatasetError } from '../errors';
import { letterOf, MAX_OPTIONS, type InvalidRow, type Question } from './dataset';

/** Collects the questions and refused rows of one source, checks ids are unique, applies onInvalid. */
export class RowCollector {
  readonly questions: Question[] = [];
  readonly invalid: InvalidRow[] = [];
  private readonly firstLineOfId = new Map<string, number>();

  constructor(
    private readonly file: string,
    private readonly unit: 'line' | 'row',
    private readonly onInvalid: 'skip' | 'stop',
    private readonly stopHint?: string,
  ) {}

  reject(line: number, reason: string, raw: string): void {
    if (this.onInvalid === 'stop') {
      throw new DatasetError(this.file, line, reason, `fix or remove that ${this.unit}, or ${this.stopHint ?? "load the dataset with invalid rows skipped (onInvalid: 'skip')"}`, this.unit);
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

export function isRecord(v: unknown): v is Record<string, unknown> {
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
