import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  bucketStep,
  quotaStep,
  concurrencyStep,
  decideChecks,
  parseRate,
  quotaWindow,
  encodeKeyPart,
  claimPart,
  policyItem,
  limitItem,
  bucketWindowSeconds,
  retryAfterSeconds,
  pickRefusal,
} from './decide.js';
import type { LimitCheck } from '../../core/state.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

/** Runs a bucket over arrival times; returns how many were allowed. */
function runBucket(arrivals: readonly number[], intervalMs: number, burst: number): number {
  let tat: number | undefined;
  let allowed = 0;
  for (const t of arrivals) {
    const r = bucketStep(tat, t, intervalMs, burst);
    if (r.ok) {
      allowed++;
      tat = r.nextTat;
    }
  }
  return allowed;
}

test('a new bucket starts full: 200 simultaneous requests at 25/s burst 50 allow exactly 50', () => {
  assert.equal(runBucket(new Array<number>(200).fill(T0), 40, 50), 50);
});

test('constant overload for 10 s at 25/s burst 50 allows 50 + 25 x 10', () => {
  const arrivals: number[] = [];
  for (let t = 0; t < 10000; t += 2) arrivals.push(T0 + t); // 500 requests/s
  const allowed = runBucket(arrivals, 40, 50);
  assert.ok(Math.abs(allowed - 300) <= 1, `allowed ${allowed}`);
});

test('bucket steps report remaining tokens, time to full, and retry time (table)', () => {
  const rows: { tat: number | undefined; now: number; ok: boolean; remaining: number; resetMs: number; retryMs: number }[] = [
    // fresh key: full bucket of 50, one used
    { tat: undefined, now: T0, ok: true, remaining: 49, resetMs: 40, retryMs: 0 },
    // 49 used before (tat = now + 49*40): the 50th passes with 0 left
    { tat: T0 + 49 * 40, now: T0, ok: true, remaining: 0, resetMs: 2000, retryMs: 0 },
    // empty bucket: refused, retry when one token is back (40 ms)
    { tat: T0 + 50 * 40, now: T0, ok: false, remaining: 0, resetMs: 2000, retryMs: 40 },
    // 20 ms later: 20 ms to wait
    { tat: T0 + 50 * 40, now: T0 + 20, ok: false, remaining: 0, resetMs: 1980, retryMs: 20 },
    // old state in the past counts as a full bucket
    { tat: T0 - 100000, now: T0, ok: true, remaining: 49, resetMs: 40, retryMs: 0 },
  ];
  for (const r of rows) {
    const s = bucketStep(r.tat, r.now, 40, 50);
    assert.deepEqual(
      { ok: s.ok, remaining: s.remaining, resetMs: s.resetMs, retryMs: s.retryMs },
      { ok: r.ok, remaining: r.remaining, resetMs: r.resetMs, retryMs: r.retryMs },
    );
  }
});

test('a bucket refills at its rate and never holds more than burst', () => {
  // drain, wait 1 s: 25 tokens back
  const arrivals = [...new Array<number>(50).fill(T0), ...new Array<number>(100).fill(T0 + 1000)];
  assert.equal(runBucket(arrivals, 40, 50), 75);
  // a long idle period refills to burst only
  const idle = [...new Array<number>(50).fill(T0), ...new Array<number>(100).fill(T0 + 3600000)];
  assert.equal(runBucket(idle, 40, 50), 100);
});

test('fractional intervals (3/s) do not lose or gain tokens to rounding', () => {
  const interval = 1000 / 3;
  assert.equal(runBucket(new Array<number>(10).fill(T0), interval, 3), 3);
  const s = bucketStep(undefined, T0, interval, 3);
  assert.equal(s.remaining, 2);
});

