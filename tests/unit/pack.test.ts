import { describe, expect, it } from 'vitest';
import { packExamples } from '../../src/train/loop';

const ex = (n: number, first: number) => ({ tokens: Array.from({ length: n }, (_, i) => first + i), labels: Array.from({ length: n }, (_, i) => (i < 2 ? -100 : first + i)) });

describe('packExamples', () => {
  it('fills rows first-fit in order and never lets a target cross a boundary', () => {
    const rows = packExamples([ex(5, 0), ex(4, 10), ex(7, 20), ex(3, 30)], 10);
    expect(rows.map((r) => r.tokens.length)).toEqual([9, 10]);
    expect(rows[0].tokens).toEqual([0, 1, 2, 3, 4, 10, 11, 12, 13]);
    expect(rows[0].labels).toEqual([-100, -100, 2, 3, 4, -100, -100, 12, 13]);
    expect(rows[1].labels.slice(7)).toEqual([-100, -100, 32]);
  });
  it('keeps an over-long example in a row of its own and refuses a bad length', () => {
    expect(packExamples([ex(12, 0), ex(2, 50)], 10).map((r) => r.tokens.length)).toEqual([12, 2]);
    expect(() => packExamples([ex(2, 0)], 0)).toThrow('packing length');
  });
});
