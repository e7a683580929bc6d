// The offline demo (issue #8) by its button in step 1: the demo model from the page's own server
// (public/demo/model, at demo/model/), the synthetic sums, the adding program as teacher, the three
// methods, on SwiftShader. Every request must stay on the test server. Without the model folder the
// page says which file it could not fetch, and from where.
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
  await expect(page.locator('#model-info')).toHaveText(''); // nothing was loaded
});

test('the offline demo (quick) by one click: bundled model, synthetic sums, three methods, results; nothing leaves localhost', async ({ page, context }, testInfo) => {
  test.setTimeout(420_000);
  const t0 = Date.now();
  const requests: Request[] = [];
  context.on('request', (r) => requests.push(r)); // the page and its workers
  await fresh(page);

  const slot = page.locator('#offline-demo');
  await expect(slot).toBeVisible();
  await expect(slot).toContainText('nothing is downloaded from the internet');
  await slot.getByRole('radio', { name: /quick:/ }).check();
  await page.getByRole('button', { name: 'Try the offline demo' }).click();

  await expect(page.locator('#model-info')).toContainText('entrotune/demo-arithmetic', { timeout: 60_000 });
  await expect(page.locator('#data-summary')).toContainText('56 questions → 32 for training, 24 held out');
  await expect(page.locator('#status')).toContainText(/finished|Error/, { timeout: 360_000 });
  await expect(page.locator('#status')).toContainText('finished');
  const seconds = (Date.now() - t0) / 1000;

  // 6 · Results: the base and every method, each with an accuracy on the 24 held-out sums.
  const table = await resultsTable(page);
  expect(Object.keys(table)).toEqual(['base (before training)', 'pipeline', 'sft-all', 'distill-all']);
  for (const row of Object.values(table)) expect(row[0]).toMatch(/^\d+\.\d% \[/);
  // 3 · Score: the buckets and the AUC line (n/a when the base names no option, as a random model does).
  const buckets = await page.locator('#bucket-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
  expect(buckets.map((r) => r[0])).toEqual(['easy', 'medium', 'hard']);
  expect(buckets.reduce((s, r) => s + Number(r[1]), 0)).toBe(32);
  expect(buckets.reduce((s, r) => s + Number(r[2]), 0)).toBe(24);
  await expect(page.locator('#score-auc')).toContainText('ROC AUC');
  await expect(page.locator('#teacher-stats')).toContainText('demo:column-addition');
  await expect(page.locator('#results-summary')).toContainText('32 training and 24 held-out questions');

  // The run's stored settings are the demo's.
  const run = await page.evaluate(async () => {
    const runs = await (await navigator.storage.getDirectory()).getDirectoryHandle('runs');
    for await (const [, h] of (runs as unknown as { entries(): AsyncIterable<[string, FileSystemDirectoryHandle]> }).entries()) {
      return JSON.parse(await (await (await h.getFileHandle('run.json')).getFile()).text());
    }
    return null;
  });
  expect(run.settings).toMatchObject({
    model: { name: 'entrotune/demo-arithmetic', source: { kind: 'url', baseUrl: `${ORIGIN}/demo/model` }, quant: 'none' },
    prompt: { labels: 'letters', system: '', user: '{question}\n{options}' },
    teacher: { kind: 'demo' },
    methods: ['pipeline', 'sft-all', 'distill-all'],
    train: { r: 4, alpha: 8, lr: 5e-3, schedule: 'cosine', warmupSteps: 1 },
    loop: { epochs: 1, batchSize: 8, pack: 128 },
    eval: { maxNewTokens: 40, maxBatch: 24 },
  });
  expect(run.counts).toEqual({ train: 32, test: 24 });

  // Every request went to the test server; the weights came from the page's demo/model/.
  const network = requests.filter((r) => !/^(data|blob):/.test(r.url())); // data: and blob: URLs never leave the tab
  const origins = new Set(network.map((r) => new URL(r.url()).origin));
  console.log(`demo: ${network.length} requests to ${[...origins].join(', ')}`);
  expect([...origins]).toEqual([ORIGIN]);
  expect(requests.some((r) => r.url() === `${ORIGIN}/demo/model/model.safetensors`)).toBe(true);

  await page.screenshot({ path: testInfo.outputPath('demo.png'), fullPage: true });
  console.log(`demo: the quick offline demo finished in ${seconds.toFixed(0)} s (${((Date.now() - t0) / 1000).toFixed(0)} s with the checks)`);
});
