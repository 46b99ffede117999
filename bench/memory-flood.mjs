// RSS growth of the memory state store when 1,000,000 distinct client IPs each take a
// rate-limit decision (an attacker rotating addresses), at the default entry cap.
// Run with --expose-gc so that the starting point is clean: node --expose-gc bench/memory-flood.mjs
import { MemoryStore } from '../dist/src/store/memory.js';
import { DEFAULT_MAX_ENTRIES } from '../dist/src/store/index.js';

const N = Number(process.argv[2] ?? 1_000_000);
globalThis.gc?.();
const before = process.memoryUsage().rss;
const store = new MemoryStore({ maxEntries: DEFAULT_MAX_ENTRIES });
const check = { kind: 'bucket', key: '', intervalMs: 40, burst: 50, enforce: true };
const now = Date.now();
let peak = before;
for (let i = 0; i < N; i++) {
  check.key = `b:g:per-ip:ip=10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
  store.limitSync([check], now);
  if ((i & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage().rss);
}
const after = process.memoryUsage().rss;
peak = Math.max(peak, after);
console.log(
  JSON.stringify({
    clients: N,
    cap: DEFAULT_MAX_ENTRIES,
    entries: store.size,
    rss_growth_mb: Math.round((after - before) / 1048576),
    peak_rss_growth_mb: Math.round((peak - before) / 1048576),
  }),
);
