// The training loop: seeded shuffling per epoch, micro-batches and gradient accumulation, progress
// events, checkpoints every N steps, and resuming a run exactly where its last checkpoint left it
// (same data order, same optimizer state: the same losses as an uninterrupted run, to rounding).

import { EntrotuneError } from '../errors';
import type { ChatMessage, Tokenizer } from '../tokenizer/tokenizer';
import { rng, shuffle } from '../util/random';
import { adapterConfigJson, readCheckpointState, safetensorsToTensors, tensorsToSafetensors, type CheckpointState, type FileSink } from './checkpoint';
import type { Trainer, TrainBatch } from './trainer';

export interface TrainExample {
  tokens: number[];
  /** Per-token targets, −100 where not trained (HF labels: position t's loss predicts labels[t+1]). */
  labels: number[];
}

/** Tokens of a conversation and labels on the last assistant message only (or on everything). */
export function chatExample(tok: Tokenizer, messages: ChatMessage[], includePrompt = false): TrainExample {
  const { ids, assistantMask } = tok.encodeChat(messages);
  return { tokens: ids, labels: ids.map((id, i) => (includePrompt || assistantMask[i] ? id : -100)) };
}

/**
 * Packed sequences: examples concatenated (in order, first fit) into rows of at most `maxTokens`,
 * so a micro-batch carries no padding. As in TRL's packing without per-document masks, a token can
 * attend to the earlier examples of its row; the first token of every appended example gets no
 * target, so no loss crosses a boundary. An example longer than `maxTokens` keeps a row of its own.
 */
export function packExamples(examples: TrainExample[], maxTokens: number): TrainExample[] {
  if (!(maxTokens > 0)) throw new EntrotuneError(`the packing length must be positive, got ${maxTokens}`);
  const rows: TrainExample[] = [];
  for (const e of examples) {
    const row = rows.find((r) => r.tokens.length + e.tokens.length <= maxTokens);
    if (!row) {
      rows.push({ tokens: [...e.tokens], labels: [...e.labels] });
      continue;
    }
    row.tokens.push(...e.tokens);
    row.labels.push(-100, ...e.labels.slice(1));
  }
  return rows;
}

export interface TrainProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  skipped: boolean;
  /** Trained tokens (positions with a target) per second of this session. */
  tokensPerSecond: number;
  /** Processed tokens (every token of the rows: prompt + target) per second of this session. */
  processedTokensPerSecond: number;
  gpuBytes: number;
  /** Seconds left at the current speed. */
  eta: number;
}

export interface TrainLoopOptions {
  epochs?: number;
  /** Sequences per micro-batch. */
  batchSize?: number;
  /** Micro-batches per optimizer step. */
  accumulation?: number;
  /** Pack examples into rows of at most this many tokens (see packExamples); default: one padded example per row. */
  pack?: number;
  /** Stop after this many optimizer steps (default: all epochs). */
  maxSteps?: number;
  /**
   * Exactly this many optimizer steps of full micro-batches (a token budget): rows are drawn across
   * epoch ends, each epoch in a new shuffled order, so a small data set is cycled and a large one cut.
   * Replaces `epochs` and `maxSteps`.
   */
  steps?: number;
  checkpointEvery?: number;
  /** Where checkpoints go; with `resume`, where the last one is read from. */
  sink?: FileSink;
  resume?: boolean;
  /** Recorded in adapter_config.json. */
  baseModel?: string;
  onProgress?: (p: TrainProgress) => void;
  onLog?: (text: string) => void;
  signal?: AbortSignal;
}

/** The order of examples in an epoch: a pure function of (seed, epoch), so a resumed run sees the same order. */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  return shuffle(Array.from({ length: n }, (_, i) => i), rng((seed * 1_000_003 + epoch) >>> 0));
}

/** The trained weights: a PEFT adapter, or (full fine-tuning) a model folder: model.safetensors with every weight, config.json, tokenizer files. */
export async function saveAdapterFiles(trainer: Trainer, sink: FileSink, baseModel: string): Promise<void> {
  if (!trainer.lora) {
    await sink.write('model.safetensors', await tensorsToSafetensors(trainer.model.gpu, trainer.tensors()));
    // The rest of the model folder, so the output loads as a model of its own.
    for (const [name, bytes] of Object.entries(trainer.model.companionFiles)) await sink.write(name, bytes);
    return;
  }
  await sink.write('adapter_model.safetensors', await tensorsToSafetensors(trainer.model.gpu, trainer.tensors()));
  await sink.write('adapter_config.json', adapterConfigJson(trainer.lora, baseModel));
}

