// Ad-hoc check of issue 21, part 3 (not part of `npm test`): the cost the per-tenant series add to
// Metrics.exchange(), the observe phase's per-request metrics call, with tenants rotating between
// configured ones, an unknown one (pooled under (other)) and none. Compares the same loop with the
// tenant series' record() replaced by a no-op.
//   npm run build && node dist/bench/tenant-metrics.js [millions of calls] [rounds]
import { Metrics } from '../src/observe/metrics.js';

const n = Number(process.argv[2] ?? 5) * 1e6;
const rounds = Number(process.argv[3] ?? 3);
const m = new Metrics();
m.setTenants(['acme', 'globex', 'initech']);
const tenants = ['acme', 'globex', null, 'acme', 'stranger'];

function nsPerCall(calls: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) m.exchange('api', 200, 'allowed', 'main', 0.003, tenants[i % 5] ?? null, null);
  return Number(process.hrtime.bigint() - t0) / calls;
}

const record = m.tenants.record;
for (let r = 0; r < rounds; r++) {
  m.tenants.record = record;
  nsPerCall(n / 5);
  const on = nsPerCall(n);
  m.tenants.record = () => undefined;
  nsPerCall(n / 5);
  const off = nsPerCall(n);
  console.log(`exchange(): ${on.toFixed(1)} ns with tenant series, ${off.toFixed(1)} ns without (+${(on - off).toFixed(1)} ns per request)`);
}
