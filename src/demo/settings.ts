// The offline demo's sizes and fine-tuning settings, in one literal (the same for the CLI and the
// page). Every method gets exactly these settings and the same token budget; only the targets differ.

import type { TrainConfig } from '../train/trainer';
import type { DifficultyMix } from './world';

export type DemoSize = 'full' | 'quick';
/** Full fine-tuning of every weight (default: the demo model is tiny and unquantised) or a LoRA adapter. */
export type DemoMode = 'full' | 'lora';

export interface DemoSettings {
  train: number;
  test: number;
  mix?: DifficultyMix;
  /** Tokens per method (prompt + target, in packed rows): every method takes the same steps. */
  trainTokens: number;
  loop: { batchSize: number; pack: number };
  eval: { maxNewTokens: number; maxBatch: number };
  /** False where the size is a smoke run of the machinery, too small to show the effect. */
  showsEffect: boolean;
  /** How long one seed took, measured: the one figure the page, the CLI and the README quote. */
  measured: string;
}

/** Where `measured` was measured. */
export const DEMO_MEASURED_ON = '2 CPU cores without a GPU (SwiftShader, the software kernel set), 2026-12-01';

// `full` is the protocol that showed the effect with a PyTorch stand-in of the same model
// (docs/demo-feasibility.md): 600 training and 300 held-out questions, ~50k tokens per method; at
// ≤ 12k tokens no method learnt when to reason. `quick` only runs every stage once on a
// few questions: its numbers are noise. Rows hold at most 96 tokens, so each holds one example (a
// prompt is ~60 tokens, the longest worked answer 18): packed rows of 256 have no per-document mask,
// and fine-tuning on them taught this tiny model to copy digits from the example before — seed 0
// measured pipeline 86.3% (easy 92.6%, chains started from the wrong digit) against 99.7% with one
// example a row, everything else equal. 100k tokens of row capacity (63–76k processed: rows are not
// full) in 131 steps of 8 rows met all four targets in seeds 0, 1 and 2; 50k (66 steps) met them in
// seeds 0 and 1 only (seed 2: the pipeline reasoned on too few held-out two-step chains), 75k still
// missed pipeline ≥ distill-all − 2 on seed 2, and lr 2e-3 there was worse than 1e-3.
// Evaluation generates at most 40 tokens, room for the teacher's longest worked chain.
export const DEMO_SETTINGS: Record<DemoSize, DemoSettings> = {
  full: {
    train: 600, test: 300,
    trainTokens: 100_000,
    loop: { batchSize: 8, pack: 96 },
    eval: { maxNewTokens: 40, maxBatch: 100 },
    showsEffect: true,
    measured: '5 min 56 s',
  },
  quick: {
    train: 48, test: 24,
    trainTokens: 4_096,
    loop: { batchSize: 4, pack: 96 },
    eval: { maxNewTokens: 40, maxBatch: 24 },
    showsEffect: false,
    measured: 'under a minute',
  },
};

/** How each mode fine-tunes, with the learning rates that worked on this base (2e-2 collapses LoRA). */
export const DEMO_TRAINING: Record<DemoMode, Partial<TrainConfig>> = {
  full: { mode: 'full', lr: 1e-3, schedule: 'cosine', warmupSteps: 3 },
  lora: { mode: 'lora', r: 4, alpha: 8, lr: 5e-3, schedule: 'cosine', warmupSteps: 3 },
};

/** Where the committed demo base model lives, relative to the repository root (and, as a static asset,
 *  to the page: `public/` is served at the site's root). */
export const DEMO_MODEL_DIR = 'public/demo/model';
/** The model's name in reports and adapter configs. */
export const DEMO_MODEL_NAME = 'entrotune/demo-digit-chains';
