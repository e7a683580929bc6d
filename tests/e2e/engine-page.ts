// Test page: the engine worker, exposed to Playwright as window.engine, and progress events
// collected in window.progress.
import * as Comlink from 'comlink';
import { installErrorTransfer } from '../../src/rpc';
import type { Engine, ProgressEvent } from '../../src/engine/protocol';
import { requestPersistentStorage } from '../../src/model/opfs-cache';

installErrorTransfer();
const engine = Comlink.wrap<Engine>(new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module' }));
const w = window as unknown as {
  engine: typeof engine;
  progress: ProgressEvent[];
  load: (src: string) => Promise<unknown>;
  steps: number[];
  trainWithProgress: (c: Parameters<Engine['train']>[0], cfg: Parameters<Engine['train']>[1], loop: Parameters<Engine['train']>[2]) => Promise<{ losses: number[] }>;
};
w.steps = [];
w.trainWithProgress = (c, cfg, loop) => engine.train(c, cfg, loop, Comlink.proxy((p: { step: number }) => { w.steps.push(p.step); }));
w.engine = engine;
w.progress = [];
w.load = async (src: string) => {
  await requestPersistentStorage();
  return engine.loadModel({ kind: 'url', baseUrl: new URL(src, location.href).href }, {}, Comlink.proxy((p: ProgressEvent) => {
    w.progress.push(p);
    document.getElementById('status')!.textContent = `${p.phase} ${'bytes' in p ? `${p.bytes}/${p.total}` : `${p.done}/${p.total}`}`;
  }));
};
document.getElementById('status')!.textContent = 'ready';
