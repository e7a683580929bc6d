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

// Sized for this project's CI machine (2 cores, SwiftShader: LoRA training at roughly 30–50 tokens/s
// on the 64×2 demo model, greedy evaluation at ~100 new tokens/s batched): `full` aims at under 15
// minutes, `quick` at under 3. Each method trains one epoch of packed rows with LoRA r=4 on every
// projection; evaluation generates at most 40 tokens, enough for the teacher's longest worked answer.
export const DEMO_SETTINGS: Record<DemoSize, DemoSettings> = {
  full: {
    train: 120, test: 60,
    trainConfig: { r: 4, alpha: 8, lr: 5e-3, schedule: 'cosine', warmupSteps: 2 },
    loop: { epochs: 1, batchSize: 8, pack: 128 },
    eval: { maxNewTokens: 40, maxBatch: 60 },
  },
  quick: {
    train: 32, test: 24,
    trainConfig: { r: 4, alpha: 8, lr: 5e-3, schedule: 'cosine', warmupSteps: 1 },
    loop: { epochs: 1, batchSize: 8, pack: 128 },
    eval: { maxNewTokens: 40, maxBatch: 24 },
  },
};

/** Where the committed demo base model lives, relative to the repository root (and, as a static asset,
 *  to the page: `public/` is served at the site's root). */
export const DEMO_MODEL_DIR = 'public/demo/model';
/** The model's name in reports and adapter configs. */
export const DEMO_MODEL_NAME = 'entrotune/demo-arithmetic';
