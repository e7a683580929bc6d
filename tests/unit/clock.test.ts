// The whole run's ETA: steps and answers still to come at the measured speeds, partial until both
// speeds are known.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RunClock } from '../../src/pipeline/clock';

describe('RunClock', () => {
  afterEach(() => vi.restoreAllMocks());

  it('counts every method left and says when evaluation is not timed yet', () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const clock = new RunClock([4, 4], 10); // two methods of 4 steps, 10 held-out questions each
    clock.start();
    expect(clock.left(0, { step: 0 })).toEqual({ seconds: 0, partial: true });
    now += 2000; // 2 s a step
    clock.step();
    // 3 + 4 steps left at 2 s; 20 answers not timed yet.
    expect(clock.left(0, { step: 1 })).toEqual({ seconds: 14, partial: true });
    now += 6000;
    clock.step();
    clock.step();
    clock.step(); // 8 s for 4 steps: still 2 s a step
    clock.start();
    now += 5000;
    clock.evaluated(5); // 1 s an answer
    expect(clock.left(0, { done: 5 })).toEqual({ seconds: 5 + 4 * 2 + 10, partial: false });
    now += 5000;
    clock.evaluated(10);
    clock.start();
    expect(clock.left(1, { step: 0 })).toEqual({ seconds: 4 * 2 + 10, partial: false });
  });
});
