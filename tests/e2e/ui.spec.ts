// The page, driven by clicks in headless Chromium (SwiftShader WebGPU): the six steps on the tiny
// llama fixture and a 12-question fixture dataset with a rationale column, a reload in the middle of
// training that resumes from the checkpoint, and a full run whose every request is recorded.
// The fixture model is a random network: its base answers name no option, so every question is routed
// as hard. These tests check the flow and that the numbers agree with each other, not accuracy.
import { readFile } from 'node:fs/promises';
import { expect, test, type Page, type Request } from '@playwright/test';
import { unzipSync } from 'fflate';
import { fresh, resultsTable } from './page-helpers';
import { solveArithmetic, startOpenAiServer, type OpenAiServer } from '../fixtures/openai-server';

test.use({ actionTimeout: 30_000 });

const MODEL_URL = 'http://localhost:5174/tests/fixtures/tiny/llama';
const DATA = 'tests/fixtures/data/ui-sample.jsonl';

/** Steps 1 and 2 by clicks: the fixture model by URL, the fixture dataset uploaded, 8 + 4 questions. */
async function modelAndData(page: Page): Promise<void> {
  await page.locator('#step-model').getByLabel('A URL').check();
  await page.getByLabel(/URL of a folder/).fill(MODEL_URL);
  await page.getByRole('button', { name: 'Load model' }).click();
  await expect(page.locator('#model-info')).toContainText('parameters', { timeout: 60_000 });
  await page.getByLabel('Dataset file').setInputFiles(DATA);
  await expect(page.locator('#data-summary')).toContainText('12 questions, 2 invalid rows skipped');
  await page.getByLabel('Held out for testing').fill('0.34');
  await page.getByLabel('Held out for testing').dispatchEvent('change');
  await expect(page.locator('#data-summary')).toContainText('8 for training, 4 held out');
}

/** Small and fast on SwiftShader: no system message, 1 epoch, batch 4, short test answers. */
async function quickSettings(page: Page, o: { methods?: string[]; epochs?: number; checkpointEvery?: number } = {}): Promise<void> {
  await page.getByText('Prompt and split').click();
  await page.getByLabel(/System message/).fill('');
  await page.getByLabel(/System message/).dispatchEvent('change');
  for (const m of ['pipeline', 'sft-all', 'distill-all']) await page.getByRole('checkbox', { name: new RegExp(`^${m} `) }).setChecked((o.methods ?? ['pipeline', 'sft-all', 'distill-all']).includes(m));
  await page.getByText('Hyper-parameters').click();
  await page.getByLabel('Epochs').fill(String(o.epochs ?? 1));
  await page.getByLabel('Batch size').fill('4');
  await page.getByLabel('Gradient accumulation').fill('1');
  await page.getByLabel('Checkpoint every (steps)').fill(String(o.checkpointEvery ?? 1));
  await page.getByLabel('Longest test answer (tokens)').fill('12');
}

/** Entries of a stored (uncompressed) ZIP. */
function unzip(buf: Buffer): Map<string, Buffer> {
  const entries = unzipSync(buf, {
    filter: (f) => {
      expect(f.compression).toBe(0); // stored
      return true;
    },
  });
  return new Map(Object.entries(entries).map(([name, data]) => [name, Buffer.from(data)]));
}

function safetensorsNames(b: Buffer): string[] {
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  return Object.keys(header).filter((k) => k !== '__metadata__');
}

