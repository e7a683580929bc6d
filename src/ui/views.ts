// What steps 3–6 show: the worker's events turned into progress bars, numbers, charts and tables,
// and the same views rebuilt from a stored run (openRun) after a reload.

import type { RunDetails, RunEvent, RunInfo, RunList, RunSettings, ScoreSummary } from '../engine/protocol';
import { pythonBase } from './python';
import { deserializeError } from '../errors';
import { frontierRows } from '../pipeline/frontier';
import type { Method } from '../pipeline/methods';
import { budgetLine, type MethodResult, type PipelineReport } from '../pipeline/report';
import { DEFAULT_SIGNAL, SIGNAL_NAMES, SIGNALS } from '../score/signals';
import { estimate } from '../util/format';
import type { App } from './app';
import { barChart, EntropyHistogram, FrontierChart, LossChart } from './charts';
import { $, describeError, download, el, formatBytes, pct, replace, seconds, stats, table, type Child } from './dom';
import { zip } from './zip';

const BUCKETS = ['easy', 'medium', 'hard'] as const;

function progress(id: string, done: number, total: number, text: string): void {
  const p = $(`${id}-progress`) as HTMLProgressElement;
  p.max = Math.max(1, total);
  p.value = Math.min(done, total);
  $(`${id}-progress-text`).textContent = text;
}

const acc = (a: { n: number; p: number; low: number; high: number }) => (a.n ? `${pct(a.p)} [${pct(a.low, 0)}–${pct(a.high, 0)}]` : '–');
const bucketAcc = (a: { n: number; p: number; correct: number }) => (a.n ? `${pct(a.p)} (${a.correct}/${a.n})` : '–');

export class Views {
  private readonly histogram: EntropyHistogram;
  private readonly loss: LossChart;
  private readonly frontier: FrontierChart;
  private readonly partial = new Map<Method, MethodResult>();
  private trainMethods: Method[] = [];

  constructor(private readonly app: App) {
    this.histogram = new EntropyHistogram($('score-chart'));
    this.loss = new LossChart($('loss-chart'));
    this.frontier = new FrontierChart($('frontier-chart'));
  }

  log(text: string): void {
    const ol = $('log');
    const time = new Date().toLocaleTimeString();
    ol.appendChild(el('li', {}, el('time', {}, time), ' ', text));
    while (ol.children.length > 300) ol.firstElementChild!.remove();
    ol.scrollTop = ol.scrollHeight;
  }

  dataSplit(): void {
    const a = this.app;
    const out = $('data-summary');
    if (!a.split) {
      out.textContent = a.data ? `${a.data.name}: no usable questions.` : '';
      return;
    }
    const name = a.data?.name ?? a.run?.settings.data.name ?? 'the run\'s questions';
    const total = a.data?.questions.length ?? a.split.train.length + a.split.test.length;
    const bad = a.data?.invalid.length ?? a.run?.settings.data.invalid ?? 0;
    out.textContent = `${name}: ${total} questions${bad ? `, ${bad} invalid rows skipped` : ''} → ${a.split.train.length} for training, ${a.split.test.length} held out for testing.`;
    const withRationale = a.split.train.filter((q) => q.rationale?.trim()).length;
    $('teacher-column-info').textContent = `${withRationale} of ${a.split.train.length} training questions have a rationale. (A column gives the same answer every time, so it is never asked again.)`;
  }

  resetRunViews(): void {
    progress('score', 0, 1, '');
    progress('teacher', 0, 1, '');
    progress('train', 0, 1, '');
    progress('eval', 0, 1, '');
    replace($('score-buckets'));
    replace($('score-auc'));
    replace($('score-caption'));
    replace($('score-explain'));
    for (const id of ['bucket', 'tokens', 'frontier']) $(`${id}-figure`).hidden = true;
    for (const id of ['bucket', 'tokens']) replace($(`${id}-explain`));
    replace($('teacher-stats'));
    replace($('train-stats'));
    replace($('results-out'));
    replace($('frontier-out'));
    replace($('results-summary'));
    replace($('downloads'));
    replace($('results-howto'));
    this.loss.clear();
    this.partial.clear();
  }

