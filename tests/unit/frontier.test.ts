// The routing frontier: its points' routing (the top round(f · n) by the signal), and its table and
// chart from a report's pipeline@f methods: ordered by fraction, one point and one whisker per
// fraction, the paper's 25% ringed only when it was trained.
import { describe, expect, it } from 'vitest';
import { frontierOf, frontierSvg, frontierTable, tickStep } from '../../src/pipeline/frontier';
import { checkMethods, frontierFraction, parseFrontier } from '../../src/pipeline/methods';
import type { Accuracy, MethodResult } from '../../src/pipeline/report';
import { cotIds } from '../../src/pipeline/targets';
import { routeBySignal } from '../../src/score/signals';
import { SET } from './score-records';

const acc = (correct: number, n: number): Accuracy => ({ n, correct, p: correct / n, low: Math.max(0, correct / n - 0.1), high: Math.min(1, correct / n + 0.1) });

const method = (name: string, cot: number, tokens: number, right: number): MethodResult => ({
  method: name as MethodResult['method'], targets: { direct: 10 - cot, cot, fallback: 0 }, targetTokens: 20 + tokens, cotTargetTokens: tokens,
  teacher: { questions: cot, calls: cot + 1, completionTokens: tokens + 5, kept: cot, retried: 0, fallback: 0 },
  steps: 3, loss: { first: 1, last: 0.5 }, trainSeconds: 1, accuracy: acc(right, 20),
  buckets: { easy: acc(5, 5), medium: acc(5, 5), hard: acc(right - 10, 10) }, reasoned: 0, answerTokens: 2, evalSeconds: 1, adapter: name,
});

describe('the routing frontier', () => {
  it('frontier points take the top round(f · n) of the ranking; 0 and 1 route as sft-all and distill-all', () => {
    const routing = routeBySignal(SET, { signal: 'entropy' });
    expect([...cotIds('pipeline@0', routing)]).toEqual([...cotIds('sft-all', routing)]);
    expect([...cotIds('pipeline@1', routing)].sort()).toEqual([...cotIds('distill-all', routing)].sort());
    expect([...cotIds('pipeline@0.5', routing)]).toEqual(['f', 'd', 'e']);
    expect([...cotIds('pipeline@0.25', routing)]).toEqual(['f', 'd']); // round(1.5) = 2
    expect(parseFrontier('0, 0.1,0.25 ,1')).toEqual(['pipeline@0', 'pipeline@0.1', 'pipeline@0.25', 'pipeline@1']);
    expect(() => parseFrontier('0,1.5')).toThrow(/between 0 and 1/);
    expect(() => parseFrontier('0,0')).toThrow(/given twice/);
    expect(frontierFraction('pipeline@.5')).toBeNull(); // not the folder name of pipeline@0.5
    expect(() => checkMethods(['pipeline', 'pipline'])).toThrow(/unknown method 'pipline'/);
  });

  it('keeps the pipeline@f methods, by fraction, with their teacher cost', () => {
    const methods = [method('pipeline@1', 10, 300, 19), method('sft-all', 0, 0, 12), method('pipeline@0', 0, 0, 12), method('pipeline@0.25', 3, 90, 18)];
    const points = frontierOf({ methods })!;
    expect(points.map((p) => [p.method, p.fraction, p.teacherTargetTokens, p.teacherCalls])).toEqual([['pipeline@0', 0, 0, 1], ['pipeline@0.25', 0.25, 90, 4], ['pipeline@1', 1, 300, 11]]);
    expect(frontierOf({ methods: [method('sft-all', 0, 0, 12)] })).toBeNull();
    const md = frontierTable(points);
    expect(md.split('\n')).toHaveLength(2 + 3);
    expect(md).toContain('| 25% (the paper\'s) | 3 (3) | 90 | 4 | 90.0% [80.0, 100.0] | 100.0% | 100.0% | 80.0% |');

    const svg = frontierSvg(points);
    expect(svg.match(/<circle [^>]*r="3.5"/g)).toHaveLength(3); // a point per fraction
    expect(svg.match(/stroke="#b91c1c"/g)).toHaveLength(1); // the paper's 25% ringed
    expect(svg).toContain('>25%, the paper\'s</text>');
    // The y axis from the lowest interval rounded down to 10% (50% here) to 100%.
    expect(svg).toContain('>50%</text>');
    expect(svg).not.toContain('>40%</text>');
    const without = frontierSvg(points.filter((p) => p.fraction !== 0.25));
    expect(without).not.toContain('the paper');
  });

  it('puts round ticks on the token axis', () => {
    expect([tickStep(300), tickStep(8100), tickStep(1), tickStep(0)]).toEqual([100, 5000, 0.5, 1]);
  });
});
