import { expect, test, type Page } from '@playwright/test';

type Progress = { phase: string; bytes?: number; total?: number; done?: number };

async function load(page: Page) {
  return page.evaluate(async () => {
    const w = window as unknown as { load: (s: string) => Promise<{ name: string; report: { quant: string; parameters: number } }>; progress: Progress[]; engine: { generate: (p: number[], o: unknown) => Promise<{ ids: number[] }> } };
    const info = await w.load('/tests/fixtures/tiny/llama');
    const gen = await w.engine.generate([1, 2, 3], { maxNewTokens: 3 });
    return { info, progress: w.progress, generated: gen.ids.length };
  });
}

test('loads a model over HTTP with progress, then again after a reload from the OPFS cache without downloading', async ({ page }) => {
  const modelRequests: string[] = [];
  page.on('request', (r) => { if (r.url().includes('/tests/fixtures/tiny/')) modelRequests.push(`${r.method()} ${r.url()}`); });
  await page.goto('/tests/e2e/engine.html');
  await expect(page.locator('#status')).toHaveText('ready');
  // Start clean: an earlier run's cache must not hide the download.
  await page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    for await (const name of (root as unknown as { keys(): AsyncIterable<string> }).keys()) await root.removeEntry(name, { recursive: true });
  });
  const first = await load(page);
  const downloads = first.progress.filter((p) => p.phase === 'download');
  expect(downloads.length).toBeGreaterThan(0);
  expect(downloads.at(-1)!.bytes).toBe(downloads.at(-1)!.total);
  expect(downloads.at(-1)!.total).toBeGreaterThan(400_000); // the safetensors file was downloaded
  expect(first.progress.some((p) => p.phase === 'weights')).toBe(true);
  expect(first.generated).toBe(3);
  expect(modelRequests.some((r) => r.includes('model.safetensors'))).toBe(true);
  await expect(page.locator('#status')).toContainText('weights');

  modelRequests.length = 0;
  await page.reload();
  await expect(page.locator('#status')).toHaveText('ready');
  const second = await load(page);
  expect(modelRequests).toEqual([]);
  expect(second.progress.filter((p) => p.phase === 'download')).toEqual([]);
  expect(second.info.report.parameters).toBe(first.info.report.parameters);
  const cached = await page.evaluate(() => (window as unknown as { engine: { cachedModels: () => Promise<{ complete: boolean; bytes: number }[]> } }).engine.cachedModels());
  expect(cached).toHaveLength(1);
  expect(cached[0].complete).toBe(true);
});