  beforeRun(s: RunSettings, resuming: boolean): void {
    this.trainMethods = s.methods;
    if (!resuming) {
      this.loss.clear();
      this.partial.clear();
      replace($('results-out'));
      replace($('downloads'));
    }
  }

  onEvent(e: RunEvent): void {
    switch (e.phase) {
      case 'score':
        progress('score', e.done, e.total, `scored ${e.done} of ${e.total} questions`);
        break;
      case 'scored':
        this.score(e.summary);
        break;
      case 'split':
        break; // the 'scored' summary covers it
      case 'teacher-load':
        progress('teacher', e.progress, 1, e.text);
        break;
      case 'teacher':
        progress('teacher', e.done, e.total, `worked answers for ${e.done} of ${e.total} questions`);
        stats($('teacher-stats'), [
          ['questions', `${e.done} / ${e.total}`], ['teacher calls', e.calls], ['from the cache', e.cached],
          ['kept', e.kept], ['kept after a retry', e.retried], ['fell back to the answer', e.fallback],
        ]);
        break;
      case 'train': {
        const k = this.trainMethods.indexOf(e.method);
        progress('train', e.step, e.totalSteps, `${e.method}${k >= 0 ? ` (method ${k + 1} of ${this.trainMethods.length})` : ''}: step ${e.step} of ${e.totalSteps}`);
        stats($('train-stats'), [
          ['method', e.method], ['step', `${e.step} / ${e.totalSteps}`], ['loss', e.loss.toFixed(4)],
          ['tokens/s processed (prompt + target)', e.processedTokensPerSecond.toFixed(0)], ['tokens/s trained (targets)', e.tokensPerSecond.toFixed(0)],
          ['GPU memory', formatBytes(e.gpuBytes)], ['time left (this method\'s training)', seconds(e.eta)], ['time left (whole run)', estimate(e.etaRun)],
        ]);
        this.loss.add(e.method, e.step, e.loss);
        break;
      }
      case 'eval':
        progress('eval', e.done, e.total, `${e.method}: ${e.done} of ${e.total} held-out questions answered (${e.tokens} tokens written), ${e.correct} right so far${e.etaRun ? `; whole run: ${estimate(e.etaRun)} left` : ''}`);
        break;
      case 'method-done':
        this.partial.set(e.result.method, e.result);
        this.log(`${e.result.method}: ${pct(e.result.accuracy.p)} on the held-out questions (${e.result.accuracy.correct}/${e.result.accuracy.n})`);
        this.resultsTable(null);
        break;
      case 'log':
        this.log(e.text);
        break;
      case 'status':
        this.log(e.text);
        break;
    }
  }

  // ---------------------------------------------------------------------------------------------- 3

