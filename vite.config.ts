import { defineConfig } from 'vitest/config';

// `vite build` makes the static site (dist/); `vite build --ssr` makes the Node programs
// (dist-node/cli.js, dist-node/bench.js) with the same ?raw shader imports as the browser.
/** Suites that check kernels and the model against references (CPU float64, PyTorch fixtures,
 *  finite differences): run under both kernel sets. */
const KERNEL_SUITES = [
  'matmul', 'rmsnorm', 'rope', 'swiglu', 'attention', 'attention-backward', 'rows', 'convert', 'quantize', 'linear',
  'embedding', 'crossentropy', 'entropy', 'elementwise', 'reduce', 'dropout', 'adamw',
  'full-finetune', 'pytorch', 'batch-generate', 'load',
].map((n) => `tests/gpu/${n}.test.ts`);

export default defineConfig(({ isSsrBuild }) => ({
  // Relative asset URLs: the static site in dist/ works from any folder of any host (./index.html).
  base: isSsrBuild ? '/' : './',
  worker: { format: 'es' },
  build: isSsrBuild
    ? {
        target: 'node20',
        outDir: 'dist-node',
        emptyOutDir: true,
        rollupOptions: { input: { cli: 'src/cli.ts', bench: 'tests/bench/bench.ts' }, output: { format: 'es' } },
      }
    : {
        target: 'es2022',
        // web-llm (a lazily loaded chunk of the WebLLM teacher's worker) is ~6 MB by itself.
        chunkSizeWarningLimit: 8000,
        // Node-only modules are loaded lazily by src/gpu/device.ts and never in a browser.
        rollupOptions: { external: ['webgpu', /^node:/] },
      },
  server: { port: 5173, strictPort: true },
  test: {
    globalSetup: ['tests/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // Timeouts catch hangs, not slowness: a busy 2-core machine runs SwiftShader several times slower.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    // The kernel and fixture suites run once per kernel set (src/kernels: 'gpu' tiles and the
    // barrier-free 'software' set); everything else runs once, with the set the adapter gets.
    projects: [
      { extends: true, test: { name: 'unit', include: ['tests/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'gpu', include: ['tests/gpu/**/*.test.ts'], exclude: KERNEL_SUITES } },
      ...(['gpu', 'software'] as const).map((k) => ({
        extends: true as const,
        test: { name: `kernels:${k}`, include: KERNEL_SUITES, env: { ENTROTUNE_KERNELS: k } },
      })),
    ],
  },
}));
