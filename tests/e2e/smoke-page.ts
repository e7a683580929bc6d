// Test page: starts the smoke worker and exposes it to Playwright as window.smoke.
import * as Comlink from 'comlink';
import { installErrorTransfer } from '../../src/rpc';
import type { SmokeApi } from '../../workers/smoke.worker';

installErrorTransfer();
const worker = new Worker(new URL('../../workers/smoke.worker.ts', import.meta.url), { type: 'module' });
(window as unknown as { smoke: Comlink.Remote<SmokeApi> }).smoke = Comlink.wrap<SmokeApi>(worker);
// Only for the missing-WebGPU test: the product never creates a device on the main thread.
(window as unknown as { mainThreadDevice: () => Promise<string> }).mainThreadDevice = async () => {
  const { createDevice } = await import('../../src/gpu/device');
  try {
    return (await createDevice()).describe();
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
};
document.getElementById('status')!.textContent = 'ready';
