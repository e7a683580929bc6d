// The offline demo, from the box at the top of step 1: the same run as `npm run demo`. One click loads
// the demo base model that comes with the page (public/demo/model in the repository: vite serves
// public/ at the site's root and the build copies it into dist/, so the page finds it at the relative
// URL demo/model/), makes the questions of src/demo/world.ts, fills steps 3–5 with DEMO_SETTINGS and
// DEMO_TRAINING (full fine-tuning, the same token budget for every method) and starts the run through
// App.start(): steps 3–6 then show it like any other run (step 6 with the charts a class should see),
// and it can be paused, reloaded and resumed like any other. Every request goes to the page's own server.

import { DEMO_PROMPT } from '../demo/formats';
import { DEMO_MEASURED_ON, DEMO_MODEL_NAME, DEMO_SETTINGS, DEMO_TRAINING, type DemoSettings, type DemoSize } from '../demo/settings';
import { makeSplits } from '../demo/world';
import type { RunModelSource } from '../engine/protocol';
import { DownloadError } from '../errors';
import type { Method } from '../pipeline/targets';
import type { App } from './app';
import { preview } from './data-step';
import { $, el, input, radioValue, replace } from './dom';
import { fillForms, settingsFromForm } from './settings';

/** The demo model's folder, relative to the page. */
export const DEMO_MODEL_URL = 'demo/model/';

const SIZES: { size: DemoSize; what: string }[] = [
  // Times on the CI machine's SwiftShader (2 CPU cores); a real GPU is much faster.
  { size: 'quick', what: `a smoke run of the machinery, too small to show the effect; ${DEMO_SETTINGS.quick.measured} on ${DEMO_MEASURED_ON}` },
  { size: 'full', what: `shows the effect; ${DEMO_SETTINGS.full.measured} on ${DEMO_MEASURED_ON} (the run shows its own time left)` },
];

const DEMO_METHODS: Method[] = ['pipeline', 'sft-all', 'distill-all'];

const HINT = 'the demo model lives in public/demo/model/ of the repository and is served at demo/model/ next to this page; a build (npm run build) copies it into dist/';

/** config.json of the demo model, checked before the loader asks for the rest: a missing file gets a
 *  message that names it. A single-page dev server answers a missing file with index.html and status
 *  200, so only JSON counts as found. */
async function checkDemoModel(baseUrl: string): Promise<void> {
  const url = `${baseUrl}/config.json`;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new DownloadError(`the demo model's config.json could not be fetched from ${url}: ${e instanceof Error ? e.message : String(e)}`, HINT);
  }
  if (!res.ok) throw new DownloadError(`the demo model's config.json could not be fetched from ${url}: HTTP ${res.status}`, HINT);
  try {
    JSON.parse(await res.text());
  } catch {
    throw new DownloadError(`the demo model's config.json is not at ${url}: the server answered with something that is not JSON (${res.headers.get('content-type') ?? 'no content type'})`, HINT);
  }
}

/** Steps 3–5 as the demo runs them, so that the page shows the settings the run uses (and "Start
 *  again" repeats it). The CLI's `entrotune demo` passes the same DEMO_SETTINGS to the pipeline.
 *  Settings the demo does not choose (teacher retries and length, checkpoints, the test fraction) keep
 *  what the forms hold. */
function fillDemoForms(d: DemoSettings, source: RunModelSource): void {
  // Step 2 shows the demo's data: no file of an earlier choice, and the share it really holds out.
  input('data-file').value = '';
  const testFraction = d.test / (d.train + d.test);
  input('data-test-fraction').value = testFraction.toFixed(2);
  const now = settingsFromForm('', { name: DEMO_MODEL_NAME, source }, { name: `offline demo`, testFraction, invalid: 0 });
  const t = DEMO_TRAINING.full; // the model is tiny and loaded unquantised
  fillForms({
    ...now,
    prompt: DEMO_PROMPT,
    quantiles: [0.25, 0.75],
    teacher: { kind: 'demo' },
    methods: DEMO_METHODS,
    order: 'mix',
    train: { r: t.r ?? now.train.r, alpha: t.alpha ?? now.train.alpha, lr: t.lr ?? now.train.lr, dropout: t.dropout ?? 0, schedule: t.schedule ?? now.train.schedule, warmupSteps: t.warmupSteps ?? 0, mode: t.mode },
    loop: { ...now.loop, epochs: 1, batchSize: d.loop.batchSize, accumulation: 1, trainTokens: d.trainTokens },
    eval: { ...now.eval, maxNewTokens: d.eval.maxNewTokens },
    seed: 0,
  });
}

async function startDemo(app: App, size: DemoSize): Promise<void> {
  if (app.busy) return app.status('Wait for the current work to finish (or pause it) before starting the offline demo.', 'error');
  const d = DEMO_SETTINGS[size];
  const baseUrl = new URL(DEMO_MODEL_URL, location.href).href.replace(/\/+$/, '');
  app.status(`Offline demo (${size}): loading the demo model from ${baseUrl}/…`);
  try {
    await checkDemoModel(baseUrl);
  } catch (e) {
    return app.error('Offline demo', e);
  }
  // f32 weights: the model is tiny, and quantising it would only cost accuracy.
  const source: RunModelSource = { kind: 'url', baseUrl };
  if (!(await app.loadRunModel({ name: DEMO_MODEL_NAME, source, quant: 'none' }))) return;

  const { train, test } = makeSplits({ seed: 0, train: d.train, test: d.test, mix: d.mix });
  const questions = [...train, ...test];
  app.setData({
    name: `offline demo (${size})`, questions, invalid: [],
    split: { train, test }, extra: { loop: { pack: d.loop.pack }, eval: { ...d.eval } },
  });
  preview(questions, []);
  fillDemoForms(d, source);
  location.hash = '#step-score'; // where the run's progress shows first
  await app.start();
}

export function initOfflineDemo(app: App): void {
  replace($('offline-demo-sizes'), ...SIZES.map(({ size, what }, i) => {
    const d = DEMO_SETTINGS[size];
    return el('label', {}, el('input', { type: 'radio', name: 'demo-size', value: size, checked: i === 0 }), ` ${size}: ${d.train} training + ${d.test} held-out questions, ${d.trainTokens.toLocaleString('en')} training tokens per method — ${what}`);
  }));
  $('offline-demo-start').addEventListener('click', () => void startDemo(app, (radioValue('demo-size') || 'quick') as DemoSize));
  $('offline-demo').hidden = false;
}
