// The page. All GPU work happens in one worker (workers/trainer.worker.ts) that owns the GPUDevice;
// this thread only builds forms, sends plain settings, and shows what the worker reports. Nothing is
// fetched here except what the person asks for: a model's config.json (memory plan) and a dataset URL.

import * as Comlink from 'comlink';
import type { Engine } from '../engine/protocol';
import { installErrorTransfer } from '../rpc';
import { App } from './app';
import { initDataStep } from './data-step';
import { $, el, input, radioPanels, replace } from './dom';
import { initModelStep } from './model-step';
import { initOfflineDemo } from './offline-demo';
import { describeRunLine } from './runs';
import { fillDefaultForms } from './settings';
import { offerTeachers } from './teachers';

installErrorTransfer();

const worker = new Worker(new URL('../../workers/trainer.worker.ts', import.meta.url), { type: 'module' });
const engine = Comlink.wrap<Engine>(worker);
const app = new App(engine);
worker.addEventListener('error', (e) => app.error('The GPU worker failed to start', e.message || 'script error'));

// Classroom mode: one or two sentences under each step; remembered in this browser.
const classroom = input('classroom');
classroom.checked = localStorage.getItem('entrotune.classroom') === '1';
const syncClassroom = () => {
  document.body.classList.toggle('classroom', classroom.checked);
  localStorage.setItem('entrotune.classroom', classroom.checked ? '1' : '0');
};
classroom.addEventListener('change', syncClassroom);
syncClassroom();

fillDefaultForms();
initModelStep(app);
initDataStep(app);
initOfflineDemo(app);
radioPanels('teacher-kind', 'teacher-kind');

// The prompt decides the scores: another prompt is another run.
for (const id of ['prompt-labels', 'prompt-system']) $(id).addEventListener('change', () => app.detachRun());
$('prompt-labels').addEventListener('change', () => {
  const t = $('prompt-system') as HTMLTextAreaElement;
  const numbers = ($('prompt-labels') as HTMLSelectElement).value === 'numbers';
  t.value = numbers ? t.value.replace('the letter of', 'the number of') : t.value.replace('the number of', 'the letter of');
});

$('hp-full').addEventListener('change', () => app.refresh()); // the LoRA fields do not apply to full fine-tuning
// Every button's work reports its failure on the status line (none may end as an unhandled rejection).
$('score-run').addEventListener('click', () => app.score().catch((e: unknown) => app.error('Scoring', e)));
$('run-start').addEventListener('click', () => app.start().catch((e: unknown) => app.error('Starting the run', e)));
$('run-pause').addEventListener('click', () => app.stop('pause').catch((e: unknown) => app.error('Pausing the run', e)));
$('run-stop').addEventListener('click', () => app.stop('stop').catch((e: unknown) => app.error('Stopping the run', e)));
$('run-new').addEventListener('click', () => {
  app.detachRun();
  app.refresh();
  app.status('The next Score or Start makes a new run (the old one stays in the list below).');
});

void offerTeachers(engine, {
  offer: (ids) => replace($('teacher-webllm'), ...ids.map((id) => el('option', { value: id }, id))),
  fail: (err) => {
    replace($('teacher-webllm'), el('option', { value: '', disabled: true }, 'the list of WebLLM models could not be had (see the status line)'));
    app.error('Listing the WebLLM teachers', err);
  },
});

// A run left unfinished (the tab was closed or reloaded while it ran, or it was paused) is offered.
app.views.runsList().then((runs) => {
  const r = runs.find((x) => x.status === 'running' || x.status === 'paused');
  if (!r) return;
  $('resume-text').textContent = describeRunLine(r);
  $('resume-banner').hidden = false;
  const hide = () => ($('resume-banner').hidden = true);
  // A failure here must reach the status line, not vanish as an unhandled rejection.
  $('resume-run').onclick = () => {
    hide();
    app.resume(r.settings.id).catch((e: unknown) => app.error('Resuming the run', e));
  };
  $('resume-open').onclick = () => {
    hide();
    app.open(r.settings.id).catch((e: unknown) => app.error('Opening the run', e));
  };
  $('resume-dismiss').onclick = hide;
  $('resume-run').focus();
});

app.refresh();
