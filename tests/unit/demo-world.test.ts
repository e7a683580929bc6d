// The offline demo's world, teacher and tokenizer: deterministic generation, held-out chains kept out
// of training, answers that are the chain's value, a teacher that computes (never reads the gold
// label), and a character-level tokenizer whose chat masks cover exactly the answer.
import { describe, expect, it } from 'vitest';
import { parseDataset } from '../../src/data/formats';
import { extractBracketed } from '../../src/teacher/cot';
import { chatExample } from '../../src/train/loop';
import { loadTokenizer } from '../../src/tokenizer/tokenizer';
import { rng } from '../../src/util/random';
import { ArithmeticTeacher, solve } from '../../src/demo/teacher';
import { DEMO_VOCAB_SIZE, demoTokenizerFiles } from '../../src/demo/tokenizer';
import { chainWorked, mcCuedPrompt, mcDirect, mcPrompt, mcWorked, mcWorkedCued } from '../../src/demo/formats';
import {
  DIFFICULTIES, OPS, OPTIONS, allChains, applyOp, chainText, chainValue, chainValues, drawChain, generateWorld, levelCounts, makeQuestion,
  makeSplits, parseChain, workedChain, worldFromJsonl, worldToJsonl, type WorldQuestion,
} from '../../src/demo/world';

const world = generateWorld({ n: 2000, seed: 3, mix: { 1: 1, 2: 1, 3: 1, 4: 1 } });

/** The value of "3+1*7" by the plain rules, independent of world.ts: left to right, mod 10. */
function byHand(text: string): number {
  let x = Number(text[0]);
  for (let i = 1; i < text.length; i += 2) x = text[i] === '+' ? (x + Number(text[i + 1])) % 10 : (x * Number(text[i + 1])) % 10;
  return x;
}

describe('digit-chain world', () => {
  it('evaluates left to right mod 10; every operation is a permutation of the digits', () => {
    expect(chainValue(parseChain('3+1*7=?')!)).toBe(8);
    expect(chainValues(parseChain('3+1*7')!)).toEqual([4, 8]);
    expect(workedChain(parseChain('3+1*7')!)).toBe('3+1=4 4*7=8 [[I]]');
    expect(workedChain(parseChain('5*3')!)).toBe('5*3=5 [[F]]');
    expect(workedChain(parseChain('9+3*7+1')!)).toBe('9+3=2 2*7=4 4+1=5 [[F]]');
    for (const op of OPS) expect(new Set(OPTIONS.map((_, x) => applyOp(x, op))).size).toBe(10);
    expect(parseChain(' 3 + 1 * 7 = ? ')).toEqual({ start: 3, ops: ['+1', '*7'] });
    for (const bad of ['3+7=?', '3*2', '12+1=?', 'What is 2+2?', '3', '3+1*7=5']) expect(parseChain(bad)).toBeNull();
    expect(allChains(2)).toHaveLength(160);
    expect(new Set(allChains(3).map(chainText)).size).toBe(640);
  });

  it('is a pure function of the seed', () => {
    expect(generateWorld({ n: 300, seed: 3 })).toEqual(generateWorld({ n: 300, seed: 3 }));
    expect(generateWorld({ n: 300, seed: 4 })).not.toEqual(generateWorld({ n: 300, seed: 3 }));
    // One stream per level: changing one level's count leaves the other levels' questions as they were.
    const a = generateWorld({ n: 100, seed: 9, mix: { 1: 1, 2: 1 } }).filter((q) => q.difficulty === 2);
    const b = generateWorld({ n: 150, seed: 9, mix: { 1: 2, 2: 1 } }).filter((q) => q.difficulty === 2);
    const byId = (x: WorldQuestion, y: WorldQuestion) => x.id.localeCompare(y.id);
    expect([...b].sort(byId)).toEqual([...a].sort(byId));
    // The same stream as any JS engine gives: pinned.
    expect(generateWorld({ n: 4, seed: 0 }).map((q) => q.question)).toMatchInlineSnapshot(`
      [
        "2*3+3=?",
        "7*7=?",
        "0*7=?",
        "1*7=?",
      ]
    `);
  });

  it('asks k-step chains with the ten digits as options and the value as the answer', () => {
    for (const q of world) {
      expect(q.options).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      expect(q.question).toBe(`${chainText(q.chain)}=?`);
      expect(q.chain.ops).toHaveLength(q.difficulty);
      expect(q.answer).toBe(byHand(chainText(q.chain)));
      expect(parseChain(q.question)).toEqual(q.chain);
    }
    for (const d of DIFFICULTIES) expect(world.filter((q) => q.difficulty === d).length).toBe(500);
    // A level's chains are dealt from a shuffled deck: every one-step chain before any repeats.
    const ones = generateWorld({ n: 40, seed: 1, mix: { 1: 1 } });
    expect(new Set(ones.map((q) => q.question)).size).toBe(40);
  });

  it('counts levels by the mix: the demo default is one-step : two-step = 3 : 1', () => {
    expect(levelCounts(900)).toEqual({ 1: 675, 2: 225, 3: 0, 4: 0 });
    expect(levelCounts(10, { 1: 1, 4: 1 })).toEqual({ 1: 5, 2: 0, 3: 0, 4: 5 });
    expect(levelCounts(1001, { 1: 2, 2: 1, 3: 1, 4: 1 })).toEqual({ 1: 401, 2: 200, 3: 200, 4: 200 });
    expect(() => levelCounts(10, {})).toThrow(/no positive weight/);
  });

  it('keeps held-out chains of two or more steps out of the training split (the demo protocol: 600/300)', () => {
    for (const seed of [0, 1, 2]) {
      const { train, test } = makeSplits({ seed, train: 600, test: 300 });
      expect(train).toHaveLength(600);
      expect(test).toHaveLength(300);
      expect(train.filter((q) => q.difficulty === 1)).toHaveLength(450);
      expect(test.filter((q) => q.difficulty === 2)).toHaveLength(75);
      const held = new Set(test.filter((q) => q.difficulty > 1).map((q) => q.question));
      expect(held.size).toBe(75); // dealt without repeats
      expect(train.filter((q) => held.has(q.question))).toEqual([]);
      expect(new Set(train.map((q) => q.id)).size).toBe(600);
      expect(makeSplits({ seed, train: 600, test: 300 })).toEqual({ train, test });
    }
    const longer = makeSplits({ seed: 4, train: 400, test: 400, mix: { 2: 1, 3: 1, 4: 1 } });
    const held = new Set(longer.test.map((q) => q.question));
    expect(longer.train.filter((q) => held.has(q.question))).toEqual([]);
    // Asking for every two-step chain in the held-out set leaves none to train on: said, not looped.
    expect(() => makeSplits({ seed: 0, train: 10, test: 160, mix: { 2: 1 } })).toThrow(/no 2-step chain is left/);
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
    expect(() => worldFromJsonl('{"question":"2+2=?","options":["4"],"answer_index":0}\n')).toThrow(/line 1/);
  });
});

