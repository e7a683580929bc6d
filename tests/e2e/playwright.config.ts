import { defineConfig } from '@playwright/test';

const PORT = 5174;

export default defineConfig({
  testDir: '.',
  testMatch: '**/*.spec.ts',
  // Catches hangs only: a busy 2-core machine runs SwiftShader several times slower than an idle one.
  timeout: 600_000,
  workers: 1,
  reporter: [['list']],
  outputDir: '../../test-results',
  use: {
    baseURL: `http://localhost:${PORT}`,
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--enable-unsafe-webgpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    cwd: '../..',
    command: `node node_modules/vite/bin/vite.js --port ${PORT} --strictPort --logLevel warn`,
    url: `http://localhost:${PORT}/tests/e2e/smoke.html`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
