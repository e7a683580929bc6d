// The forms of steps 3–5 ↔ RunSettings, and the defaults a model of a given size gets. The defaults
// are the run's (src/settings/defaults.ts, the same the CLI's flags use): the page fills its forms from
// them when it opens and adjusts the hyper-parameter fields for the size of a model when one is loaded;
// the person can change every field.

import type { LabelStyle, PromptTemplate } from '../data/prompts';
import { PROMPTS } from '../data/prompts';
import type { RunModelSource, RunSettings, TeacherSettings } from '../engine/protocol';
import type { Quant } from '../model/quant';
import { frontierFraction, parseFrontier, type Method } from '../pipeline/methods';
import { DEFAULT_SIGNAL, SIGNAL_NAMES, SIGNALS, type Signal } from '../score/signals';
import { defaultRunSettings, RUN_DEFAULTS, SIZE_DEFAULTS } from '../settings/defaults';
import { el, input, num, radioValue, replace, setRadio, $ } from './dom';

/** A new run id: sortable by time, unique enough for one person's browser. */
export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `run-${t}-${Math.random().toString(36).slice(2, 6)}`;
}

export interface TrainDefaults {
  r: number; alpha: number; lr: number; dropout: number; epochs: number; batch: number; accum: number; warmup: number; checkpoint: number;
  why: string;
}

/** Hyper-parameters by model size: the run's defaults with what SIZE_DEFAULTS changes for this size. */
export function trainDefaults(parameters: number): TrainDefaults {
  const size = SIZE_DEFAULTS.find((d) => parameters < d.below)!;
  const t = { ...RUN_DEFAULTS.train, ...size.train }, l = { ...RUN_DEFAULTS.loop, ...size.loop };
  return { r: t.r, alpha: t.alpha, lr: t.lr, dropout: t.dropout, epochs: l.epochs, batch: l.batchSize, accum: l.accumulation, warmup: t.warmupSteps, checkpoint: l.checkpointEvery, why: size.why };
}

export function applyTrainDefaults(d: TrainDefaults): void {
  input('hp-r').value = String(d.r);
  input('hp-alpha').value = String(d.alpha);
  input('hp-lr').value = String(d.lr);
  input('hp-dropout').value = String(d.dropout);
  input('hp-epochs').value = String(d.epochs);
  input('hp-batch').value = String(d.batch);
  input('hp-accum').value = String(d.accum);
  input('hp-warmup').value = String(d.warmup);
  input('hp-checkpoint').value = String(d.checkpoint);
  $('train-defaults').textContent = `Defaults for ${d.why}.`;
}

export function promptFromForm(): PromptTemplate {
  const labels = ($('prompt-labels') as HTMLSelectElement).value as LabelStyle;
  const system = ($('prompt-system') as HTMLTextAreaElement).value;
  return { labels, system, user: PROMPTS[labels].user };
}

export function teacherFromForm(): TeacherSettings {
  switch (radioValue('teacher-kind')) {
    case 'http':
      return { kind: 'http', url: input('teacher-url').value.trim(), model: input('teacher-model').value.trim() || 'default', apiKey: input('teacher-key').value || undefined };
    case 'webllm':
      return { kind: 'webllm', id: ($('teacher-webllm') as HTMLSelectElement).value };
    case 'own':
      return { kind: 'own', source: input('teacher-own').value.trim() };
    case 'demo':
      return { kind: 'demo' };
    default:
      return { kind: 'column' }; // the parsed `rationale` (from rationale, cot_content or explanation)
  }
}

/** The checked methods and the frontier's points (an EntrotuneError when the frontier field is not a list of fractions). */
export function methodsFromForm(): Method[] {
  const checked = [...document.querySelectorAll<HTMLInputElement>('input[name="method"]:checked')].map((c) => c.value as Method);
  const frontier = input('frontier').value.trim();
  return [...checked, ...(frontier ? parseFrontier(frontier) : [])];
}

/** Full fine-tuning is asked for (the box is enabled only for a model loaded unquantised). */
function fullFromForm(): boolean {
  const box = input('hp-full');
  return box.checked && !box.disabled;
}

/** Full fine-tuning trains the weights themselves: only a base loaded without quantisation can. The
 *  LoRA fields say they do not apply while it is on. */
export function syncFullBox(unquantised: boolean): void {
  const box = input('hp-full');
  box.disabled = !unquantised;
  if (!unquantised) box.checked = false;
  for (const id of ['hp-r', 'hp-alpha', 'hp-dropout']) input(id).disabled = box.checked;
}