test('all six steps by clicks: fixture model, fixture data, column teacher, three methods, a PEFT adapter downloaded', async ({ page }, testInfo) => {
  test.setTimeout(600_000);
  const t0 = Date.now();
  await fresh(page);
  const shot = async (step: string) => page.locator(`#step-${step}`).screenshot({ path: testInfo.outputPath(`step-${step}.png`) });
  // The forms open with the run's defaults (src/settings/defaults.ts, the CLI's too): LoRA r 8, alpha 16.
  const values = (ids: string[]) => Promise.all(ids.map((id) => page.locator(`#${id}`).inputValue()));
  const HP = ['hp-r', 'hp-alpha', 'hp-lr', 'hp-dropout', 'hp-epochs', 'hp-batch', 'hp-accum', 'hp-warmup', 'hp-checkpoint', 'hp-eval-tokens', 'hp-seed'];
  expect(await values(HP)).toEqual(['8', '16', '0.0002', '0', '1', '4', '1', '0', '50', '256', '0']);
  expect(await values(['split-low', 'split-high', 'data-test-fraction', 'teacher-retries', 'teacher-max-tokens'])).toEqual(['0.25', '0.75', '0.2', '2', '512']);
  await expect(page.locator('#prompt-system')).toHaveValue(/Answer with the letter of the correct option only\.$/);
  for (const m of ['pipeline', 'sft-all', 'distill-all']) await expect(page.getByRole('checkbox', { name: new RegExp(`^${m} `) })).toBeChecked();
  await expect(page.getByLabel('A column of the dataset')).toBeChecked();
  await page.getByLabel('Classroom mode').check();
  await expect(page.locator('#step-model .explain')).toBeVisible();

  // 1 · Model: the memory plan from config.json, then the download and load.
  await page.locator('#step-model').getByLabel('A URL').check();
  // Unreachable (as offline): the plan says what failed and what to do, not just "Failed to fetch".
  await page.getByLabel(/URL of a folder/).fill('http://127.0.0.1:9/nothing');
  await page.getByRole('button', { name: 'Check memory' }).click();
  await expect(page.locator('#model-plan-out .error')).toContainText('could not reach http://127.0.0.1:9/nothing/config.json');
  await expect(page.locator('#model-plan-out .error')).toContainText('offline demo');
  await page.getByLabel(/URL of a folder/).fill(MODEL_URL);
  await page.getByRole('button', { name: 'Check memory' }).click();
  await expect(page.locator('#model-plan-out')).toContainText('LoRA training');
  await page.getByRole('button', { name: 'Load model' }).click();
  await expect(page.locator('#model-info')).toContainText('parameters', { timeout: 60_000 });
  await expect(page.locator('#model-progress-text')).toHaveText('Loaded.');
  // A tiny model (< 50M parameters) gets a larger learning rate and a checkpoint every step; r and alpha stay.
  expect(await values(HP)).toEqual(['8', '16', '0.001', '0', '1', '4', '1', '0', '1', '256', '0']);
  await page.getByText('Your GPU:').click();
  await expect(page.locator('#device-out')).toContainText('maxBufferSize');
  await page.getByText('Models kept in this browser').click();
  await expect(page.locator('#cached-table')).toContainText('tests/fixtures/tiny/llama');
  await shot('model');

  // 2 · Data: upload, preview, the refused rows with their line numbers, the split.
  await page.getByLabel('Dataset file').setInputFiles(DATA);
  await expect(page.locator('#data-summary')).toContainText('12 questions, 2 invalid rows skipped');
  await expect(page.locator('#preview-table tbody tr')).toHaveCount(8);
  const invalid = await page.locator('#invalid-table tbody tr th').allTextContents();
  expect(invalid).toEqual(['5', '10']);
  await page.getByLabel('Held out for testing').fill('0.34');
  await page.getByLabel('Held out for testing').dispatchEvent('change');
  await expect(page.locator('#data-summary')).toContainText('8 for training, 4 held out');
  await shot('data');

  // 3 · Score.
  await quickSettings(page);
  await page.getByRole('button', { name: 'Score the questions' }).click();
  await expect(page.locator('#bucket-table')).toBeVisible({ timeout: 60_000 });
  await expect(page.locator('#score-progress-text')).toContainText('12 of 12');
  const buckets = await page.locator('#bucket-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
  expect(buckets.map((r) => r[0])).toEqual(['easy', 'medium', 'hard']);
  expect(buckets.reduce((s, r) => s + Number(r[1]), 0)).toBe(8);
  expect(buckets.reduce((s, r) => s + Number(r[2]), 0)).toBe(4);
  await expect(page.locator('#score-chart canvas')).toHaveCount(1);
  await expect(page.locator('#score-auc')).toContainText('ROC AUC');
  await shot('score');

  // 4 · Teacher: the dataset's rationale column (offline).
  await page.getByLabel('A column of the dataset').check();
  await expect(page.locator('#teacher-column-info')).toContainText('8 of 8 training questions have a rationale');

  // 5 · Train: all three methods. Every text the evaluation line shows is recorded as it changes.
  await page.evaluate(() => {
    const seen: string[] = ((window as unknown as { evalTexts: string[] }).evalTexts = []);
    const line = document.getElementById('eval-progress-text')!;
    new MutationObserver(() => seen.push(line.textContent ?? '')).observe(line, { childList: true, characterData: true, subtree: true });
  });
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.locator('#train-stats')).toContainText('tokens/s', { timeout: 120_000 });
  await expect(page.locator('#teacher-stats')).toContainText('kept');
  await shot('teacher');
  await expect(page.locator('#status')).toContainText('finished', { timeout: 240_000 });
  await expect(page.locator('#loss-chart canvas')).toHaveCount(1);
  await shot('train');
  // Evaluation was never silent: the line moved during an evaluation, with tokens written before the
  // answers were done (each method's evaluation writes up to 256 tokens per answer, seconds here).
  const evalTexts = await page.evaluate(() => (window as unknown as { evalTexts: string[] }).evalTexts);
  const midway = evalTexts.map((t) => /(\d+) of (\d+) held-out questions answered \((\d+) tokens written\)/.exec(t)).filter((m) => m && Number(m[1]) < Number(m[2]) && Number(m[3]) > 0);
  expect(midway.length, evalTexts.join('\n')).toBeGreaterThan(0);

  // 6 · Results: one row per method plus the base; the numbers agree with each other.
  const table = await resultsTable(page);
  expect(Object.keys(table)).toEqual(['base (before training)', 'pipeline', 'sft-all', 'distill-all']);
  for (const row of Object.values(table)) expect(row[0]).toMatch(/^\d+\.\d% \[/); // accuracy [CI] on the 4 held-out questions
  const tokens = (m: string) => Number(table[m][5]);
  const cot = (m: string) => Number(table[m][4].split(' ')[0]);
  expect(cot('sft-all')).toBe(0); // no worked answers
  expect(cot('pipeline')).toBeLessThanOrEqual(cot('distill-all'));
  expect(tokens('sft-all')).toBeLessThan(tokens('distill-all'));
  expect(tokens('pipeline')).toBeLessThanOrEqual(tokens('distill-all'));
  await expect(page.locator('#results-summary')).toContainText('Teacher:');
  await expect(page.locator('#results-howto')).toContainText('PeftModel.from_pretrained');
  await shot('results');

  // The pipeline's adapter: a ZIP holding a PEFT adapter folder.
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'pipeline adapter (PEFT, .zip)' }).click()]);
  expect(dl.suggestedFilename()).toBe('entrotune-pipeline.zip');
  const files = unzip(await readFile((await dl.path())!));
  expect([...files.keys()].sort()).toEqual(['entrotune-pipeline/adapter_config.json', 'entrotune-pipeline/adapter_model.safetensors']);
  const config = JSON.parse(files.get('entrotune-pipeline/adapter_config.json')!.toString('utf8'));
  expect(config).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 8, lora_alpha: 16, base_model_name_or_path: MODEL_URL });
  expect(config.target_modules).toEqual(expect.arrayContaining(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']));
  const names = safetensorsNames(files.get('entrotune-pipeline/adapter_model.safetensors')!);
  expect(names).toHaveLength(2 * 7 * 2); // A and B, 7 targets, 2 layers
  expect(names).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
  expect(names).toContain('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight');

  // The routed data set and the report.
  const [routed] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'pipeline routed training set (.jsonl)' }).click()]);
  const lines = (await readFile((await routed.path())!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  expect(lines).toHaveLength(8);
  expect(lines[0].messages.at(-1).role).toBe('assistant');
  const [rep] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'report (JSON)' }).click()]);
  const report = JSON.parse(await readFile((await rep.path())!, 'utf8'));
  expect(report.methods.map((m: { method: string }) => m.method)).toEqual(['pipeline', 'sft-all', 'distill-all']);
  expect(report.data).toMatchObject({ train: 8, test: 4 });
  for (const m of report.methods) expect(table[m.method][5]).toBe(String(m.targetTokens));
  await page.screenshot({ path: testInfo.outputPath('page.png'), fullPage: true });
  console.log(`ui: six steps in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});

test('another signal, a teacher budget and a routing frontier from the forms: step 6 draws the frontier', async ({ page }) => {
  test.setTimeout(600_000);
  const t0 = Date.now();
  await fresh(page);
  await modelAndData(page);
  await quickSettings(page, { methods: [] });
  // Every answer of the random fixture names no option, so all 8 count as most complex: a budget of 3 makes 3 hard.
  await expect(page.getByLabel('Complexity signal')).toHaveValue('entropy');
  await page.getByLabel('Complexity signal').selectOption('top1');
  await page.getByLabel('Teacher budget (questions)').fill('3');
  await page.getByRole('button', { name: 'Score the questions' }).click();
  await expect(page.locator('#bucket-table')).toBeVisible({ timeout: 60_000 });
  const buckets = await page.locator('#bucket-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
  expect(buckets.map((r) => [r[0], r[1]])).toEqual([['easy', '0'], ['medium', '5'], ['hard', '3']]);
  await expect(page.locator('#score-caption')).toContainText('1 − top-1 probability');

  await page.getByLabel('A column of the dataset').check();
  await page.getByLabel('Routing frontier: hard fractions').fill('0, 0.5,x');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.locator('#status')).toContainText('the frontier fraction "x" is not a number');
  await page.getByLabel('Routing frontier: hard fractions').fill('0,0.5,1');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.locator('#status')).toContainText('finished', { timeout: 300_000 });
  const table = await resultsTable(page);
  expect(Object.keys(table)).toEqual(['base (before training)', 'pipeline@0', 'pipeline@0.5', 'pipeline@1']);
  await expect(page.locator('#frontier-figure')).toBeVisible();
  await expect(page.locator('#frontier-chart canvas')).toHaveCount(1);
  const frontier = await page.locator('#frontier-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
  expect(frontier.map((r) => r.slice(0, 2))).toEqual([['0%', '0 (0)'], ['50%', '4 (4)'], ['100%', '8 (8)']]);
  expect(frontier[0][2]).toBe('0'); // no teacher tokens at fraction 0
  expect(Number(frontier[1][2])).toBeLessThan(Number(frontier[2][2]));
  // The forms of a reopened run show what it ran with.
  await page.reload();
  await page.getByRole('button', { name: /^Open run / }).click();
  await expect(page.getByLabel('Routing frontier: hard fractions')).toHaveValue('0,0.5,1');
  await expect(page.getByLabel('Complexity signal')).toHaveValue('top1');
  await expect(page.getByLabel('Teacher budget (questions)')).toHaveValue('3');
  console.log(`ui: a frontier of 3 points in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});

