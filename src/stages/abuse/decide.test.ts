import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  banDurationMs,
  classify,
  observeRate,
  parseVerdict,
  planActions,
  rateScore,
  retryAfterSeconds,
  rollMemo,
  slidingEstimate,
  triggered,
  type Baseline,
  type Exchange,
  type Trigger,
} from './decide.js';
import type { DetectorConfig } from './schema.js';

const ex = (over: Partial<Exchange>): Exchange => ({ status: 200, decision: 'allowed', code: null, routeId: null, params: {}, path: '/', ...over });
const det = (over: Partial<DetectorConfig> = {}): DetectorConfig => ({
  mode: 'enforce',
  threshold: 10,
  window_ms: 60000,
  action: 'ban',
  min_requests: 0,
  warmup_buckets: 1,
  ...over,
});

test('classify reads each signal from the exchange', () => {
  const cases: [string, Partial<Exchange>, Partial<ReturnType<typeof classify>>][] = [
    ['gateway auth failure', { status: 401, decision: 'denied', code: 'PC_ERR_AUTH_TOKEN_EXPIRED' }, { authFailure: true, clientError: true }],
    ['upstream 401 (a failed login)', { status: 401 }, { authFailure: true }],
    [
      "auth backend down is not the client's failure",
      { status: 503, decision: 'denied', code: 'PC_ERR_AUTH_UNAVAILABLE' },
      { authFailure: false, serverError: true },
    ],
    ['unrouted 404', { status: 404, decision: 'denied', code: 'PC_ERR_ROUTE_NOT_FOUND' }, { notFound: true, clientError: true }],
    ['waf block', { status: 403, decision: 'denied', code: 'PC_ERR_WAF_BLOCKED' }, { wafHit: true }],
    ['rate limit', { status: 429, decision: 'denied', code: 'PC_ERR_RATE_LIMITED' }, { rateLimited: true }],
    ['quota', { status: 429, decision: 'denied', code: 'PC_ERR_QUOTA_EXCEEDED' }, { rateLimited: true }],
    ['http/2 flood', { status: 429, decision: 'denied', code: 'PC_ERR_HTTP2_FLOOD' }, { h2Flood: true, rateLimited: false }],
    ['upstream 500', { status: 500 }, { serverError: true, clientError: false }],
    [
      'plain success',
      { status: 200 },
      { authFailure: false, clientError: false, serverError: false, notFound: false, wafHit: false, rateLimited: false, h2Flood: false },
    ],
  ];
  for (const [name, input, want] of cases) {
    const got = classify(ex(input));
    assert.equal(got.counted, true, name);
    for (const [k, v] of Object.entries(want)) assert.equal(got[k as keyof typeof got], v, `${name}: ${k}`);
  }
});

test('exchanges refused by an earlier verdict are never counted again', () => {
  for (const code of ['PC_ERR_CLIENT_BANNED', 'PC_ERR_IP_DENIED', 'PC_ERR_THROTTLED']) {
    assert.equal(classify(ex({ status: 403, decision: 'denied', code })).counted, false, code);
  }
});

test('the object key names the route and its parameter values in name order', () => {
  const a = classify(ex({ routeId: 'items', params: { b: '2', a: '1' } })).objectKey;
  const b = classify(ex({ routeId: 'items', params: { a: '1', b: '2' } })).objectKey;
  assert.equal(a, b);
  assert.notEqual(a, classify(ex({ routeId: 'items', params: { a: '1', b: '3' } })).objectKey);
  assert.equal(classify(ex({ routeId: 'items', params: {} })).objectKey, null);
  assert.equal(classify(ex({ routeId: null, params: { a: '1' } })).objectKey, null);
});

test('rollMemo keeps the current and previous bucket values', () => {
  let m = rollMemo(undefined, 10, 1);
  assert.deepEqual(m, { bucket: 10, cur: 1, prev: 0 });
  m = rollMemo(m, 10, 5);
  assert.deepEqual(m, { bucket: 10, cur: 5, prev: 0 });
  m = rollMemo(m, 10, 3); // a late, smaller read does not lower the count
  assert.equal(m.cur, 5);
  m = rollMemo(m, 11, 2);
  assert.deepEqual(m, { bucket: 11, cur: 2, prev: 5 });
  assert.deepEqual(rollMemo(m, 13, 1), { bucket: 13, cur: 1, prev: 0 });
  assert.equal(rollMemo(m, 9, 100), m);
});

test('the sliding estimate weighs the previous bucket by the part still inside the window', () => {
  const m = { bucket: 2, cur: 10, prev: 20 };
  assert.equal(slidingEstimate(m, 2000, 1000), 30); // start of bucket 2: all of the previous bucket
  assert.equal(slidingEstimate(m, 2500, 1000), 20); // halfway
  assert.equal(slidingEstimate(m, 3500, 1000), 5); // next bucket, memo not refreshed yet
  assert.equal(slidingEstimate(m, 5000, 1000), 0);
});

test('triggered compares with the threshold and honours mode and min_requests', () => {
  assert.equal(triggered(det(), 10), true);
  assert.equal(triggered(det(), 9.99), false);
  assert.equal(triggered(det({ mode: 'off' }), 100), false);
  assert.equal(triggered(det({ mode: 'monitor' }), 100), true);
  assert.equal(triggered(det({ threshold: 0.8, min_requests: 50 }), 0.9, 49), false);
  assert.equal(triggered(det({ threshold: 0.8, min_requests: 50 }), 0.9, 50), true);
});

