// Browser tests: headless Debian Chromium driven by Playwright (see ARCHITECTURE.md).
// Run by `cargo xtask test`, which sets MEZAME_BIN and MEZAME_SANDBOX_DIR.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  timeout: 60_000,
  workers: 1,
  reporter: [['list'], ['./failures-reporter.ts']],
  globalSetup: './settle.ts',
  outputDir: '../../target/playwright',
  use: {
    headless: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
    trace: 'retain-on-failure',
  },
});