describe('the demo teacher', () => {
  it('works random chains of every length: one right step per operation, then the right [[letter]]', async () => {
    const teacher = new ArithmeticTeacher();
    const random = rng(17);
    for (let i = 0; i < 1000; i++) {
      const q = makeQuestion(drawChain(random, DIFFICULTIES[i % 4]), `t${i}`);
      const r = await teacher.generate({ messages: [], temperature: 0, maxTokens: 64, question: q });
      expect(r.text.endsWith(`[[${'ABCDEFGHIJ'[q.answer]}]]`)).toBe(true);
      expect(extractBracketed(r.text, 'letters', 10)).toBe(q.answer);
      // Each step starts where the previous one ended and is right by the plain rules.
      const steps = r.text.split(' ').slice(0, -1);
      expect(steps).toHaveLength(q.chain.ops.length);
      let x = q.chain.start;
      steps.forEach((s, j) => {
        const m = /^(\d)([+*]\d)=(\d)$/.exec(s)!;
        expect(Number(m[1])).toBe(x);
        expect(m[2]).toBe(q.chain.ops[j]);
        expect(Number(m[3])).toBe(byHand(`${m[1]}${m[2]}`));
        x = Number(m[3]);
      });
      expect(x).toBe(q.answer);
      expect(r.completionTokens).toBe(r.text.length);
    }
  });

  it('never reads the gold label', async () => {
    const teacher = new ArithmeticTeacher();
    const q = makeQuestion(parseChain('3+1*7')!, 'x');
    const r = await teacher.generate({ messages: [], temperature: 0, maxTokens: 64, question: { ...q, answer: 0 } });
    expect(r.text).toBe('3+1=4 4*7=8 [[I]]');
    // The options decide the letter: reversed options, the letter follows the value 8.
    expect(solve({ question: q.question, options: [...OPTIONS].reverse() })).toBe('3+1=4 4*7=8 [[B]]');
    // No option equals the value: the work is shown, no option is named.
    expect(extractBracketed(solve({ question: q.question, options: ['1', '2'] })!, 'letters', 2)).toBeNull();
    await expect(teacher.generate({ messages: [], temperature: 0, maxTokens: 64, question: { ...q, question: 'What is the capital of France?' } })).rejects.toThrow(/cannot read/);
  });
});

describe('demo tokenizer and formats', () => {
  const files = demoTokenizerFiles();
  const tok = loadTokenizer(files['tokenizer.json'], files['tokenizer_config.json']);

  it('is character-level with the chat specials, and round-trips text', () => {
    expect(tok.vocabSize).toBe(DEMO_VOCAB_SIZE);
    expect(tok.eosTokenIds).toEqual([tok.tokenId('<|end|>')]);
    expect(tok.padTokenId).toBe(tok.tokenId('<|pad|>'));
    expect(tok.bosTokenId).toBeNull();
    const text = '3+1*7=?\nA. 0\nB. 1 3+1=4 4*7=8 [[I]] Work it out.';
    const ids = tok.encode(text);
    expect(ids).toHaveLength(text.length);
    expect(tok.decode(ids)).toBe(text);
    expect(tok.encode('A')).toHaveLength(1);
    expect(tok.encode('aéb')).toEqual([tok.tokenId('a'), tok.tokenId('<|unk|>'), tok.tokenId('b')]); // not dropped
  });

  it('masks exactly the assistant answer and its <|end|>', () => {
    const q = makeQuestion(parseChain('2*7+3*3')!, 'q');
    for (const messages of [mcDirect(q), mcWorked(q), mcWorkedCued(q), chainWorked(q.chain)]) {
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
    // The demo prompt, byte for byte (the base model was pretrained on exactly this).
    const options = 'A. 0\nB. 1\nC. 2\nD. 3\nE. 4\nF. 5\nG. 6\nH. 7\nI. 8\nJ. 9';
    expect(tok.applyChatTemplate(mcPrompt(q), { addGenerationPrompt: true })).toBe(`<|user|>2*7+3*3=?\n${options}<|end|><|assistant|>`);
    expect(tok.applyChatTemplate(mcCuedPrompt(q), { addGenerationPrompt: true })).toBe(`<|system|>Work it out.<|end|><|user|>2*7+3*3=?\n${options}<|end|><|assistant|>`);
    expect(mcWorked(q).at(-1)!.content).toBe('2*7=4 4+3=7 7*3=1 [[B]]');
    expect(chainWorked(q.chain)[0].content).toBe('2*7+3*3');
  });
});
