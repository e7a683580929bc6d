// Every default of a run, in one literal, each with its reason. The CLI's flags default to these (its
// usage lines print them), the page fills its forms from them (src/ui/settings.ts), and the trainer's
// TRAIN_DEFAULTS take their training fields from them. Data, and a run's settings made of it: nothing
// here reaches more than the prompt templates, so the page, the engine and the trainer all read it.

import { PROMPTS } from '../data/prompts';
import type { RunSettings } from '../engine/protocol';
import type { Method } from '../pipeline/methods';
import type { Signal } from '../score/signals';

export const RUN_DEFAULTS = {
  testFraction: 0.2, //   a fifth held out (split per subject): enough for an interval, the rest to train on
  prompt: 'letters' as 'letters' | 'numbers', // A–J are one token each; with the paper's numbers "10" is two for Qwen
  scoreBatch: 8, //       prompts scored at once; more only helps a GPU with memory to spare
  signal: 'entropy' as Signal, // the paper's complexity signal; the score report gives every signal's AUC to compare
  quantiles: [0.25, 0.75] as [number, number], // the paper's cut points on normalised entropy
  methods: ['pipeline', 'sft-all', 'distill-all'] as Method[], // the method and its two baselines
  order: 'mix' as 'mix' | 'two-phase', // one shuffled set; 'two-phase' is the paper's order
  train: {
    r: 8, //              PEFT's default rank; enough for task adaptation of small models
    alpha: 16, //         alpha = 2r, the common QLoRA setting (scale 2)
    dropout: 0, //        LoRA dropout on the adapter input; QLoRA used 0.05–0.1 as a regulariser
    lr: 2e-4, //          the QLoRA paper's rate for 7B-and-smaller models
    schedule: 'cosine' as 'cosine' | 'constant', // decays to 0 by the last step: no step count to tune
    warmupSteps: 0, //    none; the page gives models of 50M parameters and up 10 (SIZE_DEFAULTS)
  },
  loop: {
    epochs: 1, //         one pass over each method's data
    batchSize: 4, //      examples per micro-batch: small, so that long prompts still fit in GPU memory
    accumulation: 1, //   micro-batches per optimizer step
    checkpointEvery: 50, // a killed run loses at most 50 steps; a checkpoint writes the adapter and AdamW state
  },
  distill: {
    retries: 2, //        a wrong chain of thought is asked again twice (at temperature 0.7) before the direct answer
    maxTokens: 512, //    room for a worked answer to a multiple-choice question
    concurrency: 4, //    requests in flight to an HTTP teacher (servers answer several at once)
  },
  eval: {
    maxNewTokens: 256, // room for a worked answer that ends in [[X]]
    maxBatch: 16, //      held-out prompts decoded at once
  },
  seed: 0, //            the split, the data order, LoRA's initialisation and dropout
};

/** What the page changes in RUN_DEFAULTS for the model it loads, by size (the CLI reads its flags before
 *  any model loads, so it keeps RUN_DEFAULTS). r and alpha stay 8 and 16 at every size. */
export const SIZE_DEFAULTS: { below: number; why: string; train: Partial<typeof RUN_DEFAULTS.train>; loop: Partial<typeof RUN_DEFAULTS.loop> }[] = [
  // Test fixtures and classroom models: a big step and a checkpoint every step cost nothing.
  { below: 50e6, why: 'a tiny model (< 50M parameters): a large learning rate, a checkpoint every step', train: { lr: 1e-3 }, loop: { checkpointEvery: 1 } },
  // SmolLM2, Qwen2.5-0.5B, Qwen3-0.6B: QLoRA's lr 2e-4 and dropout 0.05, effective batch 16.
  { below: 1e9, why: 'below 1B parameters: lr 2e-4, dropout 0.05, 4 × 4 examples per step', train: { dropout: 0.05, warmupSteps: 10 }, loop: { epochs: 2, accumulation: 4, checkpointEvery: 20 } },
  // 1B and up: half the learning rate, smaller micro-batches (the same 16 examples per step) to fit GPU memory.
  { below: Infinity, why: '1B parameters and up: lr 1e-4, 2 × 8 examples per step to fit GPU memory', train: { lr: 1e-4, dropout: 0.05, warmupSteps: 10 }, loop: { epochs: 2, batchSize: 2, accumulation: 8, checkpointEvery: 20 } },
];

/** A run's settings with every choice at its default (a fresh copy: change what you like). */
export function defaultRunSettings(id: string, model: RunSettings['model'], dataName: string): RunSettings {
  const D = RUN_DEFAULTS;
  return {
    id, model,
    data: { name: dataName, testFraction: D.testFraction, invalid: 0 },
    prompt: { ...PROMPTS[D.prompt] },
    teacher: { kind: 'column' }, // the dataset's own rationale: the one teacher that needs nothing set up
    methods: [...D.methods],
    order: D.order,
    signal: D.signal,
    quantiles: [...D.quantiles],
    train: { ...D.train },
    loop: { ...D.loop },
    distill: { retries: D.distill.retries, maxTokens: D.distill.maxTokens },
    eval: { ...D.eval },
    scoreBatch: D.scoreBatch,
    seed: D.seed,
  };
}
