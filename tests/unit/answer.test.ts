// How an evaluated answer is read: a direct label, a chain of thought ending in a well-formed [[X]],
// or brackets that are neither (reported as malformed, not as reasoning).
import { describe, expect, it } from 'vitest';
import { answerOf } from '../../src/pipeline/eval';

const read = (text: string, first = text.slice(0, 1)) => answerOf(text, first, 'letters', 4);

describe('answerOf', () => {
  it('reads a direct answer from its first token', () => {
    expect(read('B')).toEqual({ pred: 1, reasoned: false, malformed: false });
    expect(read('1=1=1=1=1=')).toEqual({ pred: null, reasoned: false, malformed: false });
  });

  it('counts text that ends in a well-formed [[X]] as reasoned', () => {
    expect(read('3 + 4 = 7, which is option B. [[B]]')).toEqual({ pred: 1, reasoned: true, malformed: false });
    expect(read('Seven. [[ c ]].\n')).toEqual({ pred: 2, reasoned: true, malformed: false });
  });

  it('reports brackets that are not that as malformed, keeping an option the last [[…]] names', () => {
    expect(read('[[[[[[[[[[[[')).toEqual({ pred: null, reasoned: false, malformed: true });
    expect(read('[[B]]')).toEqual({ pred: 1, reasoned: false, malformed: true }); // no text before it
    expect(read('so [[B]] and then more words')).toEqual({ pred: 1, reasoned: false, malformed: true });
    expect(read('so [[Q]]')).toEqual({ pred: null, reasoned: false, malformed: true }); // names no option
    expect(read('[[A]] [[A]] [[B]]')).toEqual({ pred: 1, reasoned: false, malformed: true });
  });
});