test('planActions: the strongest enforced action wins, monitor only reports, allow list gets nothing', () => {
  const t = (detector: Trigger['detector'], over: Partial<DetectorConfig>): Trigger => ({ detector, value: 1, config: det(over) });
  const none = { allowListed: false, banned: false, throttled: false };
  const rows: [string, Trigger[], typeof none, string[]][] = [
    ['ban beats throttle', [t('enumeration', { action: 'throttle' }), t('scanning', { action: 'ban' })], none, ['ban:scanning']],
    ['throttle alone', [t('rate_limited', { action: 'throttle' })], none, ['throttle:rate_limited']],
    ['alert plus ban', [t('errors_5xx', { action: 'alert' }), t('waf_hits', { action: 'ban' })], none, ['alert:errors_5xx', 'ban:waf_hits']],
    ['monitor reports', [t('auth_failures', { mode: 'monitor', action: 'ban' })], none, ['would:auth_failures']],
    ['already banned', [t('scanning', { action: 'ban' })], { ...none, banned: true }, []],
    ['banned is not throttled', [t('rate_limited', { action: 'throttle' })], { ...none, banned: true }, []],
    ['throttled can still be banned', [t('scanning', { action: 'ban' })], { ...none, throttled: true }, ['ban:scanning']],
    ['allow-listed', [t('scanning', { action: 'ban' }), t('errors_5xx', { action: 'alert' })], { ...none, allowListed: true }, []],
    ['off is ignored', [t('scanning', { mode: 'off', action: 'ban' })], none, []],
  ];
  for (const [name, triggers, client, want] of rows) {
    assert.deepEqual(
      planActions(triggers, client).map((p) => `${p.kind}:${p.detector}`),
      want,
      name,
    );
  }
});

test('ban durations escalate by the factor and stop at the maximum', () => {
  const cfg = { base_ms: 1000, factor: 4, max_ms: 20000, memory_ms: 60000 };
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => banDurationMs(n, cfg)),
    [1000, 4000, 16000, 20000],
  );
  assert.equal(banDurationMs(0, cfg), 1000);
});

test('a steady request rate never scores, a sudden multiple of it does', () => {
  const cfg = { min_requests: 10, warmup_buckets: 3 };
  let b: Baseline | undefined;
  const bucket = 1000;
  let maxScore = 0;
  // 50 requests per bucket for 20 buckets, starting mid-bucket
  for (let t = 500; t < 20 * bucket; t += bucket / 50) {
    b = observeRate(b, t, bucket);
    maxScore = Math.max(maxScore, rateScore(b, cfg));
  }
  assert.ok(maxScore < 1, `steady score ${maxScore}`);
  // then 10x in one bucket
  const start = 20 * bucket;
  for (let i = 0; i < 500; i++) b = observeRate(b, start + i, bucket);
  assert.ok(b && rateScore(b, cfg) > 8, `spike score ${b ? rateScore(b, cfg) : 0}`);
});

test('no score during warm-up or below min_requests', () => {
  const b: Baseline = { mean: 1, variance: 0, buckets: 2, bucket: 5, count: 1000 };
  assert.equal(rateScore(b, { min_requests: 0, warmup_buckets: 3 }), 0);
  assert.equal(rateScore({ ...b, buckets: 3 }, { min_requests: 1001, warmup_buckets: 3 }), 0);
  assert.ok(rateScore({ ...b, buckets: 3 }, { min_requests: 1000, warmup_buckets: 3 }) > 100);
});

test('idle gaps are not folded into the baseline', () => {
  let b: Baseline | undefined;
  for (let k = 0; k < 10; k++) for (let i = 0; i < 100; i++) b = observeRate(b, k * 1000 + i, 1000);
  const before = b?.mean ?? 0;
  // silent for 100 buckets, then back at the usual rate
  for (let i = 0; i < 100; i++) b = observeRate(b, 110000 + i, 1000);
  assert.ok(b && Math.abs(b.mean - before) < 1, `mean ${b?.mean} vs ${before}`);
  assert.ok(b && rateScore(b, { min_requests: 0, warmup_buckets: 1 }) < 1);
});

test('parseVerdict accepts stored verdicts and rejects anything else', () => {
  const v = { kind: 'ban', client: '1.2.3.4', until: 5, since: 1, reason: 'r', source: 'scanning', offence: 2, by: null, tenant: null };
  assert.deepEqual(parseVerdict(JSON.stringify(v)), v);
  const owned = { ...v, client: 'consumer:alice', tenant: 'acme' };
  assert.deepEqual(parseVerdict(JSON.stringify(owned)), owned, 'the tenant of a verdict is kept');
  const { tenant: _, ...older } = v;
  assert.deepEqual(parseVerdict(JSON.stringify(older)), v, 'a verdict stored before tenants belongs to none');
  assert.equal(parseVerdict('{"kind":"nope","client":"x","until":1}'), null);
  assert.equal(parseVerdict('not json'), null);
  assert.equal(parseVerdict(null), null);
  assert.equal(parseVerdict('x'.repeat(5000)), null);
});

test('Retry-After is the rounded-up remaining time, at least one second', () => {
  assert.equal(retryAfterSeconds(10500, 10000), 1);
  assert.equal(retryAfterSeconds(12001, 10000), 3);
  assert.equal(retryAfterSeconds(9000, 10000), 1);
});
