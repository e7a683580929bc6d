// The complexity signals: each one's ROC AUC against a count of pairs by hand on a fixed set, the split
// and the teacher budget by any of them, and old scores without top1/margin refused with a way out.
import { describe, expect, it } from 'vitest';
import { analyzeScores, formatScoreReport, signalAucs } from '../../src/score/report';
import { complexity, heldOutBucket, routeBySignal } from '../../src/score/signals';
import { rec, SET } from './score-records';

describe('complexity signals', () => {
  it('give each signal the AUC a count of the 6 (right, wrong) pairs gives', () => {
    // AUC = share of pairs (right r, wrong w) where r is less complex than w, a tie counting ½:
    //   entropy          a .1 b .4 e .5 | c .3 d .8   → (a,c) (a,d) (b,d) (e,d)            = 4/6
    //   entropy-options  a .2 b .1 e .3 | c .5 d .6   → every pair                          = 6/6
    //   1 − top1         a .1 b .4 e .5 | c .05 d .7  → (a,d) (b,d) (e,d)                   = 3/6
    //   1 − margin       a .2 b .5 e .5 | c .5 d .9   → (a,c) (a,d) (b,d) (e,d) + ½(b,c) + ½(e,c) = 5/6
    const aucs = signalAucs(SET, { bootstrapSamples: 200 });
    expect(aucs.entropy!.auc).toBeCloseTo(4 / 6, 12);
    expect(aucs['entropy-options']!.auc).toBeCloseTo(1, 12);
    expect(aucs.top1!.auc).toBeCloseTo(3 / 6, 12);
    expect(aucs.margin!.auc).toBeCloseTo(5 / 6, 12);
    for (const a of Object.values(aucs)) expect(a!.low <= a!.auc && a!.auc <= a!.high).toBe(true);
    // The report carries them all, the entropy's and the options' in their old places too.
    const r = analyzeScores(SET, { signal: 'margin', bootstrapSamples: 200 });
    expect(r.signals).toEqual(aucs);
    expect(r.auc).toEqual(aucs.entropy);
    expect(r.aucOptions).toEqual(aucs['entropy-options']);
    expect(formatScoreReport(r)).toMatch(/\| 1 − margin between the two likeliest options \(splits\) \| 0\.833 \[/);
  });

  it('split and rank by any signal: answers that named no option are the most complex', () => {
    expect(complexity(SET[2], 'top1')).toBeCloseTo(0.05, 12);
    const byTop1 = routeBySignal(SET, { signal: 'top1' });
    expect(byTop1.ranked).toEqual(['f', 'd', 'e', 'b', 'a', 'c']);
    expect(routeBySignal(SET, { signal: 'entropy' }).ranked).toEqual(['f', 'd', 'e', 'b', 'c', 'a']);
    // Quantiles of c / cmax over the valid answers (numpy's linear interpolation): top1's complexities
    // .05 .1 .4 .5 .7 → q25 = .1, q75 = .5.
    expect(byTop1.bounds[0]).toBeCloseTo(0.1 / 0.7, 12);
    expect(byTop1.bounds[1]).toBeCloseTo(0.5 / 0.7, 12);
    expect(Object.fromEntries(byTop1.buckets)).toEqual({ a: 'easy', b: 'medium', c: 'easy', d: 'hard', e: 'medium', f: 'hard' });
  });

  it('a teacher budget of N makes the N most complex hard, and held-out questions use its cut', () => {
    const r = routeBySignal(SET, { signal: 'entropy', teacherBudget: 3 });
    expect([...r.buckets].filter(([, b]) => b === 'hard').map(([id]) => id)).toEqual(['d', 'e', 'f']);
    expect(r.bounds[1]).toBeCloseTo(0.4 / 0.8, 12); // the most complex valid answer left out, b
    expect(heldOutBucket(rec('x', 0.45, 0, 0, 0, true), r)).toBe('hard');
    expect(heldOutBucket(rec('y', 0.4, 0, 0, 0, false), r)).not.toBe('hard');
    // A budget smaller than the answers that named no option: the rest of them are answered directly.
    const none = routeBySignal([SET[5], rec('g', 1, 1, 0, 0, null)], { teacherBudget: 1 });
    expect(Object.fromEntries(none.buckets)).toEqual({ f: 'hard', g: 'medium' });
    const all = analyzeScores(SET, { teacherBudget: 0, bootstrapSamples: 50 });
    expect(all.buckets.hard.count).toBe(0);
  });

  it('scores from before top1 and margin were kept: no AUC for them, and a split by them says to score again', () => {
    const old = SET.map((r) => ({ ...r, top1: undefined, margin: undefined }));
    const r = analyzeScores(old, { bootstrapSamples: 50 });
    expect(r.signals!.top1).toBeNull();
    expect(r.signals!.margin).toBeNull();
    expect(r.signals!.entropy!.auc).toBeCloseTo(4 / 6, 12);
    expect(r.warnings.join('\n')).toMatch(/made before top1 and margin were kept.*score again/);
    expect(() => routeBySignal(old, { signal: 'margin' })).toThrow(/scored before the margin signal was kept[\s\S]*score again/);
  });
});
