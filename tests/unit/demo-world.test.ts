// The offline demo's world, teacher and tokenizer: deterministic generation, distractors that are
// distinct, wrong and not told apart by a shallow heuristic, a teacher that computes (never reads the
// gold label), and a character-level tokenizer whose chat masks cover exactly the answer.
import { describe, expect, it } from 'vitest';
import { parseDataset } from '../../src/data/dataset';
import { extractBracketed } from '../../src/teacher/cot';
import { chatExample } from '../../src/train/loop';
import { loadTokenizer } from '../../src/tokenizer/tokenizer';
import { rng } from '../../src/util/random';
import { ArithmeticTeacher, solve } from '../../src/demo/teacher';
import { DEMO_VOCAB_SIZE, demoTokenizerFiles } from '../../src/demo/tokenizer';
import { mcDirect, mcPrompt, mcWorked, mcWorkedCued, sumWorked } from '../../src/demo/formats';
import {
  DIFFICULTIES, LEVELS, carryCount, columns, difficultyOf, generateWorld, levelCounts, makeQuestion, makeSplits, pairKey, parseSum,
  workedSolution, worldFromJsonl, worldToJsonl, type WorldQuestion,
} from '../../src/demo/world';

const world = generateWorld({ n: 2000, seed: 3 });

describe('demo world', () => {
  it('is a pure function of the seed', () => {
    expect(generateWorld({ n: 300, seed: 3 })).toEqual(generateWorld({ n: 300, seed: 3 }));
    expect(generateWorld({ n: 300, seed: 4 })).not.toEqual(generateWorld({ n: 300, seed: 3 }));
    // One stream per level: changing one level's count leaves the other levels' questions as they were.
    const a = generateWorld({ n: 100, seed: 9, mix: { 1: 1, 2: 1 } }).filter((q) => q.difficulty === 2);
    const b = generateWorld({ n: 150, seed: 9, mix: { 1: 2, 2: 1 } }).filter((q) => q.difficulty === 2);
    const byId = (x: WorldQuestion, y: WorldQuestion) => x.id.localeCompare(y.id);
    expect([...b].sort(byId)).toEqual([...a].sort(byId));
  });

  it('has four distinct options, exactly one equal to the sum, at the gold index', () => {
    for (const q of world) {
      expect(q.options).toHaveLength(4);
      expect(new Set(q.options).size).toBe(4);
      const values = q.options.map(Number);
      expect(values.every((v) => Number.isInteger(v) && v >= 0)).toBe(true);
      expect(values.filter((v) => v === q.a + q.b)).toHaveLength(1);
      expect(values[q.answer]).toBe(q.a + q.b);
      expect(q.question).toBe(`${q.a}+${q.b}=?`);
    }
  });

  it('grades difficulty by digits and carries', () => {
    for (const q of world) {
      const L = LEVELS[q.difficulty];
      expect(String(q.a)).toHaveLength(L.digits);
      expect(String(q.b)).toHaveLength(L.digits);
      expect(q.carries).toBe(carryCount(q.a, q.b));
      expect(q.carries).toBeGreaterThanOrEqual(L.minCarries);
      expect(q.carries).toBeLessThanOrEqual(L.maxCarries);
      expect(difficultyOf(q.a, q.b)).toBe(q.difficulty);
    }
    expect(carryCount(478, 356)).toBe(2);
    expect(carryCount(978, 356)).toBe(3);
    expect(carryCount(23, 45)).toBe(0);
    // Every level appears, in the proportions asked for.
    expect(levelCounts(10, { 1: 1, 5: 1 })).toEqual({ 1: 5, 2: 0, 3: 0, 4: 0, 5: 5 });
    const c = levelCounts(1001, { 1: 2, 2: 1, 3: 1, 4: 1, 5: 1 });
    expect(Object.values(c).reduce((x, y) => x + y, 0)).toBe(1001);
    expect(c).toEqual({ 1: 333, 2: 167, 3: 167, 4: 167, 5: 167 }); // 333.67 and 166.83 each: the largest remainders round up
    for (const d of DIFFICULTIES) expect(world.filter((q) => q.difficulty === d).length).toBe(400);
  });

  it('gives hard questions no shallow tell: same units digit, uniform rank and letter, no-carry guess near chance', () => {
    const hard = world.filter((q) => q.difficulty >= 4);
    const rank = [0, 0, 0, 0], letter = [0, 0, 0, 0];
    let noCarryRight = 0, leadingRight = 0, largestRight = 0;
    for (const q of hard) {
      const values = q.options.map(Number);
      expect(new Set(values.map((v) => v % 10)).size).toBe(1); // the units digit never decides
      rank[[...values].sort((x, y) => x - y).indexOf(q.a + q.b)]++;
      letter[q.answer]++;
      // "add each column, ignore carries": right only if that value is an option and is the answer
      const noCarry = columns(q.a, q.b).reduceRight((acc, c) => acc * 10 + ((c.a + c.b) % 10), 0);
      if (noCarry === q.a + q.b) noCarryRight++;
      // "the hundreds digit is a₂ + b₂": among the options that match it, guess the first
      const guess = values.findIndex((v) => Math.floor(v / 100) % 10 === (Math.floor(q.a / 100) + Math.floor(q.b / 100)) % 10);
      if (guess === q.answer) leadingRight++;
      if (values.indexOf(Math.max(...values)) === q.answer) largestRight++;
    }
    for (const k of [0, 1, 2, 3]) {
      expect(rank[k] / hard.length).toBeGreaterThan(0.2);
      expect(rank[k] / hard.length).toBeLessThan(0.3);
      expect(letter[k] / hard.length).toBeGreaterThan(0.2);
      expect(letter[k] / hard.length).toBeLessThan(0.3);
    }
    expect(noCarryRight).toBe(0); // every hard question carries
    expect(leadingRight / hard.length).toBeLessThan(0.4);
    expect(largestRight / hard.length).toBeLessThan(0.3);
  });

  it('builds distractors from carry mistakes on multi-digit levels', () => {
    for (const q of world.filter((x) => x.difficulty >= 2)) {
      const diffs = q.options.map(Number).map((v) => v - (q.a + q.b)).filter((d) => d !== 0);
      const allowed = LEVELS[q.difficulty].digits === 2 ? [-30, -20, -10, 10, 20, 30] : [-110, -100, -90, -10, 10, 90, 100, 110];
      for (const d of diffs) expect(allowed).toContain(d);
    }
  });

  it('keeps held-out operand pairs out of the training split', () => {
    const { train, test } = makeSplits({ seed: 5, train: 600, test: 200 });
    expect(train).toHaveLength(600);
    expect(test).toHaveLength(200);
    const held = new Set(test.filter((q) => q.difficulty > 1).map((q) => pairKey(q.a, q.b)));
    expect(train.filter((q) => q.difficulty > 1 && held.has(pairKey(q.a, q.b)))).toEqual([]);
    expect(new Set(train.map((q) => q.id)).size).toBe(600);
    expect(makeSplits({ seed: 5, train: 600, test: 200 })).toEqual({ train, test });
  });

  it('writes rows that parseDataset reads, and reads them back', () => {
    const qs = world.slice(0, 50);
    const text = worldToJsonl(qs);
    const parsed = parseDataset(text, 'world.jsonl', { onInvalid: 'stop' });
    expect(parsed.invalid).toEqual([]);
    expect(parsed.questions.map((q) => ({ id: q.id, question: q.question, options: q.options, answer: q.answer, subject: q.subject }))).toEqual(
      qs.map((q) => ({ id: q.id, question: q.question, options: q.options, answer: q.answer, subject: q.subject })),
    );
    expect(worldFromJsonl(text)).toEqual(qs);
    expect(JSON.parse(text.split('\n')[0])).toHaveProperty('difficulty', qs[0].difficulty);
  });

  it('lists options from the smallest up when asked', () => {
    const asc = generateWorld({ n: 400, seed: 3, optionOrder: 'ascending' });
    const letter = [0, 0, 0, 0];
    for (const q of asc) {
      const v = q.options.map(Number);
      expect(v).toEqual([...v].sort((x, y) => x - y));
      expect(v[q.answer]).toBe(q.a + q.b);
      letter[q.answer]++;
    }
    for (const k of [0, 1, 2, 3]) expect(letter[k]).toBeGreaterThan(60);
  });
});