// Checkpoints alternate between two slots, and state.json (written last) names the slot that is
// complete: a crash while saving leaves the previous slot and its state.json intact, never new
// weights beside an old step count. The exported adapter (or model folder) is written as well.
const slotFiles = (slot: number) => ({ weights: `checkpoint-${slot}.weights.safetensors`, optimizer: `checkpoint-${slot}.optimizer.safetensors` });

async function saveCheckpoint(trainer: Trainer, sink: FileSink, state: CheckpointState, baseModel: string): Promise<void> {
  const gpu = trainer.model.gpu;
  state.dropoutTick = trainer.dropoutTick;
  const slot = state.slot === 0 ? 1 : 0;
  const files = slotFiles(slot);
  await sink.write(files.weights, await tensorsToSafetensors(gpu, trainer.tensors()));
  const { m, v } = trainer.optimizerTensors();
  await sink.write(files.optimizer, await tensorsToSafetensors(gpu, [...m.map((x) => ({ name: `m.${x.name}`, t: x.t })), ...v.map((x) => ({ name: `v.${x.name}`, t: x.t }))]));
  await sink.write('state.json', JSON.stringify({ ...state, slot }, null, 1) + '\n'); // the commit point
  state.slot = slot;
  await saveAdapterFiles(trainer, sink, baseModel);
}

async function loadCheckpoint(trainer: Trainer, sink: FileSink): Promise<CheckpointState | null> {
  const state = await readCheckpointState(sink);
  if (!state) return null;
  const gpu = trainer.model.gpu;
  // (Checkpoints from before the slots kept the exported weights and optimizer.safetensors.)
  const files = state.slot === undefined ? { weights: trainer.lora ? 'adapter_model.safetensors' : 'model.safetensors', optimizer: 'optimizer.safetensors' } : slotFiles(state.slot);
  const weights = await sink.read(files.weights);
  const opt = await sink.read(files.optimizer);
  if (!weights || !opt) throw new EntrotuneError(`the checkpoint in ${sink.where} is incomplete (state.json without ${weights ? files.optimizer : files.weights})`, 'delete the checkpoint folder to start over');
  await safetensorsToTensors(gpu, `${sink.where}/${files.weights}`, weights, trainer.tensors());
  const { m, v } = trainer.optimizerTensors();
  await safetensorsToTensors(gpu, `${sink.where}/${files.optimizer}`, opt, [...m.map((x) => ({ name: `m.${x.name}`, t: x.t })), ...v.map((x) => ({ name: `v.${x.name}`, t: x.t }))]);
  trainer.step = state.step;
  trainer.dropoutTick = state.dropoutTick ?? 0;
  return state;
}

export interface TrainTokens {
  processed: number;
  trained: number;
}

export interface TrainLoopResult {
  /** The loss of every optimizer step (including those before a resume). */
  losses: number[];
  /** Tokens of every step (including those before a resume). */
  tokens: TrainTokens;
  /** Passes over the rows (fractional: 2.5 = two epochs and half of a third). */
  epochs: number;
}

/** Optimizer steps a loop over `rows` training rows (packed or not) takes with these options. */
export function loopSteps(rows: number, o: Pick<TrainLoopOptions, 'batchSize' | 'accumulation' | 'epochs' | 'maxSteps' | 'steps'>): number {
  if (o.steps !== undefined) return Math.max(1, o.steps);
  const perStep = Math.max(1, o.batchSize ?? 4) * Math.max(1, o.accumulation ?? 1);
  return Math.min(o.maxSteps ?? Infinity, Math.ceil(rows / perStep) * Math.max(1, o.epochs ?? 1));
}

/** Train on `examples`; returns the loss of every optimizer step (including those before a resume). */
export async function trainLoop(trainer: Trainer, examples: TrainExample[], o: TrainLoopOptions = {}): Promise<number[]> {
  return (await runTrainLoop(trainer, examples, o)).losses;
}

