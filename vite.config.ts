import { defineConfig } from 'vitest/config';

// `vite build` makes the static site (dist/); `vite build --ssr` makes the Node programs
// (dist-node/cli.js, dist-node/bench.js) with the same ?raw shader imports as the browser.
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
    include: ['tests/unit/**/*.test.ts', 'tests/gpu/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
}));
