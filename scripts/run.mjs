// Run a TypeScript program of this repository under Node with Vite's module runner, so the same
// `?raw` shader imports that the page, vitest and the Node build use work here too (no tsx/vite-node
// needed): `node scripts/run.mjs scripts/make-demo-model.ts [args…]`. The program's exported
// `main(args)` is awaited when there is one; its top-level code runs either way.

import { resolve } from 'node:path';
import { createServer } from 'vite';

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/run.mjs <file.ts> [args…]');
  process.exit(2);
}
const server = await createServer({
  logLevel: 'warn',
  appType: 'custom',
  server: { middlewareMode: true, hmr: false, ws: false, watch: null },
  optimizeDeps: { noDiscovery: true, include: [] },
});
let code = 0;
try {
  const mod = await server.ssrLoadModule(resolve(file));
  if (typeof mod.main === 'function') await mod.main(args);
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  code = 1;
} finally {
  await server.close();
}
process.exit(code);