test('pause and resume, then a reload in the middle of training: the run resumes from its checkpoint and finishes', async ({ page }) => {
  page.on('console', (m) => { if (m.type() === 'error') console.log(`console: ${m.text()}`); });
  const t0 = Date.now();
  await fresh(page);
  await modelAndData(page);
  // 60 steps: with the software kernels a tiny step takes tens of milliseconds, so the test acts on
  // whatever step it sees rather than on a particular one.
  await quickSettings(page, { methods: ['pipeline'], epochs: 30, checkpointEvery: 1 });
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  const progress = page.locator('#train-progress-text');
  const stepShown = async () => Number(/step (\d+) of 60/.exec((await progress.textContent()) ?? '')?.[1] ?? 0);

  // Pause during training (a checkpoint is saved every step), then resume with the same button.
  await expect(progress).toContainText(/step \d+ of 60/, { timeout: 120_000 });
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.locator('#status')).toContainText('paused', { timeout: 60_000 });
  const pausedAt = await stepShown();
  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await expect(page.locator('#log')).toContainText(/pipeline: resuming from step \d+/, { timeout: 60_000 });

  // Two more steps after the resume (the text still shows the paused step while the resumed run walks
  // through its cached scores and teacher replies), then the tab is reloaded: the worker dies mid-run.
  await expect.poll(stepShown, { timeout: 120_000, intervals: [20] }).toBeGreaterThanOrEqual(Math.max(3, pausedAt + 2));
  const seen = await stepShown();
  const modelRequests: string[] = [];
  page.on('request', (r) => { if (r.url().includes('/tests/fixtures/tiny/')) modelRequests.push(r.url()); });
  await page.reload();
  await expect(page.locator('#resume-banner')).toBeVisible({ timeout: 30_000 });
  await expect(page.locator('#resume-text')).toContainText('was interrupted during train pipeline');
  await page.getByRole('button', { name: 'Resume it' }).click();
  await expect(page.locator('#status')).toContainText(/finished|Error/, { timeout: 180_000 });
  await expect(page.locator('#status')).toContainText('finished');
  expect(modelRequests).toEqual([]); // the model came from the OPFS cache
  const log = await page.locator('#log').innerText();
  expect(log).toMatch(/resuming run run-/);
  // The last resume starts from a checkpoint at or after the last step shown before the reload (a step
  // is reported only once it is saved), and before the end.
  const from = Number([...log.matchAll(/pipeline: resuming from step (\d+)/g)].at(-1)?.[1]);
  expect(from).toBeGreaterThanOrEqual(seen);
  expect(from).toBeLessThan(60);
  const table = await resultsTable(page);
  expect(Object.keys(table)).toEqual(['base (before training)', 'pipeline']);
  expect(table.pipeline[7]).toMatch(/^60 \(/); // all 60 steps, those before the reload included
  const runs = await page.locator('#runs-table tbody tr').allInnerTexts();
  expect(runs).toHaveLength(1);
  expect(runs[0]).toContain('done');
  console.log(`ui: pause, resume, reload and resume from step ${from} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});

test('a full run contacts only the test server and the teacher endpoint typed in, and stores no API key', async ({ page, context }) => {
  test.setTimeout(240_000);
  const t0 = Date.now();
  const key = 'sk-test-0123456789';
  const teacher: OpenAiServer = await startOpenAiServer({
    cors: true,
    answer: (body) => {
      const s = solveArithmetic(body);
      return s ? `Work it out column by column. The answer is [[${s.right}]].` : 'I cannot tell. [[A]]';
    },
  });
  const requests: Request[] = [];
  context.on('request', (r) => requests.push(r)); // the page and its workers
  try {
    await fresh(page);
    requests.length = 0;
    await modelAndData(page);
    await quickSettings(page);
    await page.getByLabel('An OpenAI-compatible server').check();
    await page.getByLabel('Endpoint').fill(teacher.url);
    await page.getByLabel('Model name').fill('qwen2.5:7b');
    await page.getByLabel('API key (optional)').fill(key);
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect(page.locator('#status')).toContainText('finished', { timeout: 200_000 });
    const table = await resultsTable(page);
    expect(Object.keys(table)).toEqual(['base (before training)', 'pipeline', 'sft-all', 'distill-all']);

    const origins = new Set(requests.map((r) => new URL(r.url()).origin));
    const teacherOrigin = new URL(teacher.url).origin;
    console.log(`ui: ${requests.length} requests to ${[...origins].join(', ')}`);
    expect([...origins].filter((o) => o !== 'http://localhost:5174' && o !== teacherOrigin)).toEqual([]);
    // Worker requests are in the record: the model is downloaded by the engine worker.
    expect(requests.some((r) => r.url().endsWith('/tests/fixtures/tiny/llama/model.safetensors'))).toBe(true);
    // The teacher was asked once per training question (every one is hard), with the key as a Bearer token.
    const chats = teacher.requests.filter((r) => r.method === 'POST');
    expect(chats).toHaveLength(8);
    for (const r of chats) expect(r.headers.authorization).toBe(`Bearer ${key}`);
    expect(teacher.calls.every((c) => c.model === 'qwen2.5:7b')).toBe(true);
    // Nothing the run stored holds the key.
    const stored = await page.evaluate(async () => {
      const runs = await (await navigator.storage.getDirectory()).getDirectoryHandle('runs');
      let text = '';
      for await (const [, h] of (runs as unknown as { entries(): AsyncIterable<[string, FileSystemDirectoryHandle]> }).entries()) {
        text += await (await (await h.getFileHandle('run.json')).getFile()).text();
        text += await (await (await h.getFileHandle('teacher.jsonl')).getFile()).text();
      }
      return text;
    });
    expect(stored).toContain('qwen2.5:7b');
    expect(stored).not.toContain(key);
    console.log(`ui: full run with the HTTP teacher in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    await teacher.close();
  }
});

