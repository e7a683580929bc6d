// The offline demo's synthetic world, "digit chains": a start digit and k operations from
// {+1, +3, ×3, ×7}, evaluated left to right mod 10.
//
//   3+1*7=?   →  (3 + 1) · 7 mod 10 = 8        options: always A. 0 … J. 9, so the answer is I
//
// Each operation is a permutation of 0–9 (3 and 7 are coprime to 10), so no step loses information
// and every value is reachable. The options never change and the answer letter is a fixed function of
// the value (0 → A … 9 → J): what a question asks is only the chain. Difficulty is k, the number of
// operations. A tiny model can learn every one-step chain (there are 40) by heart and answer in one
// token, but with two or more steps it must work the chain out one operation at a time — the
// situation the entropy-routed method is made for. Other operand sets (+1…9, ×2…9) stall small models
// on a modular-arithmetic plateau, and the column-addition world this replaced stalled on matching
// values to shuffled option letters (docs/demo-feasibility.md).
//
// Everything is a pure function of a seed (util/random's mulberry32), so Node and the page generate
// the same questions.

import type { Question } from '../data/dataset';
import { letterOf } from '../data/dataset';
import { EntrotuneError } from '../errors';
import { rng, shuffle } from '../util/random';

/** k, the number of operations. */
export type Difficulty = 1 | 2 | 3 | 4;
export const DIFFICULTIES: readonly Difficulty[] = [1, 2, 3, 4];

/** The operations, written as they appear in questions ("*" for ×). */
export const OPS = ['+1', '+3', '*3', '*7'] as const;
export type Op = (typeof OPS)[number];

/** The ten options of every question: the digits in order, so option i (letter A + i) is the value i. */
export const OPTIONS: readonly string[] = Array.from({ length: 10 }, (_, i) => String(i));

export const SUBJECT = 'arithmetic';

/** A start digit and the operations applied to it, left to right. */
export interface Chain {
  start: number;
  ops: Op[];
}

