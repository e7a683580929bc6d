// The offline demo's sizes and fine-tuning settings, in one literal (the same for the CLI and the
// page). Every method gets exactly these settings; only the targets differ.

import type { TrainConfig } from '../train/trainer';
import type { DifficultyMix } from './world';

export type DemoSize = 'full' | 'quick';

export interface DemoSettings {
  train: number;
  test: number;
  mix?: DifficultyMix;
  trainConfig: Partial<TrainConfig>;
  loop: { epochs: number; batchSize: number; pack?: number };
  eval: { maxNewTokens: number; maxBatch: number };
}

export const DEMO_SETTINGS: Record<DemoSize, DemoSettings> = {
  full: {
    train: 200, test: 100,
    trainConfig: { r: 8, alpha: 16, lr: 3e-3, schedule: 'cosine', warmupSteps: 2 },
    loop: { epochs: 2, batchSize: 16 },
    eval: { maxNewTokens: 48, maxBatch: 32 },
  },
  quick: {
    train: 64, test: 40,
    trainConfig: { r: 8, alpha: 16, lr: 3e-3, schedule: 'cosine', warmupSteps: 1 },
    loop: { epochs: 2, batchSize: 16 },
    eval: { maxNewTokens: 48, maxBatch: 40 },
  },
};
