// Used by `cargo xtask bench capacity` (tests/src/bin/bench-capacity.rs), not
// a test: opens the Node groups page at the URL given in headless Chromium,
// waits until it lists at least N nodes, keeps it open while the bench
// scales and drains (each change cues the page to read the view again) —
// until its standard input ends —, and prints as JSON the time to that
// first full list and every long task Chromium reported (PerformanceObserver
// 'longtask': > 50 ms on the main thread), from the page's start.
import { launch } from './chromium.mjs';

const url = process.argv[2];
const nodes = Number(process.argv[3] ?? 1);
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.addInitScript(() => {
    window.__long_tasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__long_tasks.push({ start_ms: e.startTime, ms: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
  await page.goto(url);
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="node"]').length >= n, nodes, { timeout: 180_000, polling: 100 });
  const listed_ms = await page.evaluate(() => performance.now());
  console.error(`bench-capacity.mjs: listed after ${listed_ms.toFixed(0)} ms`);
  process.stdin.resume();
  await new Promise((done) => process.stdin.on('end', done));
  const tasks = await page.evaluate(() => window.__long_tasks);
  const resources = await page.evaluate(() => performance.getEntriesByType('resource').map((r) => ({ name: r.name, end_ms: r.responseEnd })));
  const reads = resources.filter((r) => r.name.endsWith('/capacity'));
  // When the page had its code and its first view: to place the long tasks.
  // The main module is the first .wasm fetched; the pages' lazy chunks come after it.
  const wasm = resources.filter((r) => r.name.endsWith('.wasm'));
  const wasm_ms = wasm[0]?.end_ms ?? null;
  const chunks_ms = wasm.length > 1 ? Math.max(...wasm.slice(1).map((r) => r.end_ms)) : null;
  console.log(JSON.stringify({ listed_ms, long_tasks: tasks, capacity_reads: reads.length, wasm_ms, chunks_ms, first_read_ms: reads[0]?.end_ms ?? null, marks: await page.evaluate(() => window.__mezame_perf ?? {}) }));
} finally {
  await browser.close();
}
