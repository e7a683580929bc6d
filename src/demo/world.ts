// The offline demo's synthetic world: multiple-choice column addition with graded difficulty, where
// a tiny model can answer the easy questions in one token but needs to work column by column on the
// hard ones — the situation the entropy-routed method is made for.
//
// Difficulty (operands have the same number of digits, leading digit ≥ 1):
//   1  one-digit + one-digit, no carry            3+4=?      options: 4 consecutive numbers
//   2  two-digit + two-digit, no carry            23+45=?    options: the answer ± tens
//   3  two-digit + two-digit, one or two carries  47+85=?    options: the answer ± tens
//   4  three-digit + three-digit, exactly 1 carry 417+356=?  options: a tens × hundreds grid
//   5  three-digit + three-digit, 2 or 3 carries  478+356=?  options: a tens × hundreds grid
//
// Distractors from level 2 up keep the answer's units digit (so the units digit, the one thing a
// shallow reader computes, never tells the options apart) and differ from it by what carry mistakes
// give: a dropped or an extra carry into the tens (±10), into the hundreds (±100), or both (±110).
// Where the correct option sits in that structure is drawn uniformly — a tens window of four whose
// position is random, a 2×2 grid {0,10}×{0,100} whose correct corner is random — so that neither the
// option set nor the rank of the answer among the options gives it away: only doing the carries does.
// Options are shuffled, so the gold letter is uniform too.

import type { Question } from '../data/dataset';
import { rng, shuffle } from '../util/random';

export type Difficulty = 1 | 2 | 3 | 4 | 5;
export const DIFFICULTIES: readonly Difficulty[] = [1, 2, 3, 4, 5];

/** How each level is drawn: operand digits and the allowed number of carries. */
export const LEVELS: Record<Difficulty, { digits: number; minCarries: number; maxCarries: number; describe: string }> = {
  1: { digits: 1, minCarries: 0, maxCarries: 0, describe: 'one-digit sum, no carry' },
  2: { digits: 2, minCarries: 0, maxCarries: 0, describe: 'two-digit sum, no carry' },
  3: { digits: 2, minCarries: 1, maxCarries: 2, describe: 'two-digit sum with carries' },
  4: { digits: 3, minCarries: 1, maxCarries: 1, describe: 'three-digit sum, one carry' },
  5: { digits: 3, minCarries: 2, maxCarries: 3, describe: 'three-digit sum, several carries' },
};

export const SUBJECT = 'arithmetic';

/** A question of the world: a dataset Question plus what generated it. */
export interface WorldQuestion extends Question {
  difficulty: Difficulty;
  a: number;
  b: number;
  /** Columns that carry into the next one. */
  carries: number;
}

/** The dataset row written to JSONL (the user dataset schema of src/data/dataset.ts, plus `difficulty`). */
export interface WorldRow {
  id: string;
  question: string;
  options: string[];
  answer_index: number;
  subject: string;
  difficulty: Difficulty;
}

/** Relative weight of each level in a generated set; missing levels get 0. */
export type DifficultyMix = Partial<Record<Difficulty, number>>;

/** Equal shares of the five levels. */
export const UNIFORM_MIX: DifficultyMix = { 1: 1, 2: 1, 3: 1, 4: 1, 5: 1 };

// ---------------------------------------------------------------------------------------------------
// Column addition

