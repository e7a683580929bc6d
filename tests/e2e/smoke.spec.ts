import { expect, test } from '@playwright/test';
import { matmulForward } from '../reference/matmul';
import { firstMismatch } from '../reference/compare';
import { randomArray } from '../reference/random';

test('a module worker runs the matmul kernel on WebGPU through comlink', async ({ page }) => {
  await page.goto('/tests/e2e/smoke.html');
  await expect(page.locator('#status')).toHaveText('ready');
  const [M, N, K] = [37, 70, 19];
  const X = randomArray(M * K, 1), W = randomArray(N * K, 2);
  const out = await page.evaluate(
    async ({ X, W, M, N, K }) => {
      const smoke = (window as unknown as { smoke: { matmul: (...a: unknown[]) => Promise<{ adapter: string; Y: Float32Array }> } }).smoke;
      const r = await smoke.matmul(new Float32Array(X), new Float32Array(W), M, N, K);
      return { adapter: r.adapter, Y: Array.from(r.Y) };
    },
    { X: Array.from(X), W: Array.from(W), M, N, K },
  );
  console.log(`browser adapter: ${out.adapter}`);
  expect(out.adapter).toMatch(/\w/);
  expect(firstMismatch(out.Y, matmulForward(X, W, M, N, K), 1e-5, 1e-5)).toBeNull();
});

test('a shader compile error in the worker arrives as ShaderCompileError', async ({ page }) => {
  await page.goto('/tests/e2e/smoke.html');
  await expect(page.locator('#status')).toHaveText('ready');
  const err = await page.evaluate(async () => {
    const smoke = (window as unknown as { smoke: { brokenShader: () => Promise<void> } }).smoke;
    try {
      await smoke.brokenShader();
      return null;
    } catch (e) {
      const { file, line, hint } = e as { file?: string; line?: number; hint?: string };
      return { cls: (e as Error).constructor.name, name: (e as Error).name, message: (e as Error).message, file, line, hint };
    }
  });
  expect(err).toMatchObject({ cls: 'ShaderCompileError', name: 'ShaderCompileError' });
  expect(err!.message).toMatch(/^broken\.wgsl:2:\d+: .*nope/);
  // Its fields came through the worker as well, the hint among them.
  expect(err).toMatchObject({ file: 'broken.wgsl', line: 2, hint: expect.stringMatching(/bug in entrotune or an unsupported driver/) });
});

test('a browser without WebGPU gets an error that says which browsers and flags work', async ({ page }) => {
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
  await page.goto('/tests/e2e/smoke.html');
  await expect(page.locator('#status')).toHaveText('ready');
  const msg = await page.evaluate(() => (window as unknown as { mainThreadDevice: () => Promise<string> }).mainThreadDevice());
  expect(msg).toMatch(/^WebGpuUnavailableError: this browser has no WebGPU/);
  expect(msg).toMatch(/HINT: .*Chrome.*--enable-unsafe-webgpu/);
});