  score(s: ScoreSummary): void {
    this.histogram.draw(s.histogram.edges, s.histogram.counts, s.bounds);
    const signal = s.signal ?? DEFAULT_SIGNAL;
    const what = signal === 'entropy' ? `Entropy of the first answer token, divided by the largest (${s.hmax.toFixed(3)} nats)` : `Complexity by ${SIGNAL_NAMES[signal]}, divided by the largest (${s.hmax.toFixed(3)})`;
    const budget = s.report?.teacherBudget != null ? ` The teacher budget makes the ${s.report.teacherBudget} most complex questions hard.` : '';
    $('score-caption').textContent = s.bounds
      ? `${what}, for the training questions. Dashed lines: easy ≤ ${s.bounds[0].toFixed(3)} < medium ≤ ${s.bounds[1].toFixed(3)} < hard.${budget}`
      : `${what}. The model named no option for any training question, so there is nothing to rank them by: every question counts as hard (with a teacher budget, only as many as it allows).`;
    const auc = s.report ? (s.report.signals ? s.report.signals[signal] : s.report.auc) : null;
    const all = s.report?.signals ? ` By signal: ${SIGNALS.map((x) => `${SIGNAL_NAMES[x]} ${s.report!.signals![x]?.auc.toFixed(3) ?? 'n/a'}`).join('; ')}.` : '';
    $('score-auc').textContent = auc
      ? `ROC AUC of confidence (by ${SIGNAL_NAMES[signal]}) for a right answer: ${auc.auc.toFixed(3)} [${auc.low.toFixed(3)}–${auc.high.toFixed(3)}] (0.5 is chance).${all} Base accuracy on the training questions: ${s.accuracy === null ? '–' : pct(s.accuracy)}; ${s.invalid} answers named no option (counted as hard).`
      : `ROC AUC: n/a — it needs both right and wrong valid answers (${s.invalid} of the training questions got an answer that named no option; they count as hard).`;
    $('score-explain').textContent = s.bounds
      ? `Each bar counts training questions by how unsure the model was of its first answer token: sure on the left, unsure on the right. The dashed lines cut them into easy (left of the first line), medium and hard (right of the second); in the pipeline, only the hard ones get worked answers from the teacher. ${auc ? `An ROC AUC of ${auc.auc.toFixed(2)} means ${auc.auc >= 0.9 ? 'the questions the model was unsure of were almost always the ones it got wrong' : auc.auc >= 0.7 ? 'unsure questions were more often the wrong ones' : 'here unsureness says little about which answers are wrong'}.` : ''}`
      : '';
    const rb = s.report?.buckets;
    replace($('score-buckets'), table(['bucket', 'training questions', 'held-out questions', 'base accuracy (training)'],
      BUCKETS.map((b) => [b, s.train[b], s.test[b], rb && rb[b].count ? `${pct(rb[b].accuracy)} (${rb[b].correct}/${rb[b].count} valid)` : '–']),
      { id: 'bucket-table' }));
    const p = $('score-progress') as HTMLProgressElement;
    if (p.value < p.max) progress('score', 1, 1, 'scored');
  }

  // ---------------------------------------------------------------------------------------------- 6

  /** The results table: the report when there is one, else the methods finished so far. */
  resultsTable(r: PipelineReport | null): void {
    const methods = r ? r.methods : [...this.partial.values()];
    if (!methods.length && !r) return;
    const rows = [];
    if (r) rows.push(['base (before training)', acc(r.base.accuracy), ...BUCKETS.map((b) => bucketAcc(r.base.buckets[b])), '–', '–', '–', '–', '–', '–']);
    for (const m of methods) {
      rows.push([m.method, acc(m.accuracy), ...BUCKETS.map((b) => bucketAcc(m.buckets[b])),
        `${m.targets.cot}${m.targets.fallback ? ` (+${m.targets.fallback} fell back)` : ''}`, m.targetTokens, m.teacher.calls,
        `${m.steps} (${m.loss.first.toFixed(3)} → ${m.loss.last.toFixed(3)})`, m.trainTokens ? `${m.trainTokens.processed} (${m.trainTokens.trained})` : '–', seconds(m.trainSeconds)]);
    }
    replace($('results-out'), table(['method', 'accuracy [95% CI]', 'easy', 'medium', 'hard', 'worked answers trained', 'target tokens', 'teacher calls', 'steps (loss)', 'tokens processed (trained)', 'training time'], rows, { id: 'results-table' }));
    if (!r) return;
    const byName = new Map(r.methods.map((m) => [m.method, m]));
    const p = byName.get('pipeline'), sft = byName.get('sft-all'), d = byName.get('distill-all');
    const lines = [];
    if (r.tokenSaving !== null) lines.push(`The pipeline trained on ${pct(r.tokenSaving)} fewer target tokens than distill-all (${p!.targetTokens} against ${d!.targetTokens}).`);
    if (p && sft) lines.push(`pipeline − sft-all: ${(100 * (p.accuracy.p - sft.accuracy.p)).toFixed(1)} points.`);
    if (p && d) lines.push(`pipeline − distill-all: ${(100 * (p.accuracy.p - d.accuracy.p)).toFixed(1)} points.`);
    if (r.budget) lines.push(`${budgetLine(r.budget).replace(/^t/, 'T')}.`);
    lines.push(`Teacher: ${r.teacherUsage.calls} calls in this run, ${r.teacherUsage.cached} replies reused, ${r.teacherUsage.completionTokens} tokens written in all. ${r.data.train} training and ${r.data.test} held-out questions; took ${seconds(r.seconds)}.`);
    replace($('results-summary'), ...lines.map((l) => el('span', { class: 'line' }, l)));
    this.resultCharts(r);
    if (r.frontier?.length) {
      $('frontier-figure').hidden = false;
      this.frontier.draw(r.frontier);
      const { head, rows } = frontierRows(r.frontier);
      replace($('frontier-out'), table(head, rows, { id: 'frontier-table' }));
    }
    stats($('teacher-stats'), [
      ['teacher', r.teacher], ['calls', r.teacherUsage.calls], ['from the cache', r.teacherUsage.cached], ['tokens written', r.teacherUsage.completionTokens],
      ...(p ? [['kept (pipeline)', p.teacher.kept], ['kept after a retry', p.teacher.retried], ['fell back', p.teacher.fallback]] as [string, number][] : []),
    ]);
  }