describe('column addition and the demo teacher', () => {
  it('writes the worked solution column by column with the carries', () => {
    expect(workedSolution(478, 356)).toBe('8+6=14 7+5+1=13 4+3+1=8 834');
    expect(workedSolution(978, 356)).toBe('8+6=14 7+5+1=13 9+3+1=13 1334');
    expect(workedSolution(3, 4)).toBe('3+4=7 7');
    expect(workedSolution(47, 5)).toBe('7+5=12 4+0+1=5 52');
    expect(parseSum('47+85=?')).toEqual({ a: 47, b: 85 });
    expect(parseSum(' 47 + 85 = ? ')).toEqual({ a: 47, b: 85 });
    expect(parseSum('What is 2+2?')).toBeNull();
  });

  it('solves random questions of every level: correct work, the right [[X]] at the end', async () => {
    const teacher = new ArithmeticTeacher();
    const random = rng(17);
    for (let i = 0; i < 1000; i++) {
      const d = DIFFICULTIES[i % 5];
      const q = makeQuestion(random, d, `t${i}`);
      const r = await teacher.generate({ messages: [], temperature: 0, maxTokens: 64, question: q });
      expect(r.text.endsWith(`[[${'ABCD'[q.answer]}]]`)).toBe(true);
      expect(extractBracketed(r.text, 'letters', 4)).toBe(q.answer);
      // The steps are right: each column's digits, carry and sum, then the total.
      const steps = r.text.split(' ');
      const cols = columns(q.a, q.b);
      expect(steps).toHaveLength(cols.length + 2);
      cols.forEach((c, k) => {
        const m = /^(\d)\+(\d)(\+1)?=(\d+)$/.exec(steps[k])!;
        expect(Number(m[1]) + Number(m[2]) + (m[3] ? 1 : 0)).toBe(Number(m[4]));
        expect(Number(m[4])).toBe(c.sum);
      });
      expect(Number(steps[cols.length])).toBe(q.a + q.b);
      expect(r.completionTokens).toBe(r.text.length);
    }
  });

  it('never reads the gold label', async () => {
    const teacher = new ArithmeticTeacher();
    const q = makeQuestion(rng(1), 5, 'x');
    const wrongGold: WorldQuestion = { ...q, answer: (q.answer + 1) % 4 };
    const r = await teacher.generate({ messages: [], temperature: 0, maxTokens: 64, question: wrongGold });
    expect(extractBracketed(r.text, 'letters', 4)).toBe(q.answer);
    expect(q.options[extractBracketed(r.text, 'letters', 4)!]).toBe(String(q.a + q.b));
    // The options alone decide the letter: move the true sum and the letter follows it.
    const moved = { ...q, options: [...q.options].reverse(), answer: 0 };
    expect(solve(moved)!.endsWith(`[[${'ABCD'[3 - q.answer]}]]`)).toBe(true);
    // No option equals the sum: the work is shown, no option is named.
    const none = { ...q, options: q.options.map((o) => String(Number(o) + 1)) };
    expect(extractBracketed(solve(none)!, 'letters', 4)).toBeNull();
    await expect(teacher.generate({ messages: [], temperature: 0, maxTokens: 64, question: { ...q, question: 'What is the capital of France?' } })).rejects.toThrow(/cannot read/);
  });
});

