// The worker that owns the GPUDevice for the page: the engine, exposed through comlink, with the OPFS
// model cache and OPFS run folders (runs/<id>/). The WebLLM teacher runs in a worker of its own,
// started from here only when a run asks for it. Files read from a run are transferred, not copied.
import * as Comlink from 'comlink';
import { LocalEngine } from '../src/engine/local-engine';
import { opfsCache } from '../src/model/opfs-cache';
import { installErrorTransfer } from '../src/rpc';
import { opfsRunFolders } from '../src/storage/runs';
import { opfsSink } from '../src/train/checkpoint';

class WorkerEngine extends LocalEngine {
  override async readRunFile(id: string, path: string): Promise<Uint8Array | null> {
    const bytes = await super.readRunFile(id, path);
    return bytes ? Comlink.transfer(bytes, [bytes.buffer]) : null;
  }
}

installErrorTransfer();
Comlink.expose(new WorkerEngine(async () => opfsCache(), async (runId) => opfsSink(['runs', runId]), opfsRunFolders('runs')));