  /** What a class should see: accuracy per bucket and method, and the target tokens each method was taught. */
  private resultCharts(r: PipelineReport): void {
    const series = [{ name: 'base', acc: r.base.accuracy, buckets: r.base.buckets }, ...r.methods.map((m) => ({ name: m.method, acc: m.accuracy, buckets: m.buckets }))];
    const bar = (name: string, a: { n: number; p: number; correct: number }) => ({ series: name, value: a.n ? a.p : 0, text: bucketAcc(a) });
    barChart($('bucket-chart'), [
      ...BUCKETS.map((b) => ({ label: `${b} (${r.scoring.test[b]} held-out questions)`, bars: series.map((x) => bar(x.name, x.buckets[b])) })),
      { label: `all ${r.data.test} held-out questions`, bars: series.map((x) => bar(x.name, x.acc)) },
    ], 1);
    $('bucket-figure').hidden = false;
    const byName = new Map(r.methods.map((m) => [m.method, m]));
    const p = byName.get('pipeline'), sft = byName.get('sft-all'), d = byName.get('distill-all');
    const hard = (m: MethodResult) => `${m.method} ${pct(m.buckets.hard.p, 0)}`;
    const gain = p && sft && p.buckets.hard.n ? p.buckets.hard.p - sft.buckets.hard.p : null;
    const easyKnown = r.base.buckets.easy.n > 0 && r.base.buckets.easy.p >= 0.8;
    $('bucket-explain').textContent = `Each group is one bucket of held-out questions, sorted by how unsure the base model was.${easyKnown ? ' The base model already answers most easy questions, so there the methods should be close.' : ''} The hard bucket is where they differ${p ? `: ${[p, sft, d].filter((m) => m).map((m) => hard(m!)).join(', ')}` : ''}. ${gain === null ? '' : gain >= 0.1 ? 'Taught to write out the work on hard questions, the pipeline solves more of them than sft-all, which was taught only answer letters.' : 'Here writing out the work did not help the pipeline on hard questions: a larger training budget or more questions may be needed.'}`;
    barChart($('tokens-chart'), [{ label: 'target tokens (what each method is taught to write)', bars: r.methods.map((m) => ({ series: m.method, value: m.targetTokens, text: `${m.targetTokens} tokens` })) }], Math.max(1, ...r.methods.map((m) => m.targetTokens)));
    $('tokens-figure').hidden = false;
    const budget = r.budget ? ` Every method trained on the same ${r.budget.trainTokens} tokens (prompt + target, ${r.budget.steps} steps), so the difference between them is what they were taught, not how much.` : '';
    $('tokens-explain').textContent = p && d && r.tokenSaving !== null
      ? `The teacher wrote worked answers only for the pipeline's hard questions, so the pipeline is taught ${p.targetTokens} target tokens against distill-all's ${d.targetTokens}: ${pct(r.tokenSaving, 0)} fewer, which is also ${pct(r.tokenSaving, 0)} less teacher output to pay for.${budget}`
      : `Target tokens are what each method's student is taught to write.${budget}`;
  }

