// LocalEngine: the Engine (./protocol.ts) in the current thread. The page runs it in its worker
// (workers/trainer.worker.ts, OPFS storage), the CLI in its own process (src/cli/engine.ts, Node
// storage, the device --kernels chose), tests with memory storage. A run lives in a folder of its own
// (./runs.ts): running one again with the same id resumes it (scores, teacher replies, checkpoints and
// evaluation records are all reused).

import { toJsonl, type InvalidRow, type Question } from '../data/dataset';
import { fetchHfDatasetRows } from '../data/datasets-server';
import { parseDataset, type ParsedDataset } from '../data/formats';
import { DatasetError, EntrotuneError, serializeError } from '../errors';
import { createDevice, type Gpu } from '../gpu/device';
import { fromHfConfig } from '../model/config';
import { loadModel, type LoadModelOptions } from '../model/load-model';
import { listCachedModels, removeCachedModel, type CachedModel, type ModelCache } from '../model/model-cache';
import type { GenerateResult, Model } from '../model/model';
import { planInference, type MemoryPlan } from '../model/plan';
import type { Quant } from '../model/quant';
import type { ModelSource } from '../model/sources';
import { runPipeline as runPipelineStages, type PipelineOptions } from '../pipeline/pipeline';
import type { PipelineReport } from '../pipeline/report';
import { checkMethods } from '../pipeline/methods';
import { scoreDataset, type ScoreRecord } from '../score/score';
import { checkRunId, memoryRunFolders, type RunFolders, type RunStorage } from '../storage/runs';
import { readJson } from '../storage/json';
import type { Teacher } from '../teacher/teacher';
import { WEBLLM_TEACHERS } from '../teacher/webllm';
import type { ChatMessage } from '../tokenizer/tokenizer';
import { adapterConfigJson, readCheckpointState, tensorsToSafetensors, type FileSink } from '../train/checkpoint';
import { chatExample, trainLoop, type TrainProgress } from '../train/loop';
import { planTraining, type TrainMemoryPlan } from '../train/plan';
import { Trainer, type TrainConfig } from '../train/trainer';
import type { DeviceInfo, Engine, EngineTrainLoop, ModelInfo, ProgressEvent, RunDetails, RunEvent, RunInfo, RunList, RunResult, RunSettings, ScoreSummary } from './protocol';
import { readRunData, readRunInfo, readRunPath, runFileNames, withoutKey, writeRunInfo } from './runs';
import { summarizeScores } from './summary';
import { makeTeacher } from './teachers';

/** What the pipeline is told for a run's settings (all but the data, the teacher and the storage). */
export function pipelineOptions(s: Omit<RunSettings, 'id' | 'model' | 'data'>, modelName: string) {
  const { trainTokens, ...loop } = s.loop;
  return {
    methods: s.methods, prompt: s.prompt, order: s.order, complexitySignal: s.signal,
    // Fixed thresholds replace the quantiles (and the report then names no quantiles).
    quantiles: s.thresholds ? undefined : s.quantiles, thresholds: s.thresholds, teacherBudget: s.teacherBudget,
    trainConfig: { ...s.train }, loop, trainTokens, includePrompt: s.includePrompt,
    distill: { ...s.distill }, eval: s.eval, scoreBatch: s.scoreBatch, modelName, seed: s.seed,
  } satisfies Omit<PipelineOptions, 'train' | 'test' | 'teacher' | 'storage'>;
}

export class LocalEngine implements Engine {
  private gpu: Promise<Gpu> | null = null;
  private model: Model | null = null;
  private trainer: Trainer | null = null;
  /** The run in progress, and how it was asked to end. */
  private running: { id: string; ctrl: AbortController; how: 'pause' | 'stop' } | null = null;

  constructor(
    private readonly cache: () => Promise<ModelCache | undefined>,
    private readonly sinkFor: (runId: string) => Promise<FileSink>,
    private readonly runs: RunFolders = memoryRunFolders(),
    /** The device, asked for once, when first needed (the CLI lends the one its --kernels chose). */
    private readonly openDevice: () => Promise<Gpu> = () => createDevice(),
  ) {}

  private getGpu(): Promise<Gpu> {
    return (this.gpu ??= this.openDevice());
  }

  private needModel(): Model {
    if (!this.model) throw new EntrotuneError('no model is loaded', 'load a model first');
    return this.model;
  }

  async device(): Promise<DeviceInfo> {
    const g = await this.getGpu();
    return { description: g.describe(), adapter: g.adapter.name, isSoftware: g.adapter.isSoftware, kernels: g.kernels, features: [...g.features], limits: { ...g.limits } };
  }

