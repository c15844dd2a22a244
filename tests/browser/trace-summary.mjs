// Summary of a Chromium performance trace written by bench-topology.mjs
// (MEZAME_TRACE=<file>): where the page's main thread spends the time until
// its first render. Prints, in milliseconds since navigation start, each task
// of the renderer's main thread longer than MIN ms with its largest parts,
// and the network requests (sent, response, finished).
//   node tests/browser/trace-summary.mjs <trace.json> [MIN]
import { readFileSync } from 'node:fs';

const file = process.argv[2];
const min = Number(process.argv[3] ?? 5);
const raw = JSON.parse(readFileSync(file, 'utf8'));
const events = Array.isArray(raw) ? raw : raw.traceEvents;

const threadName = new Map();
for (const e of events) {
  if (e.ph === 'M' && e.name === 'thread_name') threadName.set(`${e.pid}:${e.tid}`, e.args.name);
}
const nav = events.find((e) => e.name === 'navigationStart' && e.args?.data?.isLoadingMainFrame !== false) ?? events.find((e) => e.name === 'navigationStart');
if (!nav) throw new Error('no navigationStart in the trace');
const main = (e) => e.pid === nav.pid && threadName.get(`${e.pid}:${e.tid}`) === 'CrRendererMain';
const at = (ts) => ((ts - nav.ts) / 1000).toFixed(1);

// Complete events of the main thread after navigation start, nested by time.
const spans = events.filter((e) => e.ph === 'X' && main(e) && e.ts >= nav.ts).sort((a, b) => a.ts - b.ts || b.dur - a.dur);
const tasks = [];
for (const e of spans) {
  const parent = tasks.at(-1);
  if (parent && e.ts < parent.ts + parent.dur) parent.parts.set(e.name, (parent.parts.get(e.name) ?? 0) + (e.dur ?? 0));
  else tasks.push({ ts: e.ts, dur: e.dur ?? 0, name: e.name, parts: new Map() });
}
let busy = 0;
for (const t of tasks) {
  busy += t.dur;
  if (t.dur / 1000 < min) continue;
  const parts = [...t.parts].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([n, d]) => `${n} ${(d / 1000).toFixed(1)}`);
  console.log(`${at(t.ts).padStart(8)} +${(t.dur / 1000).toFixed(1).padStart(7)}  ${t.name}: ${parts.join(', ')}`);
}
const last = tasks.at(-1);
if (last) console.log(`main thread busy ${(busy / 1000).toFixed(0)} ms of ${at(last.ts + last.dur)} ms`);

for (const e of events.filter((e) => e.name.startsWith('Resource') && e.args?.data && e.ts >= nav.ts)) {
  const d = e.args.data;
  console.log(`${at(e.ts).padStart(8)}  ${e.name} ${d.requestId ?? ''} ${d.url ?? ''} ${d.encodedDataLength ?? ''}`.trimEnd());
}