  /** The results of a finished run and its downloads. */
  async results(id: string): Promise<void> {
    const d = await this.app.engine.openRun(id);
    if (!d) return;
    if (d.report) this.resultsTable(d.report);
    this.downloads(d);
  }

  downloads(d: RunDetails): void {
    const id = d.info.settings.id;
    const eng = this.app.engine;
    const has = new Set(d.files);
    const btn = (label: string, onclick: () => Promise<void>) => el('button', { type: 'button', class: 'secondary', onclick: async () => {
      try {
        await onclick();
      } catch (e) {
        this.app.error('Download', e);
      }
    } }, label);
    const file = async (path: string, name: string, type: string) => {
      const b = await eng.readRunFile(id, path);
      if (!b) throw new Error(`${path} is not in run ${id}`);
      download(name, b, type);
    };
    const items: HTMLElement[] = [];
    for (const m of d.info.settings.methods) {
      const row = el('li', {}, el('strong', {}, m), ' ');
      if (has.has(`${m}/adapter_config.json`)) {
        row.append(btn(`${m} adapter (PEFT, .zip)`, async () => {
          const [config, weights] = await Promise.all([eng.readRunFile(id, `${m}/adapter_config.json`), eng.readRunFile(id, `${m}/adapter_model.safetensors`)]);
          if (!config || !weights) throw new Error(`the ${m} adapter is not complete in run ${id}`);
          const folder = `entrotune-${m}`;
          download(`${folder}.zip`, zip([{ name: `${folder}/adapter_config.json`, data: config }, { name: `${folder}/adapter_model.safetensors`, data: weights }]), 'application/zip');
        }), ' ');
      }
      if (has.has(`${m}/config.json`)) {
        row.append(btn(`${m} model (full fine-tuning, .zip)`, async () => {
          const folder = `entrotune-${m}`;
          const files = [];
          for (const name of ['model.safetensors', 'config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
            const data = await eng.readRunFile(id, `${m}/${name}`);
            if (data) files.push({ name: `${folder}/${name}`, data });
          }
          if (!files.some((f) => f.name.endsWith('/model.safetensors'))) throw new Error(`the ${m} model is not complete in run ${id}`);
          download(`${folder}.zip`, zip(files), 'application/zip');
        }), ' ');
      }
      if (has.has(`${m}.train.jsonl`)) row.append(btn(`${m} routed training set (.jsonl)`, () => file(`${m}.train.jsonl`, `${m}.train.jsonl`, 'application/jsonl')));
      if (row.childElementCount > 1) items.push(row);
    }
    const report = el('li', {}, el('strong', {}, 'report'), ' ');
    if (has.has('report.json')) report.append(btn('report (JSON)', () => file('report.json', `entrotune-${id}-report.json`, 'application/json')), ' ');
    if (has.has('report.md')) report.append(btn('report (Markdown)', () => file('report.md', `entrotune-${id}-report.md`, 'text/markdown')));
    if (report.childElementCount > 1) items.push(report);
    replace($('downloads'), items.length ? el('h3', {}, 'Downloads') : null, items.length ? el('ul', {}, ...items) : null);
    const base = pythonBase(d.info.settings.model.source);
    const fullModels = d.info.settings.train.mode === 'full';
    replace($('results-howto'), items.length
      ? el('span', {}, fullModels ? 'Use a model in Python: unzip it, then ' : 'Use an adapter in Python: unzip it, then ',
        el('code', {}, fullModels ? 'AutoModelForCausalLM.from_pretrained("entrotune-pipeline")' : `PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(${base.code}), "entrotune-pipeline")`),
        fullModels ? ' (from transformers)' : ` (from peft and transformers)${base.note}`, '; the routed training set is in the chat format TRL\'s SFTTrainer reads.')
      : null);
  }

  /** Everything a stored run has, shown again. */
  showRun(d: RunDetails): void {
    this.resetRunViews();
    this.trainMethods = d.info.settings.methods;
    this.dataSplit();
    if (d.score) this.score(d.score);
    for (const [m, losses] of Object.entries(d.losses)) if (losses) this.loss.setMethod(m as Method, losses);
    if (d.report) this.resultsTable(d.report);
    this.downloads(d);
    this.log(`opened run ${d.info.settings.id} (${d.info.status}${d.info.status === 'done' ? '' : `, last during ${d.info.phase}`})`);
  }

  // ---------------------------------------------------------------------------------------------- runs

  async runsList(): Promise<RunInfo[]> {
    let list: RunList;
    try {
      list = await this.app.engine.listRuns();
    } catch (e) {
      replace($('runs-out'), el('p', { class: 'error' }, describeError(e)));
      return [];
    }
    const { runs, unreadable } = list;
    if (!runs.length && !unreadable.length) {
      replace($('runs-out'), el('p', {}, 'No runs yet.'));
      return runs;
    }
    const act = (label: string, fn: () => Promise<unknown>, name?: string) => el('button', { type: 'button', class: 'secondary', 'aria-label': name, onclick: async () => {
      try {
        await fn();
      } catch (e) {
        this.app.error(label, e);
      }
    } }, label);
    const deleteButton = (id: string): HTMLButtonElement => {
      const del = act('Delete', async () => {
        if (del.dataset.armed !== '1') {
          del.dataset.armed = '1';
          del.textContent = 'Really delete?';
          return;
        }
        await this.app.engine.deleteRun(id);
        if (this.app.run?.settings.id === id) this.app.detachRun();
        await this.runsList();
      }, `Delete run ${id}`);
      return del;
    };
    const rows: Child[][] = runs.map((r) => {
      const id = r.settings.id;
      const del = deleteButton(id);
      const unfinished = ['running', 'paused', 'stopped', 'failed'].includes(r.status);
      return [
        `${id} (${new Date(r.updated).toLocaleString()})`, r.settings.model.name, `${r.settings.data.name} (${r.counts.train} + ${r.counts.test})`,
        r.settings.methods.join(', '), `${r.status}${r.status === 'done' ? '' : ` · ${r.phase}`}${r.error ? ` · ${r.error.split('\n')[0]}` : ''}`,
        el('span', { class: 'actions' }, act('Open', () => this.app.open(id), `Open run ${id}`), ' ', unfinished ? act('Resume', () => this.app.resume(id), `Resume run ${id}`) : null, ' ', del),
      ];
    });
    // A run whose run.json cannot be read stays in the list with what is wrong, so it can be deleted.
    for (const { id, error } of unreadable) rows.push([id, '', '', '', el('span', { class: 'error' }, describeError(deserializeError(error))), el('span', { class: 'actions' }, deleteButton(id))]);
    replace($('runs-out'), table(['run', 'model', 'data', 'methods', 'status', ''], rows, { id: 'runs-table' }));
    return runs;
  }

  nav(): void {
    const a = this.app;
    const done: Record<string, boolean> = {
      model: !!a.model,
      data: !!a.split,
      score: !!a.run && a.run.status !== 'created',
      teacher: !!a.run && ['done'].includes(a.run.status),
      train: !!a.run && a.run.status === 'done',
      results: !!a.run && a.run.status === 'done',
    };
    for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a[data-step]')) link.classList.toggle('done', !!done[link.dataset.step!]);
  }
}


