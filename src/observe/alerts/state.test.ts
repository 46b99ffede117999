import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INACTIVE, step, type AlertState } from './state.js';
import { RollingSeries } from './window.js';
import { retryDelayMs, retryable, signBody } from './webhook.js';
import { matches, ruleValue } from '../alerts.js';

function drive(holds: boolean[], rule: { for_ms: number; cooldown_ms: number }, stepMs = 1000): string[] {
  let s: AlertState = INACTIVE;
  const out: string[] = [];
  holds.forEach((h, i) => {
    const r = step(s, h, i * stepMs, rule);
    s = r.state;
    out.push(`${s.status}${r.event ? `:${r.event}` : ''}`);
  });
  return out;
}

test('an alert fires at once without a for duration and resolves when the condition stops', () => {
  assert.deepEqual(drive([false, true, true, false, false], { for_ms: 0, cooldown_ms: 0 }), [
    'inactive',
    'firing:fire',
    'firing',
    'inactive:resolve',
    'inactive',
  ]);
});

test('an alert stays pending for its for duration and never fires when the condition stops first', () => {
  assert.deepEqual(drive([true, true, true, false], { for_ms: 2000, cooldown_ms: 0 }), ['pending', 'pending', 'firing:fire', 'inactive:resolve']);
  assert.deepEqual(drive([true, false, true, true], { for_ms: 2000, cooldown_ms: 0 }), ['pending', 'inactive', 'pending', 'pending']);
});

test('within the cooldown a new firing is not notified, nor is its resolution', () => {
  assert.deepEqual(drive([true, false, true, false, false, false, true], { for_ms: 0, cooldown_ms: 5000 }), [
    'firing:fire',
    'inactive:resolve',
    'firing',
    'inactive',
    'inactive',
    'inactive',
    'firing:fire',
  ]);
});

test('a rolling series forgets what left the window', () => {
  const s = new RollingSeries(10000, true);
  for (let i = 0; i < 10; i++) s.add(1000 + i * 100, { matched: i % 2, latencyMs: i < 9 ? 5 : 900 });
  assert.deepEqual(s.totals(2000), { total: 10, matched: 5 });
  assert.equal(s.quantile(2000, 0.5), 5);
  assert.equal(s.quantile(2000, 0.95), 1000);
  assert.deepEqual(s.totals(11500), { total: 3, matched: 2 }); // 1700..1900 are still inside
  assert.deepEqual(s.totals(12500), { total: 0, matched: 0 });
  s.add(30000, { matched: 1, latencyMs: 1 });
  assert.deepEqual(s.totals(30000), { total: 1, matched: 1 });
});

test('rule metrics classify exchanges and compute rates and counts', () => {
  const x = { status: 401, decision: 'denied' as const, code: 'PC_ERR_AUTH_INVALID', routeId: 'r', consumer: null, tenant: null, latencyMs: 3 };
  assert.equal(matches({ metric: 'auth_failures' }, x), 1);
  assert.equal(matches({ metric: '4xx_rate' }, x), 1);
  assert.equal(matches({ metric: '5xx_rate' }, x), 0);
  assert.equal(matches({ metric: 'denials' }, x), 1);
  assert.equal(matches({ metric: 'waf_blocks' }, { ...x, status: 403, code: 'PC_ERR_WAF_BLOCKED' }), 1);
  assert.equal(matches({ metric: 'rate_limited' }, { ...x, status: 429, code: 'PC_ERR_RATE_LIMITED' }), 1);
  assert.equal(matches({ metric: 'auth_failures' }, { ...x, status: 503, code: 'PC_ERR_AUTH_UNAVAILABLE' }), 0);
  assert.equal(ruleValue({ metric: '5xx_rate' }, { total: 20, matched: 5 }, 0), 0.25);
  assert.equal(ruleValue({ metric: '5xx_rate' }, { total: 0, matched: 0 }, 0), 0);
  assert.equal(ruleValue({ metric: 'waf_blocks' }, { total: 20, matched: 5 }, 0), 5);
  assert.equal(ruleValue({ metric: 'p95_latency_ms' }, { total: 20, matched: 20 }, 250), 250);
});

test('webhook retries back off exponentially with jitter, on retryable statuses only', () => {
  assert.equal(retryDelayMs(1, 1000, 0.5), 1000);
  assert.equal(retryDelayMs(3, 1000, 0.5), 4000);
  assert.equal(retryDelayMs(1, 1000, 0), 800);
  assert.equal(retryDelayMs(1, 1000, 1), 1200);
  assert.equal(retryDelayMs(30, 1000, 0.5), 300000);
  assert.deepEqual([408, 429, 500, 503, 400, 401, 404].map(retryable), [true, true, true, true, false, false, false]);
});

test('the webhook signature is HMAC-SHA256 of the body (RFC 4231 test case 2)', () => {
  assert.equal(signBody('Jefe', 'what do ya want for nothing?'), 'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
});
