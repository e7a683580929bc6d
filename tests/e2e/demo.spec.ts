// The offline demo by its button in step 1: the demo model from the page's own server
// (public/demo/model, at demo/model/), the synthetic questions, the demo's program as teacher, the
// three methods fully fine-tuned on the same token budget, on SwiftShader; step 6 draws the charts a
// class should see, with classroom-mode sentences (screenshots: demo.png, the whole page, and
// demo-results.png, step 6, in this test's output folder under test-results/). Every request must stay
// on the test server. Without the model folder the page says which file it could not fetch, and from where.
import { expect, test, type Page, type Request } from '@playwright/test';
import { fresh, resultsTable } from './page-helpers';

test.use({ actionTimeout: 30_000 });

const ORIGIN = 'http://localhost:5174';

test('without the demo model the page names the file and the URL it could not fetch', async ({ page }) => {
  await fresh(page);
  await page.route('**/demo/model/config.json', (route) => route.fulfill({ status: 404, body: 'not found' }));
  await page.getByRole('button', { name: 'Try the offline demo' }).click();
  await expect(page.locator('#status')).toContainText('DownloadError');
  await expect(page.locator('#status')).toContainText(`${ORIGIN}/demo/model/config.json: HTTP 404`);
  await expect(page.locator('#status')).toContainText('public/demo/model/');
  await expect(page.locator('#status')).toHaveText(/\nHINT: the demo model lives in public\/demo\/model\//); // the hint, on a line of its own
  await expect(page.locator('#model-info')).toHaveText(''); // nothing was loaded
});

test('the offline demo (quick) by one click: bundled model, synthetic questions, three methods, results and charts; nothing leaves localhost', async ({ page, context }, testInfo) => {
  test.setTimeout(900_000);
  const t0 = Date.now();
  const requests: Request[] = [];
  context.on('request', (r) => requests.push(r)); // the page and its workers
  await fresh(page);

  const slot = page.locator('#offline-demo');
  await expect(slot).toBeVisible();
  await expect(slot).toContainText('nothing is downloaded from the internet');
  // The quick size says what it is.
  await expect(slot.getByRole('radio', { name: /quick:/ })).toHaveAccessibleName(/smoke run of the machinery, too small to show the effect/);
  await slot.getByRole('radio', { name: /quick:/ }).check();
  await page.getByRole('button', { name: 'Try the offline demo' }).click();

  await expect(page.locator('#model-info')).toContainText('entrotune/demo-digit-chains', { timeout: 60_000 });
  await expect(page.locator('#data-summary')).toContainText('72 questions → 48 for training, 24 held out');
  // Full fine-tuning: the model is loaded unquantised, so the box is on offer, and the LoRA fields are off.
  await expect(page.locator('#hp-full')).toBeEnabled();
  await expect(page.locator('#hp-full')).toBeChecked();
  await expect(page.locator('#hp-r')).toBeDisabled();
  await expect(page.locator('#hp-train-tokens')).toHaveValue('4096');
  // Step 5 says what it counts while it trains: processed and trained tokens, the time left in all.
  await expect(page.locator('#train-stats')).toContainText('tokens/s processed (prompt + target)', { timeout: 300_000 });
  await expect(page.locator('#train-stats')).toContainText('tokens/s trained (targets)');
  await expect(page.locator('#train-stats')).toContainText('time left (whole run)');
  await expect(page.locator('#status')).toContainText(/finished|Error/, { timeout: 840_000 });
  await expect(page.locator('#status')).toContainText('finished');
  const seconds = (Date.now() - t0) / 1000;

  // 6 · Results: the base and every method, each with an accuracy on the 24 held-out questions.
  const table = await resultsTable(page);
  expect(Object.keys(table)).toEqual(['base (before training)', 'pipeline', 'sft-all', 'distill-all']);
  for (const row of Object.values(table)) expect(row[0]).toMatch(/^\d+\.\d% \[/);
  // 3 · Score: the buckets and the AUC line (n/a when the base names no option, as a random model does).
  const buckets = await page.locator('#bucket-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
  expect(buckets.map((r) => r[0])).toEqual(['easy', 'medium', 'hard']);
  expect(buckets.reduce((s, r) => s + Number(r[1]), 0)).toBe(48);
  expect(buckets.reduce((s, r) => s + Number(r[2]), 0)).toBe(24);
  await expect(page.locator('#score-auc')).toContainText('ROC AUC');
  await expect(page.locator('#teacher-stats')).toContainText('demo:');
  await expect(page.locator('#results-summary')).toContainText('48 training and 24 held-out questions');
  // The budget every method had, and the tokens each processed.
  await expect(page.locator('#results-summary')).toContainText('Training budget: 4096 tokens per method (prompt + target) → 11 steps of 4 packed rows');
  for (const m of ['pipeline', 'sft-all', 'distill-all']) expect(table[m][8]).toMatch(/^\d+ \(\d+\)$/);
  // 6 · The charts: accuracy per bucket (easy, medium, hard, all) for the base and every method, and
  // the target tokens of each method; in classroom mode a sentence under each, and under the histogram.
  await expect(page.locator('#bucket-figure')).toBeVisible();
  await expect(page.locator('#bucket-chart .bar-label')).toHaveText([/^easy/, /^medium/, /^hard/, /^all 24 held-out questions/]);
  await expect(page.locator('#bucket-chart .bar-row')).toHaveCount(4 * 4);
  await expect(page.locator('#tokens-chart .bar-row')).toHaveCount(3);
  await expect(page.locator('#bucket-explain')).toBeHidden();
  await page.getByRole('switch', { name: 'Classroom mode' }).check();
  await expect(page.locator('#bucket-explain')).toContainText('The hard bucket is where they differ');
  await expect(page.locator('#tokens-explain')).toContainText('fewer');
  await expect(page.locator('#tokens-explain')).toContainText('Every method trained on the same 4096 tokens');
  await expect(page.locator('#score-explain')).toContainText('dashed lines');

  // The run's stored settings are the demo's.
  const run = await page.evaluate(async () => {
    const runs = await (await navigator.storage.getDirectory()).getDirectoryHandle('runs');
    for await (const [, h] of (runs as unknown as { entries(): AsyncIterable<[string, FileSystemDirectoryHandle]> }).entries()) {
      return JSON.parse(await (await (await h.getFileHandle('run.json')).getFile()).text());
    }
    return null;
  });
  expect(run.settings).toMatchObject({
    model: { name: 'entrotune/demo-digit-chains', source: { kind: 'url', baseUrl: `${ORIGIN}/demo/model` }, quant: 'none' },
    prompt: { labels: 'letters', system: '', user: '{question}\n{options}' },
    teacher: { kind: 'demo' },
    methods: ['pipeline', 'sft-all', 'distill-all'],
    train: { mode: 'full', lr: 1e-3, schedule: 'cosine', warmupSteps: 3 },
    loop: { batchSize: 4, pack: 96, trainTokens: 4096 },
    eval: { maxNewTokens: 40, maxBatch: 24 },
  });
  expect(run.counts).toEqual({ train: 48, test: 24 });

  // Every request went to the test server; the weights came from the page's demo/model/.
  const network = requests.filter((r) => !/^(data|blob):/.test(r.url())); // data: and blob: URLs never leave the tab
  const origins = new Set(network.map((r) => new URL(r.url()).origin));
  console.log(`demo: ${network.length} requests to ${[...origins].join(', ')}`);
  expect([...origins]).toEqual([ORIGIN]);
  expect(requests.some((r) => r.url() === `${ORIGIN}/demo/model/model.safetensors`)).toBe(true);

  await page.screenshot({ path: testInfo.outputPath('demo.png'), fullPage: true });
  await page.locator('#step-results').screenshot({ path: testInfo.outputPath('demo-results.png') });
  await page.locator('#step-score').screenshot({ path: testInfo.outputPath('demo-score.png') });
  console.log(`demo: the quick offline demo finished in ${seconds.toFixed(0)} s (${((Date.now() - t0) / 1000).toFixed(0)} s with the checks)`);
});
