// The page's state and the life of a run. Steps 1–2 fill `state.model` and `state.data`; a run is
// created the first time something is stored for it (Score or Start) and from then on lives in the
// worker's OPFS folder, so the page can always be rebuilt from `openRun()`: after a reload, after the
// tab was closed, or from the list of runs. Everything the worker reports arrives in onEvent().

import * as Comlink from 'comlink';
import { splitTrainTest, type InvalidRow, type Question } from '../data/dataset';
import type { DeviceInfo, Engine, ModelInfo, RunDetails, RunEvent, RunInfo, RunModelSource, RunSettings } from '../engine/protocol';
import type { Quant } from '../model/quant';
import { $, describeError, input, num } from './dom';
import { fillForms, methodsFromForm, newRunId, settingsFromForm, syncFullBox, teacherFromForm } from './settings';
import { RUN_DEFAULTS } from '../settings/defaults';
import { Views } from './views';

export interface LoadedModel {
  info: ModelInfo;
  source: RunModelSource;
  quant?: Quant;
}

export interface LoadedData {
  name: string;
  questions: Question[];
  invalid: InvalidRow[];
  /** Questions that come split already, used as they are: the offline demo keeps its held-out sums out
   *  of training, which a random split of the same questions would not. */
  split?: { train: Question[]; test: Question[] };
  /** Settings that come with the questions and have no field in the forms (the offline demo's). */
  extra?: DataSettings;
}

/** Run settings a dataset may bring that the forms do not hold. */
export interface DataSettings {
  loop?: Pick<RunSettings['loop'], 'pack'>;
  eval?: Partial<RunSettings['eval']>;
}

export type Busy = null | 'load' | 'data' | 'score' | 'run';

export class App {
  device: DeviceInfo | null = null;
  model: LoadedModel | null = null;
  data: LoadedData | null = null;
  /** The held-out split of `data` (or the stored questions of a reopened run). */
  split: { train: Question[]; test: Question[] } | null = null;
  /** The current run, once something was stored for it. */
  run: RunInfo | null = null;
  busy: Busy = null;
  readonly views: Views;
  /** Asks the model step to load a run's model (set by the model step). */
  loadRunModel: (s: RunSettings['model']) => Promise<boolean> = async () => false;

  constructor(readonly engine: Comlink.Remote<Engine>) {
    this.views = new Views(this);
  }

  status(text: string, kind: 'info' | 'error' | 'ok' = 'info'): void {
    const s = $('status');
    s.textContent = text;
    s.className = `status ${kind}`;
  }

  error(where: string, err: unknown): void {
    const text = `${where}: ${describeError(err)}`;
    this.status(text, 'error');
    this.views.log(text);
    console.error(err);
  }

  log(text: string): void {
    this.views.log(text);
  }

  // -------------------------------------------------------------------------------------------------
  // Model and data

  setModel(m: LoadedModel | null): void {
    this.model = m;
    // A run belongs to one model: scoring again with another one is a new run.
    if (this.run && m && this.run.settings.model.name !== m.info.name) this.detachRun();
    this.refresh();
  }

  setData(d: LoadedData | null): void {
    this.data = d;
    this.detachRun();
    this.resplit();
  }

  /** Split the loaded questions again (test fraction, limit or seed changed). */
  resplit(): void {
    if (!this.data || !this.data.questions.length) {
      this.split = null;
    } else if (this.data.split) {
      this.split = this.data.split; // the test fraction, limit and seed do not apply to a given split
    } else {
      const limit = num('data-limit', 0);
      const qs = limit > 0 ? this.data.questions.slice(0, limit) : this.data.questions;
      try {
        this.split = splitTrainTest(qs, { testFraction: num('data-test-fraction', RUN_DEFAULTS.testFraction), seed: num('hp-seed', RUN_DEFAULTS.seed) });
      } catch (e) {
        this.split = null;
        this.error('Data', e);
      }
    }
    this.views.dataSplit();
    this.refresh();
  }

  /** Forget the current run (new model, data or prompt): the next Score or Start makes a new one. */
  detachRun(): void {
    if (!this.run) return;
    this.run = null;
    this.views.resetRunViews();
  }

  // -------------------------------------------------------------------------------------------------
  // Runs

  private settings(id: string): RunSettings {
    const m = this.model!;
    const given = this.data?.split;
    const testFraction = given ? given.test.length / (given.train.length + given.test.length) : num('data-test-fraction', RUN_DEFAULTS.testFraction);
    const data = { name: this.data?.name ?? this.run?.settings.data.name ?? 'data', testFraction, invalid: this.data?.invalid.length ?? 0 };
    const s = settingsFromForm(id, { name: m.info.name, source: m.source, quant: m.quant }, data);
    const x = this.data?.extra;
    return x ? { ...s, loop: { ...s.loop, ...x.loop }, eval: { ...s.eval, ...x.eval } } : s;
  }

  /** What in the forms cannot make a run's settings (a frontier that is not a list of fractions). */
  private formError(): string | null {
    try {
      methodsFromForm();
      return null;
    } catch (e) {
      return `The routing frontier (step 5): ${describeError(e)}`;
    }
  }

  private ready(): string | null {
    if (!this.model) return 'load a model first (step 1)';
    if (!this.split) return 'load a dataset first (step 2)';
    if (!this.split.train.length || !this.split.test.length) return 'the split needs training and held-out questions: use more questions or another test fraction';
    return null;
  }

  private onEvent = (e: RunEvent) => this.views.onEvent(e);

