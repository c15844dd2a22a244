// Headless Chromium as the benchmarks' scripts open it (Debian's, or $CHROMIUM),
// with the flags that keep it off the network and quiet.
import { chromium } from '@playwright/test';

export function launch() {
  return chromium.launch({
    headless: true,
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