  async planInference(config: unknown, quant: Quant, batch: number, seqLen: number): Promise<MemoryPlan> {
    const g = await this.getGpu();
    return planInference(fromHfConfig(config), { quant, batch, seqLen, limits: g.limits });
  }

  async planTraining(config: unknown, o: { quant: Quant; batch: number; seqLen: number; r: number }): Promise<TrainMemoryPlan> {
    const g = await this.getGpu();
    return planTraining(fromHfConfig(config), { ...o, limits: g.limits });
  }

  async loadModel(source: ModelSource | string, options: { quant?: Quant; contextLength?: number }, onProgress?: (p: ProgressEvent) => void): Promise<ModelInfo> {
    if (this.running) throw new EntrotuneError('a run is in progress', 'pause or stop it before loading another model');
    const g = await this.getGpu();
    await this.unloadModel();
    const before = g.memory.current;
    const o: LoadModelOptions = { ...options, cache: await this.cache(), onProgress };
    this.model = await loadModel(g, source, o);
    return { name: this.model.name, config: this.model.cfg, report: this.model.report, hasTokenizer: !!this.model.tokenizer, gpuBytes: g.memory.current - before };
  }

  async generate(prompt: string | ChatMessage[] | number[], options: { maxNewTokens?: number; temperature?: number; topP?: number; seed?: number }, onToken?: (id: number, text: string) => void): Promise<GenerateResult> {
    return this.needModel().generate(prompt, { ...options, onToken });
  }

  async train(conversations: ChatMessage[][], config: Partial<TrainConfig>, loop: EngineTrainLoop, onProgress?: (p: TrainProgress) => void, onLog?: (text: string) => void): Promise<{ losses: number[] }> {
    const model = this.needModel();
    const tok = model.tokenizer;
    if (!tok) throw new EntrotuneError(`${model.name} has no tokenizer.json`, 'training needs the tokenizer and chat template');
    const { runId, includePrompt, source, ...rest } = loop;
    const examples = conversations.map((m, i) => {
      try {
        return chatExample(tok, m, includePrompt);
      } catch (err) {
        // The chat template could not format this conversation: say which line of which file it is.
        const line = source?.lines[i] ?? 0;
        if (source && line > 0 && err instanceof EntrotuneError && !(err instanceof DatasetError)) throw new DatasetError(source.file, line, err.message.split('\nHINT: ')[0], err.hint || undefined);
        throw err;
      }
    });
    // Each run starts a fresh PEFT-initialised adapter (a resumed run then loads its checkpoint).
    this.trainer?.dispose();
    this.trainer = null;
    model.setAdapter(null);
    this.trainer = await Trainer.create(model, config);
    const losses = await trainLoop(this.trainer, examples, { ...rest, sink: await this.sinkFor(runId), baseModel: model.name, onProgress, onLog });
    return { losses };
  }

  async exportAdapter(): Promise<{ config: string; weights: Uint8Array }> {
    if (!this.trainer?.lora) throw new EntrotuneError('no LoRA adapter was trained yet', 'train first (LoRA mode)');
    const g = await this.getGpu();
    return { config: adapterConfigJson(this.trainer.lora!, this.needModel().name), weights: await tensorsToSafetensors(g, this.trainer.tensors()) };
  }

  async cachedModels(): Promise<CachedModel[]> {
    const c = await this.cache();
    return c ? listCachedModels(c) : [];
  }

  async removeCachedModel(id: string): Promise<void> {
    const c = await this.cache();
    if (c) await removeCachedModel(c, id);
  }

  async unloadModel(): Promise<void> {
    this.trainer?.dispose();
    this.trainer = null;
    this.model?.dispose();
    this.model = null;
  }

  // -------------------------------------------------------------------------------------------------
  // Data

  async teachers(): Promise<{ webllm: string[] }> {
    return { webllm: [...WEBLLM_TEACHERS] };
  }

  async parseDataset(text: string, fileName: string): Promise<ParsedDataset> {
    return parseDataset(text, fileName);
  }

  async fetchHfDataset(o: { dataset: string; config: string; split: string; length?: number }, onProgress?: (done: number, total: number | null) => void): Promise<{ questions: Question[]; invalid: InvalidRow[] }> {
    return fetchHfDatasetRows({ ...o, onProgress });
  }

  // -------------------------------------------------------------------------------------------------
  // Runs

