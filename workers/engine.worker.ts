// The worker that owns the GPUDevice: the engine, exposed through comlink, with the OPFS model cache.
import * as Comlink from 'comlink';
import { LocalEngine } from '../src/engine';
import { opfsCache } from '../src/model/opfs-cache';
import { installErrorTransfer } from '../src/rpc';
import { opfsSink } from '../src/train/checkpoint';

installErrorTransfer();
Comlink.expose(new LocalEngine(async () => opfsCache(), async (runId) => opfsSink(['runs', runId])));