/** A question of the world: a dataset Question plus what generated it. */
export interface WorldQuestion extends Question {
  difficulty: Difficulty;
  chain: Chain;
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

/** The demo's protocol: one-step : two-step = 3 : 1, so the hard quarter by entropy is about the
 *  two-step questions. The default of every generator here. */
export const DEMO_MIX: DifficultyMix = { 1: 3, 2: 1 };

// ---------------------------------------------------------------------------------------------------
// Chains

/** One operation on a digit, mod 10. */
export function applyOp(x: number, op: Op): number {
  const n = Number(op[1]);
  return op[0] === '+' ? (x + n) % 10 : (x * n) % 10;
}

/** The value after each operation: 3+1*7 → [4, 8]. */
export function chainValues(c: Chain): number[] {
  const out: number[] = [];
  let x = c.start;
  for (const op of c.ops) out.push((x = applyOp(x, op)));
  return out;
}

/** The value of the whole chain. */
export function chainValue(c: Chain): number {
  return chainValues(c).at(-1) ?? c.start;
}

/** "3+1*7": the chain as written in questions (without "=?") and in the bare worked chains. */
export function chainText(c: Chain): string {
  return `${c.start}${c.ops.join('')}`;
}

/** The question text: "3+1*7=?". */
export function questionText(c: Chain): string {
  return `${chainText(c)}=?`;
}

/** The chain of "3+1*7=?" or "3+1*7" (spaces tolerated); null when the text is not one. Only the four
 *  operations of the world are read. */
export function parseChain(text: string): Chain | null {
  const t = text.replace(/\s+/g, '');
  const m = /^(\d)((?:\+[13]|\*[37])+)(?:=\??)?$/.exec(t);
  return m ? { start: Number(m[1]), ops: m[2].match(/[+*]\d/g)! as Op[] } : null;
}

/**
 * The worked chain: one step per operation, each starting from the previous value, then the answer's
 * letter in double brackets (the option whose value it is). Short on purpose: every character is a token.
 *   3+1*7 → "3+1=4 4*7=8 [[I]]";   5*3 → "5*3=5 [[F]]"
 */
export function workedChain(c: Chain): string {
  let x = c.start;
  const steps = c.ops.map((op) => {
    const y = applyOp(x, op);
    const step = `${x}${op}=${y}`;
    x = y;
    return step;
  });
  return `${steps.join(' ')} [[${letterOf(x)}]]`;
}

/** Every chain of k operations, in a fixed order (10·4^k of them). */
export function allChains(k: number): Chain[] {
  let out: Chain[] = Array.from({ length: 10 }, (_, start) => ({ start, ops: [] }));
  for (let i = 0; i < k; i++) out = out.flatMap((c) => OPS.map((op) => ({ start: c.start, ops: [...c.ops, op] })));
  return out;
}

/** A uniformly random chain of k operations. */
export function drawChain(random: () => number, k: number): Chain {
  return { start: Math.floor(random() * 10), ops: Array.from({ length: k }, () => OPS[Math.floor(random() * OPS.length)]) };
}

/** The question of a chain. */
export function makeQuestion(c: Chain, id: string): WorldQuestion {
  return { id, question: questionText(c), options: [...OPTIONS], answer: chainValue(c), subject: SUBJECT, difficulty: c.ops.length as Difficulty, chain: c };
}

// ---------------------------------------------------------------------------------------------------
// Sets

export interface GenerateOptions {
  n: number;
  seed: number;
  /** Relative weights per level (default DEMO_MIX). Counts are proportional, rounded, summing to n. */
  mix?: DifficultyMix;
  /** Prefix of the ids ("q" → "q-2-00012": level 2, 12th question of the set). */
  prefix?: string;
  /** Chains (chainText) not to use: another split's. */
  exclude?: ReadonlySet<string>;
}

/** Exact counts per level for `n` questions: largest remainders of n·w/Σw. */
export function levelCounts(n: number, mix: DifficultyMix = DEMO_MIX): Record<Difficulty, number> {
  const w = DIFFICULTIES.map((d) => Math.max(0, mix[d] ?? 0));
  const total = w.reduce((x, y) => x + y, 0);
  if (!(total > 0)) throw new EntrotuneError('the difficulty mix has no positive weight', `give a positive weight to one of the levels ${DIFFICULTIES.join(', ')}`);
  const exact = w.map((x) => (n * x) / total);
  const counts = exact.map(Math.floor);
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((p, q) => q[0] - p[0] || p[1] - q[1]);
  for (let k = 0; counts.reduce((x, y) => x + y, 0) < n; k++) counts[byRemainder[k][1]]++;
  return Object.fromEntries(DIFFICULTIES.map((d, i) => [d, counts[i]])) as Record<Difficulty, number>;
}

/**
 * `n` questions, deterministic in `seed`, shuffled across levels. Each level deals its chains from a
 * seeded shuffle of all of them (less `exclude`), so a set repeats a chain only after it has used every
 * allowed one; there are only 40 one-step and 160 two-step chains, so a demo set has many repeats.
 */
export function generateWorld(o: GenerateOptions): WorldQuestion[] {
  const counts = levelCounts(o.n, o.mix);
  const prefix = o.prefix ?? 'q';
  const out: WorldQuestion[] = [];
  for (const d of DIFFICULTIES) {
    if (!counts[d]) continue;
    // One stream per level, so changing one level's count does not change the others' questions.
    const random = rng((o.seed * 7919 + d * 104729) >>> 0);
    const allowed = allChains(d).filter((c) => !o.exclude?.has(chainText(c)));
    if (!allowed.length) throw new EntrotuneError(`no ${d}-step chain is left for the set "${prefix}": all ${10 * 4 ** d} are excluded`, 'ask for fewer held-out questions of that level');
    let deck: Chain[] = [];
    for (let i = 0; i < counts[d]; i++) {
      if (!deck.length) deck = shuffle(allowed, random);
      out.push(makeQuestion(deck.pop()!, `${prefix}-${d}-${String(i).padStart(5, '0')}`));
    }
  }
  return shuffle(out, rng((o.seed ^ 0x5eed) >>> 0));
}

/**
 * A train and a test set from one seed (the demo's protocol: 600 and 300 with DEMO_MIX). No held-out
 * chain of two or more steps occurs in train, so held-out accuracy on those levels measures working
 * the chain, not memory. One-step chains (40 in all) are shared: they are what the base knows by heart.
 */
export function makeSplits(o: { seed: number; train: number; test: number; mix?: DifficultyMix }): { train: WorldQuestion[]; test: WorldQuestion[] } {
  const test = generateWorld({ n: o.test, seed: o.seed * 2 + 1, mix: o.mix, prefix: 'test' });
  const exclude = new Set(test.filter((q) => q.difficulty > 1).map((q) => chainText(q.chain)));
  const train = generateWorld({ n: o.train, seed: o.seed * 2, mix: o.mix, prefix: 'train', exclude });
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

/** WorldQuestions back from the JSONL of worldToJsonl (or any rows whose question is a chain "3+1*7=?"):
 *  the chain and the difficulty come from the question text. */
export function worldFromJsonl(text: string): WorldQuestion[] {
  return text.split('\n').filter((l) => l.trim()).map((line, i) => {
    const r = JSON.parse(line) as Partial<WorldRow>;
    const chain = typeof r.question === 'string' ? parseChain(r.question) : null;
    if (!chain || chain.ops.length > DIFFICULTIES.length || !Array.isArray(r.options) || typeof r.answer_index !== 'number') {
      throw new EntrotuneError(`line ${i + 1} is not a digit-chain row: ${line.slice(0, 80)}`, 'write rows with worldToJsonl');
    }
    return { id: r.id ?? `line-${i + 1}`, question: r.question!, options: r.options.map(String), answer: r.answer_index, subject: r.subject ?? SUBJECT, difficulty: chain.ops.length as Difficulty, chain };
  });
}