  /** The run's info, created (with its questions) when `data` is given. Settings are stored without any API key. */
  private async prepare(settings: RunSettings, data: { train: Question[]; test: Question[] } | null): Promise<{ st: RunStorage; info: RunInfo; train: Question[]; test: Question[] }> {
    const id = checkRunId(settings.id);
    checkMethods(settings.methods);
    const st = this.runs.open(id);
    const now = new Date().toISOString();
    const old = await readJson<RunInfo>(st, 'run.json');
    const stored = { ...settings, teacher: withoutKey(settings.teacher) };
    let train: Question[], test: Question[];
    if (data) {
      ({ train, test } = data);
      await st.write('train.jsonl', toJsonl(train));
      await st.write('test.jsonl', toJsonl(test));
    } else {
      if (!old) throw new EntrotuneError(`there is no run '${id}'`, 'start a new run from the data step');
      ({ train, test } = await this.runData(id));
    }
    const info: RunInfo = old
      ? { ...old, settings: stored, counts: { train: train.length, test: test.length }, error: undefined }
      : { version: 1, settings: stored, status: 'created', phase: 'created', created: now, updated: now, counts: { train: train.length, test: test.length } };
    await writeRunInfo(st, info);
    return { st, info, train, test };
  }

  private begin(id: string): AbortController {
    if (this.running) throw new EntrotuneError(`run ${this.running.id} is in progress`, 'pause or stop it first');
    const ctrl = new AbortController();
    this.running = { id, ctrl, how: 'pause' };
    return ctrl;
  }

  /** Score every question of the run that is not scored yet; the summary is kept in score.json. */
  private async scoreRun(model: Model, st: RunStorage, s: RunSettings, train: Question[], test: Question[], signal: AbortSignal, emit: (e: RunEvent) => void): Promise<ScoreSummary> {
    const records = await scoreDataset(model, [...train, ...test], {
      prompt: s.prompt, batchSize: s.scoreBatch, store: await st.records<ScoreRecord>('scores.jsonl'), signal,
      onProgress: (p) => emit({ phase: 'score', done: p.done, total: p.total }),
    });
    const byId = new Map(records.map((r) => [r.id, r]));
    const summary = summarizeScores(train.map((q) => byId.get(q.id)!), test.map((q) => byId.get(q.id)!), s);
    await st.write('score.json', JSON.stringify(summary) + '\n');
    emit({ phase: 'scored', summary });
    return summary;
  }

  async score(settings: RunSettings, data: { train: Question[]; test: Question[] } | null, onEvent?: (e: RunEvent) => void): Promise<ScoreSummary | null> {
    const model = this.needModel();
    const ctrl = this.begin(settings.id);
    const emit = (e: RunEvent) => onEvent?.(e);
    try {
      const { st, info, train, test } = await this.prepare(settings, data);
      if (info.status === 'created' || info.status === 'scored') {
        info.phase = 'score';
        await writeRunInfo(st, info);
      }
      try {
        const summary = await this.scoreRun(model, st, info.settings, train, test, ctrl.signal, emit);
        if (info.status === 'created') info.status = 'scored';
        await writeRunInfo(st, info);
        return summary;
      } catch (err) {
        if (ctrl.signal.aborted) {
          emit({ phase: 'status', status: info.status, text: 'scoring was stopped; the questions scored so far are kept' });
          return null;
        }
        throw err;
      }
    } finally {
      this.running = null;
    }
  }

