// Used by `cargo xtask bench topology` (tests/src/bin/bench-topology.rs), not a
// test: opens the Topology page at the URL given in headless Chromium, waits
// for its first full render and then for N deltas applied while the cluster
// churns, and prints the page's own timings (window.__mezame_perf) as JSON.
import { launch } from './chromium.mjs';

const url = process.argv[2];
const deltas = Number(process.argv[3] ?? 10);
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(url);
  await page.waitForFunction(() => window.__mezame_perf?.first_render_ms !== undefined, null, { timeout: 180_000, polling: 250 });
  await page.waitForFunction((n) => (window.__mezame_perf?.delta_ms?.length ?? 0) >= n, deltas, { timeout: 120_000, polling: 250 });
  const perf = await page.evaluate(() => window.__mezame_perf);
  const nodes = await page.locator('svg.graph .node').count();
  console.log(JSON.stringify({ ...perf, graph_nodes: nodes }));
} finally {
  await browser.close();
}
