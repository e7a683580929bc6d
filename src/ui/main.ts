// The page. All GPU work happens in a worker; this thread only shows what the worker reports.

import * as Comlink from 'comlink';
import { installErrorTransfer } from '../rpc';
import type { SmokeApi } from '../../workers/smoke.worker';

installErrorTransfer();

const worker = Comlink.wrap<SmokeApi>(new Worker(new URL('../../workers/smoke.worker.ts', import.meta.url), { type: 'module' }));
const status = document.getElementById('gpu-status')!;
const check = document.getElementById('gpu-check') as HTMLButtonElement;
const checkResult = document.getElementById('gpu-check-result')!;

function showError(el: HTMLElement, err: unknown): void {
  el.classList.add('error');
  el.textContent = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

worker.adapter().then(
  (d) => (status.textContent = d),
  (e) => showError(status, e),
);

check.addEventListener('click', async () => {
  check.disabled = true;
  checkResult.textContent = 'Running a 64×64×64 matmul on the GPU…';
  try {
    const n = 64;
    const X = Float32Array.from({ length: n * n }, (_, i) => (i % 7) - 3);
    const W = Float32Array.from({ length: n * n }, (_, i) => (i % 5) - 2);
    const t0 = performance.now();
    const { Y, adapter } = await worker.matmul(X, W, n, n, n);
    // Check one element against the CPU.
    let want = 0;
    for (let k = 0; k < n; k++) want += X[5 * n + k] * W[9 * n + k];
    const ok = Y[5 * n + 9] === want;
    checkResult.textContent = `${ok ? 'Correct' : 'WRONG'} result from ${adapter} in ${(performance.now() - t0).toFixed(0)} ms.`;
  } catch (e) {
    showError(checkResult, e);
  } finally {
    check.disabled = false;
  }
});