describe('demo tokenizer', () => {
  const files = demoTokenizerFiles();
  const tok = loadTokenizer(files['tokenizer.json'], files['tokenizer_config.json']);

  it('is character-level with the chat specials, and round-trips text', () => {
    expect(tok.vocabSize).toBe(DEMO_VOCAB_SIZE);
    expect(tok.eosTokenIds).toEqual([tok.tokenId('<|end|>')]);
    expect(tok.padTokenId).toBe(tok.tokenId('<|pad|>'));
    expect(tok.bosTokenId).toBeNull();
    const text = '478+356=?\nA. 834\nB. 824 [[B]] The following is a question about arithmetic.';
    const ids = tok.encode(text);
    expect(ids).toHaveLength(text.length);
    expect(tok.decode(ids)).toBe(text);
    expect(tok.encode('A')).toHaveLength(1);
    expect(tok.encode('aéb')).toEqual([tok.tokenId('a'), tok.tokenId('<|unk|>'), tok.tokenId('b')]); // not dropped
  });

  it('masks exactly the assistant answer and its <|end|>', () => {
    const q = generateWorld({ n: 5, seed: 1, mix: { 5: 1 } })[0];
    for (const messages of [mcDirect(q), mcWorked(q), mcWorkedCued(q), sumWorked(q.a, q.b)]) {
      const answer = messages.at(-1)!.content;
      const { ids, assistantMask } = tok.encodeChat(messages);
      const masked = ids.filter((_, i) => assistantMask[i]);
      expect(tok.decode(masked)).toBe(`${answer}<|end|>`);
      expect(masked).toHaveLength(answer.length + 1);
      // The prompt part is what generation starts from.
      const prompt = tok.encode(tok.applyChatTemplate(messages.slice(0, -1), { addGenerationPrompt: true }));
      expect(ids.slice(0, prompt.length)).toEqual(prompt);
      const ex = chatExample(tok, messages);
      expect(ex.labels.filter((l) => l >= 0)).toEqual(masked);
    }
    expect(tok.applyChatTemplate(mcPrompt(q), { addGenerationPrompt: true })).toBe(`<|user|>${q.question}\n${q.options.map((o, i) => `${'ABCD'[i]}. ${o}`).join('\n')}<|end|><|assistant|>`);
  });
});
