// Multiple-choice datasets: every accepted shape (JSONL, JSON array, CSV, MMLU-Pro, ARC, per-option
// columns), every reason a row is refused with its line, skip vs stop, the canonical round trip, the
// stratified split, and the datasets-server reader against a real HTTP server on 127.0.0.1.

import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv';
import { splitTrainTest, toJsonl, type Question } from '../../src/data/dataset';
import { DATASETS_SERVER_URL, fetchHfDatasetRows } from '../../src/data/datasets-server';
import { parseDataset } from '../../src/data/formats';
import { DatasetError, DownloadError, deserializeError, serializeError } from '../../src/errors';
import { rng, shuffle } from '../../src/util/random';

const jsonl = (...rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
const q4 = { question: 'Which is even?', options: ['1', '3', '4', '5'] };

describe('parseDataset: JSONL', () => {
  it('reads rows, skips blank lines, accepts CRLF, fills id and subject', () => {
    const text = [
      JSON.stringify({ ...q4, answer: 'C' }),
      '',
      JSON.stringify({ id: 'q2', prompt: 'Pick B', choices: ['a', 'b'], answer_index: 1, subject: 'misc', rationale: 'because' }),
      '   ',
      JSON.stringify({ input: 'Third?', options: ['x', 'y', 'z'], answer: 1 }),
    ].join('\r\n');
    const { questions, invalid, format } = parseDataset(text, 'mc.jsonl');
    expect(format).toBe('jsonl');
    expect(invalid).toEqual([]);
    expect(questions).toEqual([
      { id: 'mc.jsonl:1', question: 'Which is even?', options: ['1', '3', '4', '5'], answer: 2, subject: 'general' },
      { id: 'q2', question: 'Pick B', options: ['a', 'b'], answer: 1, subject: 'misc', rationale: 'because' },
      { id: 'mc.jsonl:5', question: 'Third?', options: ['x', 'y', 'z'], answer: 0, subject: 'general' },
    ]);
  });

  it('sniffs the format from the extension, then from the content', () => {
    const row = JSON.stringify({ ...q4, answer: 'C' });
    expect(parseDataset(row, 'a.ndjson').format).toBe('jsonl');
    expect(parseDataset(row, 'a.json').format).toBe('jsonl'); // datasets' to_json() writes lines into .json
    expect(parseDataset(`[${row}]`, 'a.json').format).toBe('json');
    expect(parseDataset(`\n [${row}]`, 'upload').format).toBe('json');
    expect(parseDataset(row, 'upload').format).toBe('jsonl');
    expect(parseDataset('question,A,B,answer\nq,x,y,A\n', 'upload').format).toBe('csv');
    expect(parseDataset(`\ufeff${row}`, 'bom.jsonl').questions).toHaveLength(1);
    expect(parseDataset(row, 'x.csv', { format: 'jsonl' }).questions).toHaveLength(1);
  });
});

describe('parseDataset: answers', () => {
  const answerOf = (row: Record<string, unknown>) => {
    const r = parseDataset(jsonl(row), 'a.jsonl');
    return r.questions.length ? r.questions[0].answer : r.invalid[0].reason;
  };

  it('reads letters in the usual spellings', () => {
    for (const a of ['C', '(C)', 'c', 'C.', 'C)', ' C ']) expect(answerOf({ ...q4, answer: a })).toBe(2);
  });

  it('reads 1-based numbers, as numbers or numeric strings', () => {
    expect(answerOf({ ...q4, options: ['a', 'b', 'c', 'd'], answer: 3 })).toBe(2);
    expect(answerOf({ ...q4, options: ['a', 'b', 'c', 'd'], answer: '3' })).toBe(2);
  });

  it('reads the exact option text, and a numeric text when the number reading is out of range', () => {
    expect(answerOf({ question: 'q', options: ['1', '3', '5'], answer: '5' })).toBe(2); // 5 is no 1-based index of 3 options
    expect(answerOf({ question: 'q', options: ['ten', 'eleven'], answer: 'eleven' })).toBe(1);
    expect(answerOf({ question: 'q', options: ['40', '50', '60'], answer: '50' })).toBe(1); // 50 is no 1-based index
    expect(answerOf({ question: 'q', options: ['x', 'y', 'z'], answer: 'z' })).toBe(2); // 'z' is no letter of 3 options
  });

  it('refuses an answer whose readings disagree instead of guessing', () => {
    expect(answerOf({ ...q4, answer: '3' })).toMatch(/ambiguous answer "3": as a 1-based number it is option C, as text it is option B/);
    expect(answerOf({ question: 'q', options: ['B', 'A'], answer: 'A' })).toMatch(/ambiguous/);
    expect(answerOf({ question: 'q', options: ['same', 'same'], answer: 'same' })).toMatch(/ambiguous/);
  });

  it('takes answer_index as 0-based and checks it against answer when both are given', () => {
    expect(answerOf({ ...q4, answer_index: 0 })).toBe(0);
    expect(answerOf({ ...q4, answer_index: '3' })).toBe(3);
    expect(answerOf({ ...q4, answer_index: 2, answer: 'C' })).toBe(2);
    expect(answerOf({ ...q4, answer_index: 1, answer: 'C' })).toMatch(/answer_index 1 \(option B\) and answer "C" \(option C\) disagree/);
  });

  it('reads ARC-style choices {text, label} with answerKey', () => {
    const arc = { id: 'Mercury_1', question: 'q', choices: { text: ['w', 'x', 'y', 'z'], label: ['1', '2', '3', '4'] }, answerKey: '4' };
    expect(answerOf(arc)).toBe(3);
    expect(answerOf({ ...arc, choices: { text: ['w', 'x'], label: ['A', 'B'] }, answerKey: 'B' })).toBe(1);
  });

  it('reads per-option columns: A, B, … | option_a, … | choice1, … | choice0, …', () => {
    const rows = [
      { question: 'q', A: 'p', B: 'q', C: 'r', answer: 'B' },
      { question: 'q', option_a: 'p', option_b: 'q', option_c: 'r', answer: 'B' },
      { question: 'q', choice1: 'p', choice2: 'q', choice3: 'r', answer: 2 },
      { question: 'q', choice0: 'p', choice1: 'q', choice2: 'r', answer_index: 1 },
    ];
    for (const row of rows) expect(parseDataset(jsonl(row), 'a.jsonl').questions[0]).toMatchObject({ options: ['p', 'q', 'r'], answer: 1 });
    expect(answerOf({ question: 'q', A: 'p', B: 'q', D: 's', answer: 'A' })).toMatch(/gap: no column for option C/);
  });

  it('turns numeric options into text', () => {
    expect(parseDataset(jsonl({ question: '2+2', options: [3, 4, 5], answer: 'B' }), 'a.jsonl').questions[0].options).toEqual(['3', '4', '5']);
  });
});

describe('parseDataset: invalid rows', () => {
  // One file with every reason, each on a known line (line 3 is blank and skipped).
  const lines = [
    /* 1 */ JSON.stringify({ id: 'ok1', ...q4, answer: 'C' }),
    /* 2 */ '{"question": "broken',
    /* 3 */ '',
    /* 4 */ '[1, 2, 3]',
    /* 5 */ JSON.stringify({ options: ['a', 'b'], answer: 'A' }),
    /* 6 */ JSON.stringify({ question: 'q', options: ['only'], answer: 'A' }),
    /* 7 */ JSON.stringify({ question: 'q', options: 'ABCDEFGHIJK'.split(''), answer_index: 0 }),
    /* 8 */ JSON.stringify({ question: 'q', options: ['a', ' ', 'c'], answer: 'A' }),
    /* 9 */ JSON.stringify({ question: 'q', options: ['a', 'b'] }),
    /* 10 */ JSON.stringify({ question: 'q', options: ['a', 'b'], answer_index: 2 }),
    /* 11 */ JSON.stringify({ question: 'q', options: ['a', 'b'], answer: 'E' }),
    /* 12 */ JSON.stringify({ question: 'q', options: ['a', 'b'], answer: 0 }),
    /* 13 */ JSON.stringify({ question: 'q', options: ['a', 'b'], answer: 'nope' }),
    /* 14 */ JSON.stringify({ question: 'q', options: ['2', '3', '4'], answer: 2 }),
    /* 15 */ JSON.stringify({ id: 'ok1', ...q4, answer: 'A' }),
    /* 16 */ JSON.stringify({ question: 42, options: ['a', 'b'], answer: 'A' }),
    /* 17 */ JSON.stringify({ question: 'q', options: ['a', null], answer: 'A' }),
    /* 18 */ JSON.stringify({ id: 'ok2', ...q4, answer: 'D' }),
  ];
  const expected: [number, RegExp][] = [
    [2, /^not valid JSON/],
    [4, /^not a JSON object$/],
    [5, /^missing question/],
    [6, /^fewer than 2 options \(found 1\)$/],
    [7, /^more than 10 options \(found 11/],
    [8, /^empty option B$/],
    [9, /^missing answer/],
    [10, /^answer_index 2 is out of range 0–1/],
    [11, /^answer 'E' is beyond the 2 options \(A–B\)$/],
    [12, /^answer 0 is out of range 1–2 \(numbers are 1-based; name the column answer_index/],
    [13, /^answer "nope" matches no option/],
    [14, /^ambiguous answer 2/],
    [15, /^duplicate id 'ok1' \(first used on line 1\)$/],
    [16, /^'question' is not text$/],
    [17, /^empty option B$/],
  ];

  it("lists every refused row with its line and reason ('skip', the default)", () => {
    const { questions, invalid } = parseDataset(lines.join('\n'), 'bad.jsonl');
    expect(questions.map((q) => q.id)).toEqual(['ok1', 'ok2']);
    expect(invalid.map((r) => r.line)).toEqual(expected.map(([l]) => l));
    invalid.forEach((r, i) => expect(r.reason).toMatch(expected[i][1]));
    expect(invalid[0].raw).toBe(lines[1]);
  });

  it("throws a DatasetError naming file, line and reason at the first refused row ('stop')", () => {
    const err = (() => {
      try {
        parseDataset(lines.join('\n'), 'bad.jsonl', { onInvalid: 'stop' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DatasetError);
    const e = err as DatasetError;
    expect(e.code).toBe('DATASET');
    expect(e.file).toBe('bad.jsonl');
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/^bad\.jsonl, line 2: not valid JSON.*\nHINT: /s);
    // It crosses a worker boundary as itself.
    expect(deserializeError(serializeError(e))).toBeInstanceOf(DatasetError);
    expect(() => parseDataset(lines[0], 'ok.jsonl', { onInvalid: 'stop' })).not.toThrow();
  });

  it('a JSON array reports the element index as "row N"; a broken or non-array file throws', () => {
    const text = JSON.stringify([{ ...q4, answer: 'C' }, { ...q4 }, 'text']);
    const { questions, invalid } = parseDataset(text, 'a.json');
    expect(questions[0].id).toBe('a.json:1');
    expect(invalid.map((r) => [r.line, r.reason])).toEqual([
      [2, expect.stringMatching(/^missing answer/)],
      [3, 'not a JSON object'],
    ]);
    expect(invalid[1].raw).toBe('"text"');
    expect(() => parseDataset(text, 'a.json', { onInvalid: 'stop' })).toThrow(/^a\.json, row 2: missing answer/);
    expect(() => parseDataset('[{"question": ', 'a.json')).toThrow(DatasetError);
    expect(() => parseDataset('{"questions": []}', 'a.json', { format: 'json' })).toThrow(/expected a JSON array/);
  });
});

describe('parseCsv (RFC 4180)', () => {
  it('reads quoted fields with commas, doubled quotes, line breaks, and CRLF records', () => {
    const text = 'a,b,c\r\n"x, y","say ""hi""","two\r\nlines"\r\nplain,,end\r\n\r\n"",last,\n';
    expect(parseCsv(text)).toEqual([
      { fields: ['a', 'b', 'c'], line: 1, raw: 'a,b,c' },
      { fields: ['x, y', 'say "hi"', 'two\r\nlines'], line: 2, raw: '"x, y","say ""hi""","two\r\nlines"' },
      { fields: ['plain', '', 'end'], line: 4, raw: 'plain,,end' },
      { fields: ['', 'last', ''], line: 6, raw: '"",last,' },
    ]);
  });

  it('accepts LF and a missing final line break; keeps a stray quote in an unquoted field', () => {
    expect(parseCsv('a,b\n5" screen,"q"').map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['5" screen', 'q'],
    ]);
  });

  it('marks malformed records instead of merging rows', () => {
    const recs = parseCsv('a,b\n"x"y,z\nok,1\n"never closed,2\nmore\n');
    expect(recs[1]).toMatchObject({ line: 2, fields: ['"x"y', 'z'], error: expect.stringMatching(/text after a closing quote/) });
    expect(recs[2]).toMatchObject({ line: 3, fields: ['ok', '1'] });
    expect(recs[3]).toMatchObject({ line: 4, error: 'a quoted field opened on line 4 is never closed' });
    expect(recs).toHaveLength(4);
  });

  it('counts lines and cuts records by characters, not bytes, in text beyond ASCII', () => {
    expect(parseCsv('q,a\n"é\nè",1\n\nü,"2"\n')).toEqual([
      { fields: ['q', 'a'], line: 1, raw: 'q,a' },
      { fields: ['é\nè', '1'], line: 2, raw: '"é\nè",1' },
      { fields: ['ü', '2'], line: 5, raw: 'ü,"2"' },
    ]);
  });
});

describe('parseDataset: CSV', () => {
  it('reads a header, option columns, and reports the line where each record starts', () => {
    const text = [
      'id,question,A,B,C,D,answer,subject',
      'c1,"What is 2+2, in words?",three,four,five,six,B,math',
      'c2,"A question',
      'over two lines, with ""quotes""",yes,no,,,A,',
      'c3,Too few fields,a,b',
      'c4,Blank middle,a,,c,,A,x',
      'c5,Last,"x, y",z,,,2,',
    ].join('\r\n');
    const { questions, invalid, format } = parseDataset(text, 'mc.csv');
    expect(format).toBe('csv');
    expect(questions).toEqual([
      { id: 'c1', question: 'What is 2+2, in words?', options: ['three', 'four', 'five', 'six'], answer: 1, subject: 'math' },
      { id: 'c2', question: 'A question\r\nover two lines, with "quotes"', options: ['yes', 'no'], answer: 0, subject: 'general' },
      { id: 'c5', question: 'Last', options: ['x, y', 'z'], answer: 1, subject: 'general' },
    ]);
    expect(invalid.map((r) => [r.line, r.reason])).toEqual([
      [5, 'has 4 fields but the header has 8'],
      [6, 'empty option B'],
    ]);
    expect(invalid[0].raw).toBe('c3,Too few fields,a,b');
  });

  it('reads options given as a JSON array in an `options` column, and answer_index as text', () => {
    const text = 'question,options,answer_index\n"Pick ""b""","[""a"", ""b"", ""c""]",1\n';
    expect(parseDataset(text, 'x.csv').questions[0]).toMatchObject({ question: 'Pick "b"', options: ['a', 'b', 'c'], answer: 1, id: 'x.csv:2' });
  });

  it('refuses a header with a repeated column', () => {
    expect(() => parseDataset('question,A,A\nq,x,y\n', 'd.csv')).toThrow(/column 'A' appears twice/);
  });
});

describe('parseDataset: MMLU-Pro rows', () => {
  // The fields as TIGER-Lab/MMLU-Pro has them; the 17% of questions with fewer than 10 options are padded
  // with trailing "N/A" entries.
  const pad = (opts: string[]) => [...opts, ...Array<string>(10 - opts.length).fill('N/A')];
  const row = {
    question_id: 70,
    question: 'Typical advertising regulatory bodies suggest ...',
    options: pad(['Safe practices', 'Unsafe practices', 'Wants', 'Needs']),
    answer: 'C',
    answer_index: 2,
    cot_content: "A: Let's think step by step. ... The answer is (C).",
    category: 'business',
    src: 'ori_mmlu-business_ethics',
  };

  it('maps question_id, category and cot_content, and drops trailing N/A padding', () => {
    const q = parseDataset(jsonl(row), 'mmlu-pro.jsonl').questions[0];
    expect(q).toEqual({
      id: '70',
      question: row.question,
      options: ['Safe practices', 'Unsafe practices', 'Wants', 'Needs'],
      answer: 2,
      subject: 'business',
      rationale: row.cot_content,
    });
  });

  it('keeps the padding when the gold answer is an "N/A", and an "N/A" in the middle', () => {
    const gold = parseDataset(jsonl({ ...row, answer: 'F', answer_index: 5 }), 'p.jsonl').questions[0];
    expect(gold.options).toHaveLength(10);
    expect(gold.answer).toBe(5);
    const middle = parseDataset(jsonl({ ...row, options: pad(['a', 'N/A', 'c']), answer: 'A', answer_index: 0 }), 'p.jsonl').questions[0];
    expect(middle.options).toEqual(['a', 'N/A', 'c']); // letters unchanged, so the rationale's letters still match
  });

  it('keeps padding that would leave fewer than 2 options, and refuses a letter/index disagreement', () => {
    expect(parseDataset(jsonl({ ...row, options: pad(['only']), answer: 'A', answer_index: 0 }), 'p.jsonl').questions[0].options).toHaveLength(10);
    expect(parseDataset(jsonl({ ...row, answer: 'D' }), 'p.jsonl').invalid[0].reason).toMatch(/disagree/);
  });
});

describe('toJsonl', () => {
  it('writes the canonical schema, which parseDataset reads back to the same questions', () => {
    const qs: Question[] = [
      { id: 'a', question: 'Line one\nline "two"', options: ['x', 'y, z', '  spaced  '], answer: 2, subject: 'misc', rationale: 'Because.' },
      { id: '7', question: 'Numbers?', options: ['1', '2', '3', '4'], answer: 0, subject: 'general' },
      { id: 'j', question: 'Ten', options: 'abcdefghij'.split(''), answer: 9, subject: 's' },
    ];
    const text = toJsonl(qs);
    expect(JSON.parse(text.split('\n')[0])).toEqual({ id: 'a', question: qs[0].question, options: qs[0].options, answer: 2, answer_letter: 'C', subject: 'misc', rationale: 'Because.' });
    const back = parseDataset(text, 'out.jsonl', { onInvalid: 'stop' });
    expect(back.questions).toEqual(qs);
    expect(toJsonl(back.questions)).toBe(text);
  });

  it('refuses a canonical row whose answer and answer_letter disagree', () => {
    expect(parseDataset(jsonl({ ...q4, answer: 1, answer_letter: 'C' }), 'c.jsonl').invalid[0].reason).toMatch(/answer 1 \(0-based index\) and answer_letter 'C' disagree/);
  });

  it('the sample fixture is canonical: 24 questions, 12 per subject, letters balanced', () => {
    const text = readFileSync(new URL('../fixtures/data/arith-sample.jsonl', import.meta.url), 'utf8');
    const { questions, invalid } = parseDataset(text, 'arith-sample.jsonl', { onInvalid: 'stop' });
    expect(invalid).toEqual([]);
    expect(questions).toHaveLength(24);
    expect(questions.filter((q) => q.subject === 'addition')).toHaveLength(12);
    expect(questions.filter((q) => q.subject === 'subtraction')).toHaveLength(12);
    for (const q of questions) {
      const [, a, op, b] = /^What is (\d+) ([+-]) (\d+)\?$/.exec(q.question)!;
      expect(q.options[q.answer]).toBe(String(op === '+' ? Number(a) + Number(b) : Number(a) - Number(b)));
    }
    expect(new Set(questions.map((q) => q.answer)).size).toBe(4);
    expect(toJsonl(questions)).toBe(text);
  });
});

describe('splitTrainTest', () => {
  // Subjects of 10, 5, 2 and 1 questions, interleaved.
  const subjects = [...Array(10).fill('s10'), ...Array(5).fill('s5'), 's2', 's2', 's1'] as string[];
  const qs: Question[] = shuffle(subjects, rng(3)).map((subject, i) => ({ id: `q${i}`, question: `q${i}`, options: ['a', 'b'], answer: 0, subject }));
  const count = (list: Question[], s: string) => list.filter((q) => q.subject === s).length;

  it('splits each subject in proportion, at least one each side for subjects of 2 or more', () => {
    const { train, test } = splitTrainTest(qs, { testFraction: 0.2, seed: 1 });
    expect([count(test, 's10'), count(test, 's5'), count(test, 's2'), count(test, 's1')]).toEqual([2, 1, 1, 0]);
    expect([count(train, 's10'), count(train, 's5'), count(train, 's2'), count(train, 's1')]).toEqual([8, 4, 1, 1]);
  });

  it('is deterministic for a seed, differs between seeds, and keeps the input order', () => {
    const a = splitTrainTest(qs, { seed: 5 });
    expect(splitTrainTest(qs, { seed: 5 })).toEqual(a);
    const ids = (l: Question[]) => l.map((q) => q.id);
    expect(ids(splitTrainTest(qs, { seed: 6 }).test)).not.toEqual(ids(a.test));
    const pos = (l: Question[]) => l.map((q) => qs.indexOf(q));
    for (const part of [a.train, a.test]) expect(pos(part)).toEqual([...pos(part)].sort((x, y) => x - y));
    expect(new Set([...ids(a.train), ...ids(a.test)]).size).toBe(qs.length);
    expect(a.train.length + a.test.length).toBe(qs.length);
  });

  it("does not move one subject's split when another subject is added", () => {
    const base = splitTrainTest(qs, { seed: 2 }).test.filter((q) => q.subject === 's10');
    const more = [...qs, ...Array.from({ length: 7 }, (_, i) => ({ id: `n${i}`, question: 'n', options: ['a', 'b'], answer: 0, subject: 'new' }))];
    expect(splitTrainTest(more, { seed: 2 }).test.filter((q) => q.subject === 's10')).toEqual(base);
  });

  it('handles 0 and 1 and refuses fractions outside 0–1', () => {
    expect(splitTrainTest(qs, { testFraction: 0 }).test).toEqual([]);
    expect(splitTrainTest(qs, { testFraction: 1 }).train).toEqual([]);
    expect(() => splitTrainTest(qs, { testFraction: 1.5 })).toThrow(/testFraction/);
  });
});

describe('rng and shuffle', () => {
  it('are deterministic, uniform-ish in [0, 1), and shuffle is a permutation that leaves its input alone', () => {
    const a = rng(42);
    const b = rng(42);
    const xs = Array.from({ length: 10000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
    const input = Array.from({ length: 50 }, (_, i) => i);
    const out = shuffle(input, rng(1));
    expect(input).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...out].sort((x, y) => x - y)).toEqual(input);
    expect(out).not.toEqual(input);
    expect(shuffle(input, rng(1))).toEqual(out);
  });
});

describe('fetchHfDatasetRows (datasets server on 127.0.0.1)', () => {
  let server: Server;
  let base: string;
  const requests: URLSearchParams[] = [];
  const TOTAL = 150;
  // Row 41 has no answer, row 77 was truncated by the server; the answer column is a ClassLabel (0-based).
  const rowAt = (i: number) => ({
    row_idx: i,
    row: i === 41 ? { question: `Q${i}`, choices: ['a', 'b', 'c', 'd'], subject: 'hf' } : { question: `Q${i}`, choices: ['a', 'b', 'c', 'd'], answer: i % 4, subject: 'hf' },
    truncated_cells: i === 77 ? ['question'] : [],
  });
  const features = [
    { feature_idx: 0, name: 'question', type: { dtype: 'string', _type: 'Value' } },
    { feature_idx: 1, name: 'subject', type: { dtype: 'string', _type: 'Value' } },
    { feature_idx: 2, name: 'choices', type: { feature: { dtype: 'string', _type: 'Value' }, _type: 'Sequence' } },
    { feature_idx: 3, name: 'answer', type: { names: ['A', 'B', 'C', 'D'], _type: 'ClassLabel' } },
  ];

  function serve(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.searchParams;
    requests.push(p);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname !== '/rows') return send(404, { error: 'Not Found' });
    if (p.get('dataset') === 'broken/ds') return send(500, { error: 'The split cannot be read' });
    if (p.get('dataset') !== 'test/mc' || p.get('config') !== 'all' || p.get('split') !== 'test') {
      return send(404, { error: "The dataset does not exist, or is not accessible without authentication (private or gated). Please check the spelling of the dataset name or retry with authentication." });
    }
    const offset = Number(p.get('offset'));
    const length = Math.min(100, Number(p.get('length')));
    const rows = [];
    for (let i = offset; i < Math.min(TOTAL, offset + length); i++) rows.push(rowAt(i));
    send(200, { features, rows, num_rows_total: TOTAL, num_rows_per_page: 100, partial: false });
  }

  /** fetch with the datasets server's address pointed at the test server. */
  const localFetch: typeof fetch = (input, init) => fetch(String(input).replace(DATASETS_SERVER_URL, base), init);

  beforeAll(async () => {
    server = createServer(serve);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('pages through the split, reports progress, and reads rows like a file', async () => {
    requests.length = 0;
    const progress: [number, number | null][] = [];
    const { questions, invalid } = await fetchHfDatasetRows({ dataset: 'test/mc', config: 'all', split: 'test', fetch: localFetch, onProgress: (d, t) => progress.push([d, t]) });
    expect(requests.map((p) => [p.get('offset'), p.get('length')])).toEqual([
      ['0', '100'],
      ['100', '50'], // the first page said where the split ends
    ]);
    expect(progress).toEqual([
      [100, 150],
      [150, 150],
    ]);
    expect(questions).toHaveLength(148);
    // ClassLabel answers are 0-based class indexes: row 2 has answer 2 = 'C'.
    expect(questions[2]).toEqual({ id: 'test/mc/all/test:3', question: 'Q2', options: ['a', 'b', 'c', 'd'], answer: 2, subject: 'hf' });
    expect(questions[0].answer).toBe(0);
    expect(invalid.map((r) => r.line)).toEqual([42, 78]);
    expect(invalid[0].reason).toMatch(/^missing answer/);
    expect(invalid[1].reason).toMatch(/truncated question/);
  });

  it('honours offset, length and pageSize', async () => {
    requests.length = 0;
    const progress: [number, number | null][] = [];
    const { questions } = await fetchHfDatasetRows({ dataset: 'test/mc', config: 'all', split: 'test', offset: 90, length: 20, pageSize: 15, fetch: localFetch, onProgress: (d, t) => progress.push([d, t]) });
    expect(requests.map((p) => [p.get('offset'), p.get('length')])).toEqual([
      ['90', '15'],
      ['105', '5'],
    ]);
    expect(progress).toEqual([
      [15, 20],
      [20, 20],
    ]);
    expect(questions.map((q) => q.question)).toEqual(Array.from({ length: 20 }, (_, i) => `Q${90 + i}`));
    // A length past the end of the split stops at the end.
    const tail = await fetchHfDatasetRows({ dataset: 'test/mc', config: 'all', split: 'test', offset: 140, length: 50, fetch: localFetch });
    expect(tail.questions).toHaveLength(10);
    await expect(fetchHfDatasetRows({ dataset: 'test/mc', config: 'all', split: 'test', pageSize: 101, fetch: localFetch })).rejects.toThrow(/pageSize 101/);
  });

  it('turns HTTP errors into DownloadErrors with the status, the server message and a hint', async () => {
    const err = await fetchHfDatasetRows({ dataset: 'broken/ds', config: 'default', split: 'train', fetch: localFetch }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/^broken\/ds\/default\/train: the datasets server is busy or cannot serve this dataset \(HTTP 500 at .*\): The split cannot be read\nHINT: wait a minute/);
    const missing = await fetchHfDatasetRows({ dataset: 'test/mc', config: 'all', split: 'nope', fetch: localFetch }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(DownloadError);
    expect((missing as Error).message).toMatch(/not found \(HTTP 404.*\nHINT: check the names on https:\/\/huggingface\.co\/datasets\/test\/mc/s);
  });

  it('reports an unreachable server as a DownloadError, and an abort as the abort', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const deadFetch: typeof fetch = (input, init) => fetch(String(input).replace(DATASETS_SERVER_URL, `http://127.0.0.1:${port}`), init);
    await expect(fetchHfDatasetRows({ dataset: 'test/mc', config: 'all', split: 'test', fetch: deadFetch })).rejects.toThrow(/could not reach the Hugging Face datasets server/);
    const ac = new AbortController();
    ac.abort(new Error('stopped by the user'));
    await expect(fetchHfDatasetRows({ dataset: 'test/mc', config: 'all', split: 'test', fetch: localFetch, signal: ac.signal })).rejects.toThrow('stopped by the user');
  });
});
