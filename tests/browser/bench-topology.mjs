// Used by `cargo xtask bench topology` (tests/src/bin/bench-topology.rs), not a
// test: opens the Topology page at the URL given in headless Chromium LOADS
// times, each in a fresh context (nothing cached: a first visit), waits for
// its first full render — and in the last load for N deltas applied after it
// while the cluster churns — and prints each load's own timings (window.__mezame_perf)
// as JSON: { loads: [...], graph_nodes }. With MEZAME_TRACE=<file>, one more
// load, not counted, is recorded as a Chromium performance trace until its
// first render and N deltas (for Perfetto, chrome://tracing or
// trace-summary.mjs; tracing slows the page); its deltas' start and time are
// printed on stderr, to find them in the trace.
import { launch } from './chromium.mjs';

const url = process.argv[2];
const deltas = Number(process.argv[3] ?? 10);
const loads = Number(process.argv[4] ?? 3);
const browser = await launch();
try {
  const timings = [];
  let nodes = 0;
  const trace = process.env.MEZAME_TRACE;
  for (let i = 0; i < loads + (trace ? 1 : 0); i++) {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    const page = await context.newPage();
    const traced = i === loads;
    if (traced) {
      const categories = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute', 'v8.wasm', 'blink.user_timing', 'loading', 'toplevel'];
      await browser.startTracing(page, { path: trace, categories });
    }
    await page.goto(url);
    await page.waitForFunction(() => window.__mezame_perf?.first_render_ms !== undefined, null, { timeout: 180_000, polling: 250 });
    if (traced || i === loads - 1) {
      // Deltas that arrive during the first render wait for it: not counted.
      const live = (n) => { const p = window.__mezame_perf; return (p?.delta_at_ms ?? []).filter((at) => at >= p.first_render_ms).length >= n; };
      await page.waitForFunction(live, deltas, { timeout: 120_000, polling: 250 });
    }
    if (traced) {
      await browser.stopTracing();
      const p = await page.evaluate(() => window.__mezame_perf);
      const each = p.delta_at_ms.map((at, k) => `${p.delta_ms[k].toFixed(1)} ms at ${at.toFixed(0)}`);
      console.error(`bench-topology.mjs: traced visit: first render ${p.first_render_ms.toFixed(0)} ms; deltas ${each.join(', ')}`);
      await context.close();
      continue;
    }
    if (i === loads - 1) nodes = await page.locator('svg.graph .node').count();
    timings.push(await page.evaluate(() => window.__mezame_perf));
    await context.close();
  }
  console.log(JSON.stringify({ loads: timings, graph_nodes: nodes }));
} finally {
  await browser.close();
}
