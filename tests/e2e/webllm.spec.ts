// The WebLLM teacher without network: every request that leaves localhost is aborted here, so these
// tests behave the same on a machine with internet. No weights are ever downloaded.
import { expect, test, type Page } from '@playwright/test';
import type { CreateResult } from './webllm-page';

type W = { createTeacher: (id: string) => Promise<CreateResult>; suggestedNotPrebuilt: () => Promise<string[]> };

async function offline(page: Page): Promise<string[]> {
  const blocked: string[] = [];
  await page.route(
    (url) => url.hostname !== 'localhost' && url.hostname !== '127.0.0.1',
    (route) => {
      blocked.push(new URL(route.request().url()).hostname);
      return route.abort('internetdisconnected');
    },
  );
  await page.goto('/tests/e2e/webllm.html');
  await expect(page.locator('#status')).toHaveText('ready');
  return blocked;
}

test('without network the WebLLM teacher fails with a TeacherError that says which hosts it needs', async ({ page }) => {
  const blocked = await offline(page);
  const id = 'Qwen2.5-1.5B-Instruct-q4f32_1-MLC';
  const r = await page.evaluate((m) => (window as unknown as W).createTeacher(m), id);
  console.log(`webllm offline: ${r.error?.message.split('\n')[0]}`);
  expect(r.ok).toBe(false);
  expect(r.error).toMatchObject({ cls: 'TeacherError', name: 'TeacherError' });
  expect(r.error!.message).toContain(`'${id}'`);
  expect(r.error!.message).toMatch(/needs network access to huggingface\.co .*raw\.githubusercontent\.com/);
  expect(r.error!.message).toMatch(/HINT: .*HTTP teacher.*own engine.*column/);
  // The failure came from the blocked download (WebGPU is there: SwiftShader), and the worker is gone.
  expect(blocked).toContain('huggingface.co');
  expect(r.workers).toEqual({ created: 1, terminated: 1 });
});

test('an unknown model id is refused before any worker or download, with close matches', async ({ page }) => {
  const blocked = await offline(page);
  const r = await page.evaluate(() => (window as unknown as W).createTeacher('Qwen2.5-7B-Instruct'));
  expect(r.error).toMatchObject({ cls: 'TeacherError', name: 'TeacherError' });
  expect(r.error!.message).toMatch(/^'Qwen2\.5-7B-Instruct' is not a prebuilt WebLLM model; close matches: .*Qwen2\.5-7B-Instruct-q4f32_1-MLC/);
  expect(r.workers).toEqual({ created: 0, terminated: 0 });
  expect(blocked).toEqual([]);
});

test('every suggested WebLLM teacher is in the prebuilt model list', async ({ page }) => {
  await offline(page);
  expect(await page.evaluate(() => (window as unknown as W).suggestedNotPrebuilt())).toEqual([]);
});

test('a browser without WebGPU is told so before any worker or download', async ({ page }) => {
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
  const blocked = await offline(page);
  const r = await page.evaluate(() => (window as unknown as W).createTeacher('Qwen2.5-3B-Instruct-q4f32_1-MLC'));
  expect(r.error).toMatchObject({ cls: 'TeacherError' });
  expect(r.error!.message).toMatch(/^the WebLLM teacher 'Qwen2\.5-3B-Instruct-q4f32_1-MLC' needs WebGPU.*\nHINT: .*Chrome/);
  expect(r.workers).toEqual({ created: 0, terminated: 0 });
  expect(blocked).toEqual([]);
});