  async score(): Promise<void> {
    const missing = this.ready() ?? this.formError();
    if (missing) return this.status(`To score: ${missing}.`, 'error');
    const fresh = !this.run;
    // Once the teacher or training has begun, the run's stored settings stay as they are (the routing
    // and the checkpoints depend on them): scoring again only shows the stored scores.
    const begun = !!this.run && !['created', 'scored'].includes(this.run.status);
    const s = begun ? this.run!.settings : this.settings(this.run?.settings.id ?? newRunId());
    this.busy = 'score';
    this.refresh();
    this.status('Scoring the questions with the base model…');
    try {
      const summary = await this.engine.score(s, fresh ? this.split : null, Comlink.proxy(this.onEvent));
      await this.reloadRunInfo(s.id);
      if (summary) this.status(`Scored ${this.split!.train.length + this.split!.test.length} questions.`, 'ok');
    } catch (e) {
      this.error('Scoring', e);
    } finally {
      this.busy = null;
      this.refresh();
      void this.views.runsList();
    }
  }

  /** Start a run, or resume the current one with its stored settings. */
  async start(): Promise<void> {
    const missing = this.ready();
    if (missing) return this.status(`To start: ${missing}.`, 'error');
    if (this.run?.status === 'done') this.detachRun();
    const resuming = !!this.run && !['created', 'scored'].includes(this.run.status);
    let s: RunSettings;
    if (resuming) {
      // The stored settings, so that the checkpoints match. Until training has begun the teacher may
      // be changed (its replies are cached per teacher); the API key is always the one in the field now.
      s = { ...this.run!.settings };
      if (['created', 'score', 'teacher'].includes(this.run!.phase)) s.teacher = teacherFromForm();
      if (s.teacher.kind === 'http') s.teacher = { ...s.teacher, apiKey: input('teacher-key').value || undefined };
    } else {
      const bad = this.formError();
      if (bad) return this.status(bad, 'error');
      if (!methodsFromForm().length) return this.status('Choose at least one method (step 5).', 'error');
      s = this.settings(this.run?.settings.id ?? newRunId());
    }
    const fresh = !this.run;
    this.busy = 'run';
    this.refresh();
    this.views.beforeRun(s, resuming);
    this.status(resuming ? `Resuming run ${s.id} from what is stored…` : `Run ${s.id} started.`);
    try {
      const r = await this.engine.runPipeline(s, fresh ? this.split : null, Comlink.proxy(this.onEvent));
      await this.reloadRunInfo(s.id);
      if (r.status === 'done') {
        await this.views.results(s.id);
        this.status(`Run ${s.id} finished: results in step 6.`, 'ok'); // after the table, which tests and people read on "finished"
        location.hash = '#step-results';
      } else {
        this.status(`Run ${s.id} ${r.status}: ${r.text}`);
      }
    } catch (e) {
      await this.reloadRunInfo(s.id).catch((e2: unknown) => this.log(`run ${s.id}: its run.json could not be read again: ${describeError(e2)}`));
      this.error(`Run ${s.id}`, e);
    } finally {
      this.busy = null;
      this.refresh();
      void this.views.runsList();
    }
  }

  async stop(how: 'pause' | 'stop'): Promise<void> {
    this.status(how === 'pause' ? 'Pausing after the current step (a checkpoint is saved)…' : 'Stopping after the current step…');
    await this.engine.stop(how);
  }

  private async reloadRunInfo(id: string): Promise<void> {
    const d = await this.engine.openRun(id);
    this.run = d?.info ?? null;
  }

  /** Show a stored run: its settings, questions, scores, losses and results. */
  async open(id: string): Promise<RunDetails | null> {
    if (this.busy) {
      this.status('Wait for the current work to finish (or pause it) before opening another run.', 'error');
      return null;
    }
    const d = await this.engine.openRun(id);
    if (!d) {
      this.status(`Run ${id} is gone.`, 'error');
      return null;
    }
    const { train, test } = await this.engine.runData(id);
    this.data = null;
    this.split = { train, test };
    this.run = d.info;
    fillForms(d.info.settings);
    this.views.showRun(d);
    this.refresh();
    return d;
  }

  /** Open a run, load its model if another one is loaded, and resume it. */
  async resume(id: string): Promise<void> {
    const d = await this.open(id);
    if (!d) return;
    const want = d.info.settings.model;
    if (this.model?.info.name !== want.name) {
      const ok = await this.loadRunModel(want);
      if (!ok) return;
      // Loading a model detaches a run of another model; this one is the run's own.
      this.run = d.info;
    }
    await this.start();
  }

  // -------------------------------------------------------------------------------------------------

  /** Enable what can be done now. */
  refresh(): void {
    const idle = this.busy === null;
    const running = this.busy === 'run' || this.busy === 'score';
    const unfinished = !!this.run && ['running', 'paused', 'stopped', 'failed'].includes(this.run.status);
    ($('model-load') as HTMLButtonElement).disabled = !idle;
    ($('offline-demo-start') as HTMLButtonElement).disabled = !idle;
    ($('score-run') as HTMLButtonElement).disabled = !idle || !this.model || !this.split;
    const start = $('run-start') as HTMLButtonElement;
    start.disabled = !idle || !this.model || !this.split;
    start.textContent = unfinished ? 'Resume' : this.run?.status === 'done' ? 'Start again (new run)' : 'Start';
    ($('run-pause') as HTMLButtonElement).disabled = !running;
    ($('run-stop') as HTMLButtonElement).disabled = !running;
    $('run-new').hidden = !(idle && unfinished);
    syncFullBox(this.model?.info.report.quant === 'none');
    for (const id of ['data-file', 'data-hub-fetch', 'data-url-fetch', 'model-folder']) ($(id) as HTMLInputElement).disabled = !idle;
    this.views.nav();
  }
}