test('the WebLLM teacher runs in a worker started by the engine worker; without network the page says what it needs', async ({ page }) => {
  test.setTimeout(180_000);
  const blocked: string[] = [];
  await page.route((url) => url.hostname !== 'localhost' && url.hostname !== '127.0.0.1', (route) => {
    blocked.push(new URL(route.request().url()).hostname);
    return route.abort('internetdisconnected');
  });
  await fresh(page);
  await modelAndData(page);
  await quickSettings(page, { methods: ['pipeline'] });
  await page.getByLabel('WebLLM, in this browser').check();
  await page.getByLabel('WebLLM model').selectOption('Qwen2.5-1.5B-Instruct-q4f32_1-MLC');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.locator('#status')).toContainText('TeacherError', { timeout: 90_000 });
  await expect(page.locator('#status')).toContainText('needs network access to huggingface.co');
  expect(blocked.length).toBeGreaterThan(0); // it did try: the nested worker started and fetched
  // The run is kept as failed, and offered for resuming (with another teacher, or once online).
  await expect(page.locator('#runs-table')).toContainText('failed');
  // Before training has begun, the teacher may be changed: resume with the rationale column.
  await page.getByLabel('A column of the dataset').check();
  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await expect(page.locator('#status')).toContainText(/finished|Error/, { timeout: 120_000 });
  await expect(page.locator('#status')).toContainText('finished');
  expect(Object.keys(await resultsTable(page))).toEqual(['base (before training)', 'pipeline']);
  await expect(page.locator('#teacher-stats')).toContainText('column:rationale');
});
