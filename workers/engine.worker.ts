// The engine worker the e2e test pages use; the page itself uses workers/trainer.worker.ts (the same
// engine, the same OPFS folders).
import './trainer.worker';