/** trainLoop with the tokens it processed and the passes it made over the data. */
export async function runTrainLoop(trainer: Trainer, examples: TrainExample[], o: TrainLoopOptions = {}): Promise<TrainLoopResult> {
  if (!examples.length) throw new EntrotuneError('no training examples');
  if (o.pack) examples = packExamples(examples, o.pack);
  const batchSize = Math.max(1, o.batchSize ?? 4);
  const accumulation = Math.max(1, o.accumulation ?? 1);
  const epochs = Math.max(1, o.epochs ?? 1);
  const fill = o.steps !== undefined;
  const totalSteps = loopSteps(examples.length, o);
  trainer.config.totalSteps = totalSteps;
  const seed = trainer.config.seed;
  const baseModel = o.baseModel ?? trainer.model.name;
  let state: CheckpointState = { version: 1, step: 0, epoch: 0, offset: 0, seed, losses: [], tokens: { processed: 0, trained: 0 }, config: { ...trainer.config, batchSize, accumulation, epochs, steps: o.steps } };
  if (o.resume && o.sink) {
    const loaded = await loadCheckpoint(trainer, o.sink);
    if (loaded) {
      if (loaded.seed !== seed) throw new EntrotuneError(`the checkpoint was made with seed ${loaded.seed}, this run uses ${seed}`, 'resume with the same settings');
      state = loaded;
      o.onLog?.(`resuming from step ${state.step} (epoch ${state.epoch}, example ${state.offset})`);
    }
  }
  const totals = (state.tokens ??= { processed: 0, trained: 0 }); // (checkpoints from before the counts start at 0)
  const t0 = performance.now();
  const startStep = state.step;
  let trained = 0, processed = 0;
  let order = epochOrder(examples.length, seed, state.epoch);
  const nextEpoch = () => {
    state.epoch++;
    state.offset = 0;
    order = epochOrder(examples.length, seed, state.epoch);
  };
  while (state.step < totalSteps) {
    if (o.signal?.aborted) {
      if (o.sink) await saveCheckpoint(trainer, o.sink, state, baseModel);
      throw new EntrotuneError(`training stopped at step ${state.step}${o.sink ? '; a checkpoint was saved' : ''}`, 'resume to continue');
    }
    let stepTokens = 0;
    for (let k = 0; k < accumulation && (fill || state.offset < examples.length); k++) {
      // An epoch's last micro-batch may be short, except with a fixed step count (`steps`): then it
      // is filled from the next epoch's order.
      const picked: TrainExample[] = [];
      do {
        if (state.offset >= examples.length) nextEpoch();
        const ids = order.slice(state.offset, state.offset + batchSize - picked.length);
        state.offset += ids.length;
        picked.push(...ids.map((i) => examples[i]));
      } while (fill && picked.length < batchSize);
      const batch: TrainBatch = { tokens: picked.map((e) => e.tokens), labels: picked.map((e) => e.labels) };
      stepTokens += picked.reduce((s, e) => s + e.tokens.length, 0);
      await trainer.accumulate(batch);
    }
    const r = await trainer.optimizerStep();
    if (r.skipped) o.onLog?.(`step ${state.step + 1}: loss or gradient is not finite (loss ${r.loss}, norm ${r.gradNorm}); the step was skipped`);
    state.step++;
    state.losses.push(r.loss);
    trained += r.tokens;
    processed += stepTokens;
    totals.trained += r.tokens;
    totals.processed += stepTokens;
    if (state.offset >= examples.length) nextEpoch();
    // The checkpoint before the progress event: a step shown as done is a step kept (a tab closed on
    // "step 3" resumes from step 3, not 2).
    if (o.sink && o.checkpointEvery && state.step % o.checkpointEvery === 0) await saveCheckpoint(trainer, o.sink, state, baseModel);
    const secs = (performance.now() - t0) / 1000;
    o.onProgress?.({
      step: state.step, totalSteps, epoch: state.epoch, loss: r.loss, lr: r.lr, gradNorm: r.gradNorm, skipped: r.skipped,
      tokensPerSecond: trained / secs, processedTokensPerSecond: processed / secs, gpuBytes: trainer.model.gpu.memory.current,
      eta: (secs / Math.max(1, state.step - startStep)) * (totalSteps - state.step),
    });
  }
  if (o.sink) await saveCheckpoint(trainer, o.sink, state, baseModel);
  return { losses: state.losses, tokens: { ...totals }, epochs: state.epoch + state.offset / examples.length };
}