  async runPipeline(settings: RunSettings, data: { train: Question[]; test: Question[] } | null, onEvent?: (e: RunEvent) => void): Promise<RunResult> {
    const model = this.needModel();
    const ctrl = this.begin(settings.id);
    const emit = (e: RunEvent) => onEvent?.(e);
    let teacher: Teacher | null = null;
    let st: RunStorage | null = null;
    let info: RunInfo | null = null;
    /** A phase update of run.json that failed while the pipeline ran: it stops the run, and is the error. */
    let infoFailure: unknown = null;
    try {
      const prepared = await this.prepare(settings, data);
      ({ st, info } = prepared);
      const { train, test } = prepared;
      const s = info.settings;
      const resumed = info.status !== 'created' && info.status !== 'scored';
      info.status = 'running';
      info.phase = 'score';
      await writeRunInfo(st, info);
      emit({ phase: 'status', status: 'running', text: resumed ? `resuming run ${s.id}: what is stored (scores, teacher replies, checkpoints, evaluations) is reused` : `run ${s.id} started` });
      // A model left carrying an adapter (a test's train(), an earlier run stopped mid-way) is reset to the base.
      this.trainer?.dispose();
      this.trainer = null;
      model.setAdapter(null);

      await this.scoreRun(model, st, s, train, test, ctrl.signal, emit);
      teacher = await makeTeacher(settings.teacher, {
        labels: s.prompt.labels, signal: ctrl.signal,
        onLoad: (text, progress) => emit({ phase: 'teacher-load', text, progress }),
        loadModel: async (source, quant) => loadModel(await this.getGpu(), source, {
          quant, cache: await this.cache(), signal: ctrl.signal,
          onProgress: (p) => emit({ phase: 'teacher-load', text: `teacher ${p.phase}`, progress: p.total ? ('bytes' in p ? p.bytes : p.done) / p.total : 0 }),
        }),
      });
      const stInfo = info, stRun = st;
      const options = pipelineOptions(s, s.model.name);
      const report = await runPipelineStages(model, {
        ...options, train, test, teacher, storage: st,
        // A teacher that gives the same text every time (a column, the demo's program) is not asked again.
        distill: { ...options.distill, retries: teacher.deterministic ? 0 : s.distill.retries },
        signal: ctrl.signal,
        onEvent: (e) => {
          const phase = e.phase === 'teacher' ? 'teacher' : e.phase === 'train' ? `train ${e.method}` : e.phase === 'eval' ? `eval ${e.method}` : null;
          if (phase && phase !== stInfo.phase) {
            stInfo.phase = phase;
            writeRunInfo(stRun, stInfo).catch((err: unknown) => {
              infoFailure ??= err;
              ctrl.abort(err);
            });
          }
          emit(e);
        },
      });
      info.status = 'done';
      info.phase = 'done';
      await writeRunInfo(st, info);
      emit({ phase: 'status', status: 'done', text: `run ${s.id} finished in ${report.seconds.toFixed(0)} s` });
      return { status: 'done', report };
    } catch (caught) {
      const err = infoFailure ?? caught;
      if (!infoFailure && ctrl.signal.aborted && st && info) {
        const how = this.running?.how ?? 'pause';
        info.status = how === 'stop' ? 'stopped' : 'paused';
        await writeRunInfo(st, info);
        const text = `${how === 'stop' ? 'stopped' : 'paused'} during ${info.phase}; ${(err as Error).message?.split('\n')[0] ?? ''} (everything made so far is kept: run it again to resume)`;
        emit({ phase: 'status', status: info.status, text });
        return { status: info.status as 'paused' | 'stopped', text };
      }
      console.error(`run failed during ${info?.phase}:`, (err as Error)?.stack ?? err); // the stack stays in the worker's console; the page gets the typed error
      if (st && info) {
        info.status = 'failed';
        info.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        // The run's own error is the one thrown; a run.json that cannot record it is said beside it.
        await writeRunInfo(st, info).catch((e: unknown) => {
          console.error(e);
          emit({ phase: 'status', status: 'failed', text: `the failure could not be recorded in run.json: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` });
        });
      }
      throw err;
    } finally {
      // The pipeline unloads the teacher before training; after a failure or a stop it may still hold memory.
      await teacher?.unload?.().catch(() => undefined);
      try {
        model.setAdapter(null);
      } catch {
        // a lost device: the model is unusable anyway, and the error that matters is on its way
      }
      this.running = null;
    }
  }

  async stop(how: 'pause' | 'stop' = 'pause'): Promise<void> {
    if (!this.running) return;
    this.running.how = how;
    this.running.ctrl.abort();
  }

  async listRuns(): Promise<RunList> {
    const list: RunList = { runs: [], unreadable: [] };
    for (const id of await this.runs.list()) {
      try {
        const info = await readRunInfo(this.runs.open(id));
        if (info) list.runs.push(info); // folders without run.json belong to train() or older tools
      } catch (err) {
        list.unreadable.push({ id, error: serializeError(err) });
      }
    }
    list.runs.sort((a, b) => (a.updated < b.updated ? 1 : -1));
    return list;
  }

  async openRun(id: string): Promise<RunDetails | null> {
    const st = this.runs.open(checkRunId(id));
    const info = await readRunInfo(st);
    if (!info) return null;
    const losses: RunDetails['losses'] = {};
    for (const m of info.settings.methods) {
      const state = await readCheckpointState(await st.sink(m));
      if (state?.losses) losses[m] = state.losses;
    }
    const files: string[] = [];
    for (const f of runFileNames(info.settings.methods)) {
      if (!(await readRunPath(st, f))) continue;
      files.push(f);
      if (f.endsWith('/adapter_config.json')) files.push(f.replace('adapter_config.json', 'adapter_model.safetensors'));
      if (f.endsWith('/config.json')) files.push(f.replace('config.json', 'model.safetensors'));
    }
    return { info, score: await readJson<ScoreSummary>(st, 'score.json'), report: await readJson<PipelineReport>(st, 'report.json'), losses, files };
  }

  async runData(id: string): Promise<{ train: Question[]; test: Question[] }> {
    return readRunData(this.runs.open(checkRunId(id)), id);
  }

  async deleteRun(id: string): Promise<void> {
    if (this.running?.id === id) throw new EntrotuneError(`run ${id} is in progress`, 'stop it first');
    await this.runs.remove(checkRunId(id));
  }

  async readRunFile(id: string, path: string): Promise<Uint8Array | null> {
    return readRunPath(this.runs.open(checkRunId(id)), path);
  }
}
