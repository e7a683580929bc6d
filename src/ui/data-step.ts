// Step 2: questions from a file, a Hugging Face dataset (datasets-server) or a URL; a preview, the
// refused rows with their line numbers and reasons, and the held-out split.

import * as Comlink from 'comlink';
import { letterOf, type InvalidRow, type Question } from '../data/dataset';
import type { App } from './app';
import { $, el, input, num, radioPanels, replace, table } from './dom';

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The first questions and the refused rows, under the data step. */
export function preview(questions: Question[], invalid: InvalidRow[]): void {
  replace($('data-preview'), questions.length
    ? el('div', {},
      el('h3', {}, `First ${Math.min(8, questions.length)} of ${questions.length} questions`),
      table(['id', 'subject', 'question', 'options', 'answer', 'rationale'], questions.slice(0, 8).map((q) => [
        q.id, q.subject, cut(q.question, 160), q.options.map((o, i) => `${letterOf(i)}. ${cut(o, 40)}`).join('  '), letterOf(q.answer), q.rationale ? cut(q.rationale, 80) : '–',
      ]), { id: 'preview-table' }))
    : null);
  replace($('data-invalid'), invalid.length
    ? el('details', { open: invalid.length <= 10 },
      el('summary', {}, `${invalid.length} row${invalid.length === 1 ? '' : 's'} could not be read (skipped)`),
      table(['line', 'reason', 'row'], invalid.slice(0, 200).map((r) => [String(r.line), r.reason, el('code', {}, cut(r.raw, 120))]), { id: 'invalid-table' }))
    : null);
}

export function initDataStep(app: App): void {
  radioPanels('data-kind', 'data-kind');

  const take = (name: string, questions: Question[], invalid: InvalidRow[]) => {
    app.setData({ name, questions, invalid });
    preview(questions, invalid);
    if (!questions.length) app.status(`${name} has no question that could be read: see the rows below.`, 'error');
    else app.status(`Read ${questions.length} questions from ${name}.`, 'ok');
  };

  const busy = async (what: string, fn: () => Promise<void>) => {
    app.busy = 'data';
    app.refresh();
    try {
      await fn();
    } catch (e) {
      app.error(what, e);
    } finally {
      app.busy = null;
      app.refresh();
    }
  };

  input('data-file').addEventListener('change', () => busy('Reading the dataset', async () => {
    const f = input('data-file').files?.[0];
    if (!f) return;
    $('data-summary').textContent = `Reading ${f.name}…`;
    const parsed = await app.engine.parseDataset(await f.text(), f.name);
    take(f.name, parsed.questions, parsed.invalid);
  }));

  $('data-url-fetch').addEventListener('click', () => busy('Fetching the dataset', async () => {
    const url = new URL(input('data-url').value.trim(), location.href);
    $('data-summary').textContent = `Fetching ${url.href}…`;
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url.href}: HTTP ${res.status}`);
    const name = decodeURIComponent(url.pathname.split('/').pop() || 'dataset');
    const parsed = await app.engine.parseDataset(await res.text(), name);
    take(name, parsed.questions, parsed.invalid);
  }));

  $('data-hub-fetch').addEventListener('click', () => busy('Fetching the dataset', async () => {
    const dataset = input('data-hub').value.trim(), config = input('data-hub-config').value.trim() || 'default', split = input('data-hub-split').value.trim() || 'test';
    const length = num('data-hub-rows', 500);
    const r = await app.engine.fetchHfDataset({ dataset, config, split, length }, Comlink.proxy((done: number, total: number | null) => {
      $('data-summary').textContent = `Fetched ${done}${total === null ? '' : ` of ${total}`} rows of ${dataset}…`;
    }));
    take(`${dataset} (${config}/${split})`, r.questions, r.invalid);
  }));

  for (const id of ['data-test-fraction', 'data-limit']) {
    input(id).addEventListener('change', () => {
      if (!app.data) return; // a reopened run keeps its stored split
      app.detachRun();
      app.resplit();
    });
  }
}
