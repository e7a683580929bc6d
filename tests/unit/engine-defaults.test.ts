// The defaults a run starts from are one literal (src/settings/defaults.ts): the trainer, the page's
// forms and the CLI's flags read it. A model of any size is trained with LoRA r 8, alpha 16 (the page
// used r 16, alpha 32 from 50M parameters up, while the trainer and the CLI used 8 and 16).
import { describe, expect, it } from 'vitest';
import { RUN_DEFAULTS } from '../../src/settings/defaults';
import { TRAIN_DEFAULTS } from '../../src/train/trainer';
import { trainDefaults } from '../../src/ui/settings';

describe('the run defaults', () => {
  it('are the trainer\'s', () => {
    const { r, alpha, dropout, lr, schedule, warmupSteps } = TRAIN_DEFAULTS;
    expect({ r, alpha, dropout, lr, schedule, warmupSteps }).toEqual(RUN_DEFAULTS.train);
    expect(TRAIN_DEFAULTS.seed).toBe(RUN_DEFAULTS.seed);
  });

  it('give the page r 8 and alpha 16 at every model size, and the size its step and batches', () => {
    expect(trainDefaults(1e6)).toMatchObject({ r: 8, alpha: 16, lr: 1e-3, dropout: 0, epochs: 1, batch: 4, accum: 1, warmup: 0, checkpoint: 1 });
    expect(trainDefaults(135e6)).toMatchObject({ r: 8, alpha: 16, lr: 2e-4, dropout: 0.05, epochs: 2, batch: 4, accum: 4, warmup: 10, checkpoint: 20 });
    expect(trainDefaults(3e9)).toMatchObject({ r: 8, alpha: 16, lr: 1e-4, dropout: 0.05, epochs: 2, batch: 2, accum: 8, warmup: 10, checkpoint: 20 });
    for (const p of [1e6, 135e6, 3e9]) expect(trainDefaults(p).why).not.toMatch(/r 16|alpha 32/);
  });
});