test('in any time span a bucket allows at most burst + rate x span (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 300 }),
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 5, max: 500 }),
      (offsets, burst, interval) => {
        const times = offsets.map((o) => T0 + o).sort((a, b) => a - b);
        let tat: number | undefined;
        const allowedAt: number[] = [];
        for (const t of times) {
          const r = bucketStep(tat, t, interval, burst);
          if (r.ok) {
            tat = r.nextTat;
            allowedAt.push(t);
          }
        }
        for (let i = 0; i < allowedAt.length; i++) {
          for (let j = i; j < allowedAt.length; j++) {
            const span = allowedAt[j]! - allowedAt[i]!;
            if (j - i + 1 > burst + Math.floor(span / interval)) return false;
          }
        }
        return true;
      },
    ),
    { numRuns: 200 },
  );
});

test('a quota allows its 1,000th request and refuses the 1,001st until the window ends', () => {
  const reset = Date.UTC(2026, 10, 29);
  assert.deepEqual(quotaStep(999, T0, 1000, reset), { ok: true, remaining: 0, resetMs: reset - T0, retryMs: 0 });
  assert.deepEqual(quotaStep(1000, T0, 1000, reset), { ok: false, remaining: 0, resetMs: reset - T0, retryMs: reset - T0 });
});

test('concurrency refuses at the cap and hints a retry', () => {
  assert.deepEqual(concurrencyStep(4, 5), { ok: true, remaining: 0, resetMs: 0, retryMs: 0 });
  assert.equal(concurrencyStep(5, 5).ok, false);
  assert.ok(concurrencyStep(5, 5).retryMs > 0);
});

test('UTC calendar windows end at the next midnight and the first of next month (table)', () => {
  const rows: { now: number; per: 'day' | 'month'; id: string; resetAt: number }[] = [
    { now: Date.UTC(2026, 10, 28, 23, 59, 59, 999), per: 'day', id: 'd20261128', resetAt: Date.UTC(2026, 10, 29) },
    { now: Date.UTC(2026, 10, 29), per: 'day', id: 'd20261129', resetAt: Date.UTC(2026, 10, 30) },
    { now: Date.UTC(2026, 11, 31, 12), per: 'day', id: 'd20261231', resetAt: Date.UTC(2027, 0, 1) },
    { now: Date.UTC(2026, 11, 15), per: 'month', id: 'm202612', resetAt: Date.UTC(2027, 0, 1) },
    { now: Date.UTC(2028, 1, 29, 10), per: 'month', id: 'm202802', resetAt: Date.UTC(2028, 2, 1) },
    { now: Date.UTC(2028, 1, 29, 10), per: 'day', id: 'd20280229', resetAt: Date.UTC(2028, 2, 1) },
  ];
  for (const r of rows) {
    const w = quotaWindow(r.now, r.per);
    assert.equal(w.id, r.id);
    assert.equal(w.resetAt, r.resetAt);
    assert.ok(w.start <= r.now && r.now < w.resetAt);
  }
});

test('all limits of a request pass or none is consumed', () => {
  const checks: LimitCheck[] = [
    { kind: 'bucket', key: 'a', intervalMs: 100, burst: 10, enforce: true },
    { kind: 'quota', key: 'q', limit: 5, resetAt: T0 + 1000, enforce: true },
    { kind: 'concurrency', key: 'c', max: 2, leaseMs: 1000, enforce: true },
  ];
  const pass = decideChecks(checks, [undefined, 4, 1], T0);
  assert.equal(pass.allowed, true);
  assert.deepEqual(pass.next, [T0 + 100, 5, 2]);
  const quotaFull = decideChecks(checks, [undefined, 5, 1], T0);
  assert.equal(quotaFull.allowed, false);
  assert.ok(
    quotaFull.next.every((n) => Number.isNaN(n)),
    'nothing is committed',
  );
  assert.equal(quotaFull.checks[0]!.ok, true);
  assert.equal(quotaFull.checks[1]!.ok, false);
});

test('a failing monitor check neither blocks nor is committed; passing ones are', () => {
  const checks: LimitCheck[] = [
    { kind: 'bucket', key: 'a', intervalMs: 100, burst: 10, enforce: true },
    { kind: 'quota', key: 'q', limit: 5, resetAt: T0 + 1000, enforce: false },
  ];
  const d = decideChecks(checks, [undefined, 5], T0);
  assert.equal(d.allowed, true);
  assert.equal(d.next[0], T0 + 100);
  assert.ok(Number.isNaN(d.next[1]!));
});