/** Decimal digits, least significant first: 478 → [8, 7, 4]. */
export function digitsOf(n: number): number[] {
  const out: number[] = [];
  do {
    out.push(n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  return out;
}

/** One column of a column addition, units first. */
export interface Column {
  a: number;
  b: number;
  /** Carry into this column (0 or 1). */
  carryIn: number;
  /** a + b + carryIn (0…19). */
  sum: number;
}

/** The columns of a + b (non-negative integers), units first; a shorter operand contributes 0s. */
export function columns(a: number, b: number): Column[] {
  const da = digitsOf(a), db = digitsOf(b);
  const out: Column[] = [];
  let carry = 0;
  for (let i = 0; i < Math.max(da.length, db.length); i++) {
    const col = { a: da[i] ?? 0, b: db[i] ?? 0, carryIn: carry, sum: (da[i] ?? 0) + (db[i] ?? 0) + carry };
    out.push(col);
    carry = col.sum >= 10 ? 1 : 0;
  }
  return out;
}

/** How many columns of a + b carry into the next one (a carry out of the top column counts). */
export function carryCount(a: number, b: number): number {
  return columns(a, b).filter((c) => c.sum >= 10).length;
}

/**
 * The worked solution the teacher writes and the base model learns: one step per column, units
 * first, the carry written as "+1", then the total. Short on purpose (every character is a token):
 *   478+356 → "8+6=14 7+5+1=13 4+3+1=8 834";  3+4 → "3+4=7 7".
 */
export function workedSolution(a: number, b: number): string {
  const steps = columns(a, b).map((c) => `${c.a}+${c.b}${c.carryIn ? '+1' : ''}=${c.sum}`);
  return `${steps.join(' ')} ${a + b}`;
}

/** The operands of a question written "a+b=?" (spaces tolerated); null when it is not one. */
export function parseSum(question: string): { a: number; b: number } | null {
  const m = /^\s*(\d{1,9})\s*\+\s*(\d{1,9})\s*=\s*\??\s*$/.exec(question);
  return m ? { a: Number(m[1]), b: Number(m[2]) } : null;
}

/** The question text of a + b. */
export function questionText(a: number, b: number): string {
  return `${a}+${b}=?`;
}

// ---------------------------------------------------------------------------------------------------
// Generation

function intIn(random: () => number, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

/** Operands of a level: same digit count, leading digit ≥ 1, carries within the level's range (rejection sampling). */
export function drawOperands(random: () => number, difficulty: Difficulty): { a: number; b: number } {
  const L = LEVELS[difficulty];
  const lo = 10 ** (L.digits - 1), hi = 10 ** L.digits - 1;
  for (;;) {
    const a = intIn(random, lo, hi), b = intIn(random, lo, hi);
    const c = carryCount(a, b);
    if (c >= L.minCarries && c <= L.maxCarries) return { a, b };
  }
}

/**
 * The four option values of a + b, the answer first (unshuffled). See the header for the scheme;
 * every value is positive and distinct, and only the first equals a + b.
 */
export function optionValues(random: () => number, difficulty: Difficulty, a: number, b: number): number[] {
  const ans = a + b;
  if (difficulty === 1) {
    // Four consecutive numbers containing the answer, none below 0: the answer's rank is uniform
    // where the floor allows.
    const starts = [0, 1, 2, 3].map((k) => ans - k).filter((s) => s >= 0);
    const s = starts[Math.floor(random() * starts.length)];
    return [ans, ...[0, 1, 2, 3].map((k) => s + k).filter((v) => v !== ans)];
  }
  if (LEVELS[difficulty].digits === 2) {
    // A window of four tens around the answer (±10: a dropped or an extra carry into the tens),
    // every option at least 10 (the smallest sum of two two-digit numbers is 20).
    const starts = [0, 1, 2, 3].map((k) => -k).filter((s) => ans + 10 * s >= 10);
    const s = starts[Math.floor(random() * starts.length)];
    return [ans, ...[0, 1, 2, 3].map((k) => ans + 10 * (s + k)).filter((v) => v !== ans)];
  }
  // A 2×2 grid over the tens and hundreds: {x, x+10, x+100, x+110}; the answer is a random corner,
  // so the distractors are the answer with the tens and/or hundreds carry dropped or added.
  const ti = Math.floor(random() * 2), hi = Math.floor(random() * 2);
  const base = ans - 10 * ti - 100 * hi;
  const grid = [0, 1].flatMap((h) => [0, 1].map((t) => base + 10 * t + 100 * h));
  return [ans, ...grid.filter((v) => v !== ans)];
}

/** Options shuffled (the gold letter uniform) or listed from the smallest value up, as numeric
 *  multiple-choice tests often do (the gold letter is then the answer's rank, still uniform). */
export type OptionOrder = 'shuffled' | 'ascending';

/** One question of a level. */
export function makeQuestion(random: () => number, difficulty: Difficulty, id: string, operands?: { a: number; b: number }, optionOrder: OptionOrder = 'shuffled'): WorldQuestion {
  const { a, b } = operands ?? drawOperands(random, difficulty);
  const values = optionValues(random, difficulty, a, b);
  // order[i] = which value goes to option i
  const order = optionOrder === 'ascending' ? [0, 1, 2, 3].sort((i, j) => values[i] - values[j]) : shuffle([0, 1, 2, 3], random);
  return {
    id,
    question: questionText(a, b),
    options: order.map((k) => String(values[k])),
    answer: order.indexOf(0),
    subject: SUBJECT,
    difficulty,
    a,
    b,
    carries: carryCount(a, b),
  };
}

export interface GenerateOptions {
  n: number;
  seed: number;
  /** Relative weights per level (default: uniform). Counts are proportional, rounded, summing to n. */
  mix?: DifficultyMix;
  /** Prefix of the ids ("q" → "q-3-00012": level 3, 12th question of the set). */
  prefix?: string;
  /** Operand pairs "a+b" not to use (another split's); level 1 has too few pairs for this and ignores it. */
  exclude?: ReadonlySet<string>;
  /** Default 'shuffled'. */
  optionOrder?: OptionOrder;
}

/** Exact counts per level for `n` questions: largest remainders of n·w/Σw. */
export function levelCounts(n: number, mix: DifficultyMix = UNIFORM_MIX): Record<Difficulty, number> {
  const w = DIFFICULTIES.map((d) => Math.max(0, mix[d] ?? 0));
  const total = w.reduce((x, y) => x + y, 0);
  if (!(total > 0)) throw new Error('the difficulty mix has no positive weight');
  const exact = w.map((x) => (n * x) / total);
  const counts = exact.map(Math.floor);
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((p, q) => q[0] - p[0] || p[1] - q[1]);
  for (let k = 0; counts.reduce((x, y) => x + y, 0) < n; k++) counts[byRemainder[k][1]]++;
  return Object.fromEntries(DIFFICULTIES.map((d, i) => [d, counts[i]])) as Record<Difficulty, number>;
}

/**
 * `n` questions, deterministic in `seed`, shuffled across levels. Within a set, operand pairs of
 * levels 2–5 are distinct (a+b and b+a count as one pair); level 1 (36 pairs) repeats pairs with
 * other options and orders.
 */
export function generateWorld(o: GenerateOptions): WorldQuestion[] {
  const counts = levelCounts(o.n, o.mix);
  const prefix = o.prefix ?? 'q';
  const out: WorldQuestion[] = [];
  for (const d of DIFFICULTIES) {
    // One stream per level, so changing one level's count does not change the others' questions.
    const random = rng((o.seed * 7919 + d * 104729) >>> 0);
    const used = new Set<string>();
    for (let i = 0; i < counts[d]; i++) {
      let ops: { a: number; b: number };
      for (let tries = 0; ; tries++) {
        ops = drawOperands(random, d);
        const key = pairKey(ops.a, ops.b);
        if (d === 1 || tries > 10_000 || (!used.has(key) && !o.exclude?.has(key))) break;
      }
      used.add(pairKey(ops.a, ops.b));
      out.push(makeQuestion(random, d, `${prefix}-${d}-${String(i).padStart(5, '0')}`, ops, o.optionOrder));
    }
  }
  return shuffle(out, rng((o.seed ^ 0x5eed) >>> 0));
}

/** The key of an operand pair, order-free. */
export function pairKey(a: number, b: number): string {
  return a <= b ? `${a}+${b}` : `${b}+${a}`;
}

/**
 * A train and a test set from one seed. Test operand pairs (levels 2–5) never appear in train, so
 * held-out accuracy on those levels measures arithmetic, not memory.
 */
export function makeSplits(o: { seed: number; train: number; test: number; mix?: DifficultyMix; optionOrder?: OptionOrder }): { train: WorldQuestion[]; test: WorldQuestion[] } {
  const test = generateWorld({ n: o.test, seed: o.seed * 2 + 1, mix: o.mix, prefix: 'test', optionOrder: o.optionOrder });
  const exclude = new Set(test.filter((q) => q.difficulty > 1).map((q) => pairKey(q.a, q.b)));
  const train = generateWorld({ n: o.train, seed: o.seed * 2, mix: o.mix, prefix: 'train', exclude, optionOrder: o.optionOrder });
  return { train, test };
}

// ---------------------------------------------------------------------------------------------------
// Files

export function toWorldRow(q: WorldQuestion): WorldRow {
  return { id: q.id, question: q.question, options: q.options, answer_index: q.answer, subject: q.subject, difficulty: q.difficulty };
}

/** JSON lines in the user dataset schema (parseDataset reads them; `difficulty` rides along). */
export function worldToJsonl(questions: readonly WorldQuestion[]): string {
  return questions.map((q) => JSON.stringify(toWorldRow(q))).join('\n') + (questions.length ? '\n' : '');
}

/**
 * WorldQuestions back from the JSONL of worldToJsonl (or any rows with question "a+b=?"): the
 * operands come from the question text, the difficulty from the row or, when absent, from the operands.
 */
export function worldFromJsonl(text: string): WorldQuestion[] {
  return text.split('\n').filter((l) => l.trim()).map((line, i) => {
    const r = JSON.parse(line) as Partial<WorldRow>;
    const ops = typeof r.question === 'string' ? parseSum(r.question) : null;
    if (!ops || !Array.isArray(r.options) || typeof r.answer_index !== 'number') throw new Error(`line ${i + 1}: not a world row`);
    return {
      id: r.id ?? `line-${i + 1}`,
      question: r.question!,
      options: r.options.map(String),
      answer: r.answer_index,
      subject: r.subject ?? SUBJECT,
      difficulty: r.difficulty ?? difficultyOf(ops.a, ops.b),
      a: ops.a,
      b: ops.b,
      carries: carryCount(ops.a, ops.b),
    };
  });
}

/** The level a pair of operands belongs to (by the larger operand's digits and the carries). */
export function difficultyOf(a: number, b: number): Difficulty {
  const digits = Math.max(digitsOf(a).length, digitsOf(b).length);
  const c = carryCount(a, b);
  if (digits <= 1) return c === 0 ? 1 : 3;
  if (digits === 2) return c === 0 ? 2 : 3;
  return c <= 1 ? 4 : 5;
}
