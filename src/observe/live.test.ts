import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AccessRecord } from '../core/record.js';
import type { Outcome } from '../core/context.js';
import { LiveView, MAX_KEYS, MAX_REFUSALS, MAX_TENANTS, OTHER, quantile, wafCategories } from './live.js';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const ALLOWED: Outcome = { decision: 'allowed', stage: null, code: null, reason: null, errors: null };
const redact = { redact: (q: string) => q.replace(/token=[^&]*/, 'token=[REDACTED]'), secretTarget: () => false };

let n = 0;
function record(over: Partial<AccessRecord> = {}): AccessRecord {
  return {
    time: T0,
    id: `req-${++n}`,
    clientIp: '198.51.100.1',
    method: 'GET',
    host: 'api.example',
    path: '/items',
    query: '',
    redact,
    routeId: 'items',
    status: 200,
    bytesIn: 0,
    bytesOut: 10,
    latencyMs: 3,
    upstream: 'http://127.0.0.1:1',
    upstreamLatencyMs: 2,
    consumer: null,
    tenant: null,
    outcome: ALLOWED,
    listener: 'main',
    monitored: [],
    annotations: null,
    ...over,
  };
}

const denied = (stage: string, code: string, extra: Partial<Outcome> = {}): Outcome => ({
  decision: 'denied',
  stage,
  code,
  reason: null,
  errors: null,
  ...extra,
});
const WAF_ANN = { waf: { score: 10, blocked: true, rules: ['sqli-100'], tags: ['attack-sqli', 'injection'], targets: ['query:id'], matches: [] } };

test('counts requests per second by status class, over the last minute, with the rate of the last 10 seconds', () => {
  const v = new LiveView();
  for (let s = 0; s < 20; s++) for (let i = 0; i < 3; i++) v.observe(record({ time: T0 + s * 1000 + 5 }));
  v.observe(record({ time: T0 + 19_000, status: 404, outcome: denied('route', 'PC_ERR_ROUTE_NOT_FOUND') }));
  v.observe(record({ time: T0 + 19_000, status: 502 }));
  const snap = v.snapshot(T0 + 20_500, null);
  assert.equal(snap.totals.requests, 62);
  assert.equal(snap.totals.last_minute.requests, 62);
  assert.equal(snap.totals.last_minute.s2xx, 60);
  assert.equal(snap.totals.last_minute.s4xx, 1);
  assert.equal(snap.totals.last_minute.s5xx, 1);
  assert.equal(snap.totals.last_minute.refused, 1);
  // seconds 10..19 are complete: 30 requests and the two of second 19
  assert.equal(snap.totals.rps, 3.2);
  const last = snap.series.requests.length - 1;
  assert.equal(snap.series.start + last, Math.floor((T0 + 20_500) / 1000));
  assert.equal(snap.series.requests[last - 1], 5);
  assert.equal(snap.series.requests[last], 0);
});

test('the ring forgets seconds older than its window instead of adding them to the new ones', () => {
  const v = new LiveView();
  v.observe(record({ time: T0 }));
  // 300 s later the same slot of the ring is reused
  v.observe(record({ time: T0 + 300_000 }));
  const snap = v.snapshot(T0 + 300_000, null);
  assert.equal(snap.series.requests.at(-1), 1);
  assert.equal(
    snap.series.requests.reduce((a, b) => a + b, 0),
    1,
  );
});

test('latency quantiles come from the histogram, interpolated within a bucket, and are null without requests', () => {
  assert.equal(quantile([0, 0, 0], 0.5), null);
  const v = new LiveView();
  for (let i = 0; i < 99; i++) v.observe(record({ latencyMs: 3 }));
  v.observe(record({ latencyMs: 900 }));
  const w = v.snapshot(T0 + 500, null).totals.latency_ms;
  assert.ok(w.p50 !== null && w.p50 > 2.5 && w.p50 <= 5, `p50 ${w.p50}`);
  assert.ok(w.p99 !== null && w.p99 <= 5, `p99 ${w.p99}`);
  const v2 = new LiveView();
  for (let i = 0; i < 10; i++) v2.observe(record({ latencyMs: 900 }));
  const p = v2.snapshot(T0 + 500, null).totals.latency_ms.p95;
  assert.ok(p !== null && p > 500 && p <= 1000, `p95 ${p}`);
});

test('refusals are counted by stage and code, WAF blocks by attack category, offenders by client', () => {
  const v = new LiveView();
  v.observe(record({ status: 403, clientIp: '203.0.113.5', outcome: denied('waf', 'PC_ERR_WAF_BLOCKED'), annotations: WAF_ANN }));
  v.observe(record({ status: 403, clientIp: '203.0.113.5', outcome: denied('waf', 'PC_ERR_WAF_BLOCKED'), annotations: WAF_ANN }));
  v.observe(record({ status: 401, clientIp: '203.0.113.6', outcome: denied('auth', 'PC_ERR_AUTH_REQUIRED') }));
  const snap = v.snapshot(T0 + 1000, null);
  assert.deepEqual(snap.refusals_by, [
    { stage: 'waf', code: 'PC_ERR_WAF_BLOCKED', count: 2 },
    { stage: 'auth', code: 'PC_ERR_AUTH_REQUIRED', count: 1 },
  ]);
  assert.deepEqual(snap.waf_blocks, [{ category: 'sqli', count: 2 }]);
  assert.deepEqual(snap.top_clients, [
    { client: '203.0.113.5', refusals: 2 },
    { client: '203.0.113.6', refusals: 1 },
  ]);
  assert.deepEqual(wafCategories({ tags: ['paranoia-level/1'] }), ['other']);
  // older than the window: gone
  assert.deepEqual(v.snapshot(T0 + 6 * 60_000, null).refusals_by, []);
});

