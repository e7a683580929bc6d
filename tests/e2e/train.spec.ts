import { expect, test, type Page } from '@playwright/test';

const MODEL = '/tests/fixtures/tiny/llama';
const CONVERSATIONS = [['What is 2 + 3?', 'B'], ['What is 7 - 4?', 'C'], ['What is 1 + 1?', 'A'], ['What is 9 - 1?', 'D']].map(([q, a]) => [
  { role: 'user', content: q },
  { role: 'assistant', content: a },
]);

type W = {
  load: (s: string) => Promise<unknown>;
  engine: {
    train: (c: unknown, cfg: unknown, loop: unknown, onProgress?: unknown) => Promise<{ losses: number[] }>;
    exportAdapter: () => Promise<{ config: string; weights: Uint8Array }>;
  };
  trainWithProgress: (c: unknown, cfg: unknown, loop: unknown) => Promise<{ losses: number[] }>;
  steps: number[];
};

async function ready(page: Page) {
  await page.goto('/tests/e2e/engine.html');
  await expect(page.locator('#status')).toHaveText('ready');
  await page.evaluate((m) => (window as unknown as W).load(m), MODEL);
}

test('a fixture model overfits a handful of examples in the browser and exports a PEFT adapter', async ({ page }) => {
  await ready(page);
  const r = await page.evaluate(async (conv) => {
    const w = window as unknown as W;
    const { losses } = await w.engine.train(conv, { lr: 2e-2, schedule: 'constant', seed: 1 }, { epochs: 30, batchSize: 4, runId: 'overfit' });
    const { config, weights } = await w.engine.exportAdapter();
    const n = Number(new DataView(weights.buffer, weights.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(weights.subarray(8, 8 + n)));
    return { first: losses[0], last: losses.at(-1)!, config: JSON.parse(config), names: Object.keys(header).filter((k) => k !== '__metadata__') };
  }, CONVERSATIONS);
  console.log(`browser overfit: ${r.first.toFixed(3)} → ${r.last.toFixed(4)}`);
  expect(r.last).toBeLessThan(0.05);
  expect(r.config).toMatchObject({ peft_type: 'LORA', r: 8, lora_alpha: 16 });
  expect(r.names).toHaveLength(28);
  expect(r.names).toContain('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight');
});

test('a run killed by a page reload resumes from its OPFS checkpoint with the same losses', async ({ page }) => {
  await ready(page);
  await page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    await root.removeEntry('runs', { recursive: true }).catch(() => undefined);
  });
  const cfg = { lr: 5e-3, warmupSteps: 2, schedule: 'cosine', seed: 7 };
  const loop = { epochs: 3, batchSize: 2, checkpointEvery: 2 };
  const full = await page.evaluate(([c, cf, lp]) => (window as unknown as W).engine.train(c, cf, { ...(lp as object), runId: 'uninterrupted' }), [CONVERSATIONS, cfg, loop] as const);
  // Start the same run under another id, and reload the page (killing the worker) once step 3 is done.
  await page.evaluate(([c, cf, lp]) => { void (window as unknown as W).trainWithProgress(c, cf, { ...(lp as object), runId: 'killed' }); }, [CONVERSATIONS, cfg, loop] as const);
  await page.waitForFunction(() => (window as unknown as W).steps.includes(3), undefined, { timeout: 120_000 });
  await page.reload();
  await expect(page.locator('#status')).toHaveText('ready');
  await page.evaluate((m) => (window as unknown as W).load(m), MODEL);
  const resumed = await page.evaluate(([c, cf, lp]) => (window as unknown as W).engine.train(c, cf, { ...(lp as object), runId: 'killed', resume: true }), [CONVERSATIONS, cfg, loop] as const);
  expect(resumed.losses).toHaveLength(full.losses.length);
  resumed.losses.forEach((l, i) => expect(l).toBeCloseTo(full.losses[i], 5));
});
