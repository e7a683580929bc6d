// `vite build` makes a static site that works from any folder of any static host: it is built into a
// temporary folder, served by a plain file server under a deep path (/some/where/entrotune/), and
// driven in Chromium — the worker starts, the GPU answers, a model and a dataset load by URL and the
// questions are scored. The fixture files are served by the same server under /fixtures/.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from '@playwright/test';

test.use({ actionTimeout: 30_000 });

const ROOT = resolve(import.meta.dirname, '../..');
const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm',
  '.jsonl': 'application/jsonl', '.svg': 'image/svg+xml',
};

/** GET and HEAD of files under `mounts` (URL prefix → folder); nothing else. */
async function staticServer(mounts: Record<string, string>): Promise<{ server: Server; origin: string }> {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const prefix = Object.keys(mounts).find((p) => path.startsWith(p));
    if (!prefix || (req.method !== 'GET' && req.method !== 'HEAD')) return void res.writeHead(404).end();
    let file = normalize(join(mounts[prefix], path.slice(prefix.length)));
    if (!file.startsWith(mounts[prefix])) return void res.writeHead(403).end();
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, origin: `http://localhost:${(server.address() as AddressInfo).port}` };
}

test('the built site works from a sub-folder of a plain static server', async ({ page }) => {
  test.setTimeout(600_000);
  const out = await mkdtemp(join(tmpdir(), 'entrotune-dist-'));
  let server: Server | null = null;
  try {
    await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', out, '--emptyOutDir', '--logLevel', 'error'], { cwd: ROOT });
    const html = await readFile(join(out, 'index.html'), 'utf8');
    expect(html).not.toMatch(/(src|href)="\/(?!\/)/); // no absolute asset paths
    const s = await staticServer({ '/some/where/entrotune/': out, '/fixtures/': join(ROOT, 'tests/fixtures') });
    server = s.server;
    const origins = new Set<string>();
    page.context().on('request', (r) => origins.add(new URL(r.url()).origin));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));

    await page.goto(`${s.origin}/some/where/entrotune/`);
    await expect(page.locator('#status')).toContainText('Ready', { timeout: 60_000 });
    await page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      for await (const name of (root as unknown as { keys(): AsyncIterable<string> }).keys()) await root.removeEntry(name, { recursive: true });
    });
    await page.locator('#step-model').getByLabel('A URL').check();
    await page.getByLabel(/URL of a folder/).fill(`${s.origin}/fixtures/tiny/llama`);
    await page.getByRole('button', { name: 'Load model' }).click();
    await expect(page.locator('#model-info')).toContainText('parameters', { timeout: 60_000 });
    await page.locator('#step-data').getByLabel('A URL').check();
    await page.getByLabel('URL of a JSONL, JSON or CSV file').fill('../../../fixtures/data/ui-sample.jsonl'); // relative to the page
    await page.getByRole('button', { name: 'Fetch', exact: true }).click();
    await expect(page.locator('#data-summary')).toContainText('ui-sample.jsonl: 12 questions, 2 invalid rows skipped');
    await page.getByText('Prompt and split').click();
    await page.getByLabel(/System message/).fill('');
    await page.getByRole('button', { name: 'Score the questions' }).click();
    await expect(page.locator('#bucket-table')).toBeVisible({ timeout: 60_000 });
    expect(errors).toEqual([]);
    expect([...origins]).toEqual([s.origin]);
  } finally {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    await rm(out, { recursive: true, force: true });
  }
});
