import { defineConfig } from '@playwright/test';

// berth's browser tests drive Debian's Chromium (/usr/bin/chromium, from
// `make deps`); Playwright never downloads a browser here, so never run
// `npx playwright install`. Each worker starts its own fresh berth
// (see fixtures.ts), so the tests need no server started beforehand, only
// target/release/berth (or $BERTH_BIN) and a Docker engine.
export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  timeout: 120_000,
  expect: { timeout: 20_000 },
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    actionTimeout: 20_000,
    navigationTimeout: 30_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
});