test('a refusal keeps its whole decision, with the query redacted, and is found by request id and by search', () => {
  const v = new LiveView();
  v.observe(
    record({
      id: 'abc-123',
      status: 400,
      query: 'token=s3cret&x=1',
      outcome: denied('validate', 'PC_ERR_VALIDATION', { reason: 'body invalid', errors: [{ pointer: '/body/name', reason: 'must be string' }] }),
      annotations: { auth: { result: 'ok', method: 'jwt' } },
    }),
  );
  v.observe(record({ id: 'waf-1', status: 403, path: '/search', outcome: denied('waf', 'PC_ERR_WAF_BLOCKED'), annotations: WAF_ANN }));
  const r = v.refusalById('abc-123', null);
  assert.ok(r !== null);
  assert.equal(r.stage, 'validate');
  assert.equal(r.code, 'PC_ERR_VALIDATION');
  assert.equal(r.query, 'token=[REDACTED]&x=1');
  assert.deepEqual(r.errors, [{ pointer: '/body/name', reason: 'must be string' }]);
  assert.deepEqual(r.annotations, { auth: { result: 'ok', method: 'jwt' } });
  assert.equal(r.waf, null);
  assert.deepEqual(v.refusalById('waf-1', null)?.waf?.['rules'], ['sqli-100']);
  assert.deepEqual(
    v.search('SQLI-100', 10, null).map((s) => s.id),
    ['waf-1'],
  );
  assert.deepEqual(
    v.search('', 10, null).map((s) => s.id),
    ['waf-1', 'abc-123'],
  );
  assert.equal(v.refusalById('nope', null), null);
});

test('only the last MAX_REFUSALS refusals are kept, and the id index forgets the ones dropped', () => {
  const v = new LiveView();
  for (let i = 0; i < MAX_REFUSALS + 10; i++) v.observe(record({ id: `r${i}`, status: 404, outcome: denied('route', 'PC_ERR_ROUTE_NOT_FOUND') }));
  assert.equal(v.refusalById('r0', null), null);
  assert.equal(v.refusalById('r9', null), null);
  assert.ok(v.refusalById('r10', null) !== null);
  assert.equal(v.search('', 10_000, null).length, MAX_REFUSALS);
});

test('maps stay bounded: clients beyond MAX_KEYS a minute are counted together, tenants beyond MAX_TENANTS share one series', () => {
  const v = new LiveView();
  for (let i = 0; i < MAX_KEYS + 50; i++)
    v.observe(record({ clientIp: `10.0.${i >> 8}.${i & 255}`, status: 404, outcome: denied('route', 'PC_ERR_ROUTE_NOT_FOUND') }));
  const clients = v.snapshot(T0 + 1000, null).top_clients;
  assert.deepEqual(clients[0], { client: OTHER, refusals: 50 });
  for (let i = 0; i < MAX_TENANTS + 5; i++) v.observe(record({ tenant: `t${i}` }));
  assert.equal(v.snapshot(T0 + 1000, `t${MAX_TENANTS - 1}`).totals.requests, 1);
  assert.equal(v.snapshot(T0 + 1000, OTHER).totals.requests, 5);
});

test("a tenant's view holds its own requests, refusals and offenders only", () => {
  const v = new LiveView();
  v.observe(record({ tenant: 'acme' }));
  v.observe(record({ tenant: 'acme', id: 'a-1', status: 403, clientIp: '203.0.113.1', outcome: denied('authorize', 'PC_ERR_FORBIDDEN') }));
  v.observe(record({ tenant: 'globex', id: 'g-1', status: 429, clientIp: '203.0.113.2', outcome: denied('limit.rate', 'PC_ERR_RATE_LIMITED') }));
  v.observe(record({ id: 'n-1', status: 401, outcome: denied('auth', 'PC_ERR_AUTH_REQUIRED') }));
  const acme = v.snapshot(T0 + 1000, 'acme');
  assert.equal(acme.totals.requests, 2);
  assert.deepEqual(acme.refusals_by, [{ stage: 'authorize', code: 'PC_ERR_FORBIDDEN', count: 1 }]);
  assert.deepEqual(acme.top_clients, [{ client: '203.0.113.1', refusals: 1 }]);
  assert.deepEqual(
    acme.recent_refusals.map((r) => r.id),
    ['a-1'],
  );
  assert.equal(v.refusalById('g-1', 'acme'), null);
  assert.ok(v.refusalById('g-1', 'globex') !== null);
  assert.deepEqual(
    v.search('', 10, 'globex').map((r) => r.id),
    ['g-1'],
  );
  const all = v.snapshot(T0 + 1000, null);
  assert.equal(all.totals.requests, 4);
  assert.equal(all.refusals_by.length, 3);
  assert.equal(v.snapshot(T0 + 1000, 'initech').totals.requests, 0);
});