/** Every setting of a run from the forms (the model and data parts from what is loaded). */
export function settingsFromForm(id: string, model: { name: string; source: RunModelSource; quant?: Quant }, data: RunSettings['data']): RunSettings {
  const D = RUN_DEFAULTS;
  const low = num('split-low', D.quantiles[0]), high = num('split-high', D.quantiles[1]);
  const budget = input('split-budget').value.trim();
  return {
    id,
    model,
    data,
    prompt: promptFromForm(),
    teacher: teacherFromForm(),
    methods: methodsFromForm(),
    order: ($('hp-order') as HTMLSelectElement).value as 'mix' | 'two-phase',
    signal: ($('split-signal') as HTMLSelectElement).value as Signal,
    quantiles: [Math.min(low, high), Math.max(low, high)],
    teacherBudget: budget === '' ? undefined : Math.max(0, Math.round(Number(budget))) || 0,
    train: {
      r: num('hp-r', D.train.r), alpha: num('hp-alpha', D.train.alpha), lr: num('hp-lr', D.train.lr), dropout: num('hp-dropout', D.train.dropout),
      schedule: ($('hp-schedule') as HTMLSelectElement).value as 'cosine' | 'constant', warmupSteps: num('hp-warmup', D.train.warmupSteps),
      mode: fullFromForm() ? 'full' : 'lora',
    },
    loop: {
      epochs: num('hp-epochs', D.loop.epochs), batchSize: num('hp-batch', D.loop.batchSize), accumulation: num('hp-accum', D.loop.accumulation), checkpointEvery: num('hp-checkpoint', D.loop.checkpointEvery),
      trainTokens: num('hp-train-tokens', 0) > 0 ? Math.round(num('hp-train-tokens', 0)) : undefined,
    },
    distill: { retries: num('teacher-retries', D.distill.retries), maxTokens: num('teacher-max-tokens', D.distill.maxTokens) },
    eval: { maxNewTokens: num('hp-eval-tokens', D.eval.maxNewTokens), maxBatch: D.eval.maxBatch },
    scoreBatch: D.scoreBatch,
    seed: num('hp-seed', D.seed),
  };
}

/** Show a stored run's settings in the forms (the API key is never stored: the field is left as it is). */
export function fillForms(s: RunSettings): void {
  ($('prompt-labels') as HTMLSelectElement).value = s.prompt.labels;
  ($('prompt-system') as HTMLTextAreaElement).value = s.prompt.system;
  const signal = $('split-signal') as HTMLSelectElement;
  if (!signal.options.length) replace(signal, ...SIGNALS.map((x) => el('option', { value: x }, SIGNAL_NAMES[x] + (x === DEFAULT_SIGNAL ? ' (the paper\'s)' : ''))));
  signal.value = s.signal ?? DEFAULT_SIGNAL;
  input('split-low').value = String(s.quantiles[0]);
  input('split-high').value = String(s.quantiles[1]);
  input('split-budget').value = s.teacherBudget === undefined ? '' : String(s.teacherBudget);
  setRadio('teacher-kind', s.teacher.kind);
  if (s.teacher.kind === 'http') {
    input('teacher-url').value = s.teacher.url;
    input('teacher-model').value = s.teacher.model;
  } else if (s.teacher.kind === 'own') input('teacher-own').value = s.teacher.source;
  else if (s.teacher.kind === 'webllm') ($('teacher-webllm') as HTMLSelectElement).value = s.teacher.id;
  input('teacher-retries').value = String(s.distill.retries);
  input('teacher-max-tokens').value = String(s.distill.maxTokens);
  for (const c of document.querySelectorAll<HTMLInputElement>('input[name="method"]')) c.checked = s.methods.includes(c.value as Method);
  input('frontier').value = s.methods.map(frontierFraction).filter((f) => f !== null).join(',');
  ($('hp-order') as HTMLSelectElement).value = s.order;
  input('hp-r').value = String(s.train.r);
  input('hp-alpha').value = String(s.train.alpha);
  input('hp-lr').value = String(s.train.lr);
  input('hp-dropout').value = String(s.train.dropout);
  ($('hp-schedule') as HTMLSelectElement).value = s.train.schedule;
  input('hp-warmup').value = String(s.train.warmupSteps);
  input('hp-full').checked = s.train.mode === 'full';
  input('hp-train-tokens').value = s.loop.trainTokens ? String(s.loop.trainTokens) : '';
  input('hp-epochs').value = String(s.loop.epochs);
  input('hp-batch').value = String(s.loop.batchSize);
  input('hp-accum').value = String(s.loop.accumulation);
  input('hp-checkpoint').value = String(s.loop.checkpointEvery);
  input('hp-eval-tokens').value = String(s.eval.maxNewTokens);
  input('hp-seed').value = String(s.seed);
  input('data-test-fraction').value = String(s.data.testFraction);
}

/** The forms as the page opens: every field from the run's defaults (index.html holds none of them). */
export function fillDefaultForms(): void {
  fillForms(defaultRunSettings('', { name: '', source: { kind: 'files', folder: '' } }, ''));
}