test('rates parse from strings and objects, and malformed ones are refused (table)', () => {
  const rows: [unknown, { requests: number; periodMs: number } | null][] = [
    ['25/s', { requests: 25, periodMs: 1000 }],
    ['25 / second', { requests: 25, periodMs: 1000 }],
    ['1500/min', { requests: 1500, periodMs: 60000 }],
    ['100/m', { requests: 100, periodMs: 60000 }],
    ['10/hour', { requests: 10, periodMs: 3600000 }],
    ['0.5/s', { requests: 0.5, periodMs: 1000 }],
    [
      { requests: 3, per: 'minute' },
      { requests: 3, periodMs: 60000 },
    ],
    ['0/s', null],
    ['25/day', null],
    ['-1/s', null],
    ['25', null],
    [{ requests: 3, per: 'fortnight' }, null],
    [42, null],
  ];
  for (const [input, want] of rows) {
    const r = parseRate(input);
    assert.deepEqual(r === null ? null : { requests: r.requests, periodMs: r.periodMs }, want, JSON.stringify(input));
  }
});

test('key parts keep safe characters, escape the rest, and hash long values', () => {
  assert.equal(encodeKeyPart('10.0.0.1'), '10.0.0.1');
  assert.equal(encodeKeyPart('2001:db8::1'), '2001:db8::1');
  assert.equal(encodeKeyPart('a|b{c}%'), 'a%7Cb%7Bc%7D%25');
  assert.equal(encodeKeyPart("x!'()*~"), 'x%21%27%28%29%2A%7E');
  const long = encodeKeyPart('v'.repeat(500));
  assert.ok(long.startsWith('#') && long.length < 30);
  assert.notEqual(encodeKeyPart('v'.repeat(500)), encodeKeyPart(`${'v'.repeat(499)}w`));
  // the IP fallback marker '~' and the hash marker '#' never appear in an encoded value
  assert.ok(!encodeKeyPart('~10.0.0.1').includes('~'));
  assert.ok(!encodeKeyPart('#abc').includes('#'));
});

test('claim values become key parts: scalars as text, objects hashed, empty ones missing', () => {
  assert.equal(claimPart('gold'), 'gold');
  assert.equal(claimPart(42), '42');
  assert.equal(claimPart(true), 'true');
  assert.equal(claimPart(''), null);
  assert.equal(claimPart(undefined), null);
  assert.match(claimPart({ a: 1 })!, /^#/);
});

test('RateLimit and RateLimit-Policy items are structured-field lists (draft-ietf-httpapi-ratelimit-headers)', () => {
  assert.equal(policyItem('per-ip', 50, bucketWindowSeconds(50, 40)), '"per-ip";q=50;w=2');
  assert.equal(policyItem('daily', 1000, 86400), '"daily";q=1000;w=86400');
  assert.equal(policyItem('slots', 5, null, 'concurrent-requests'), '"slots";q=5;qu="concurrent-requests"');
  assert.equal(limitItem('per-ip', { ok: true, remaining: 49, resetMs: 40, retryMs: 0 }, true), '"per-ip";r=49;t=1');
  assert.equal(limitItem('slots', { ok: true, remaining: 4, resetMs: 0, retryMs: 0 }, false), '"slots";r=4');
});

test('Retry-After is whole seconds, at least 1, rounded up', () => {
  assert.equal(retryAfterSeconds(40), 1);
  assert.equal(retryAfterSeconds(1000), 1);
  assert.equal(retryAfterSeconds(1001), 2);
  assert.equal(retryAfterSeconds(43200000), 43200);
});

test('the refusal with the longest wait decides the reply; monitor checks never do', () => {
  const r = (ok: boolean, retryMs: number) => ({ ok, remaining: 0, resetMs: 0, retryMs });
  assert.equal(pickRefusal([true, true], [r(false, 40), r(false, 5000)]), 1);
  assert.equal(pickRefusal([true, false], [r(false, 40), r(false, 5000)]), 0);
  assert.equal(pickRefusal([true], [r(true, 0)]), -1);
});
