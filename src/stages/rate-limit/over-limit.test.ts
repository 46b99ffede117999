import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { agedResult, fingerprint, holdMs, OverLimitCache } from './over-limit.js';
import { bucketStep } from '../../store/decide.js';
import { MemoryStore } from '../../store/memory.js';
import type { LimitCheck, LimitResult } from '../../core/state.js';
import { tagPartOf } from './compile.js';

const bucket = (key: string, enforce = true): LimitCheck => ({ kind: 'bucket', key, intervalMs: 100, burst: 2, enforce });
const quota = (key: string): LimitCheck => ({ kind: 'quota', key, limit: 1, resetAt: 1_000_000, enforce: true });
const slots = (key: string): LimitCheck => ({ kind: 'concurrency', key, max: 1, leaseMs: 1000, enforce: true });
const refused = (checks: LimitResult['checks']): LimitResult => ({ allowed: false, checks, lease: null });
const no = (retryMs: number, resetMs = retryMs): LimitResult['checks'][number] => ({ ok: false, remaining: 0, resetMs, retryMs });
const yes = (remaining: number, resetMs = 50): LimitResult['checks'][number] => ({ ok: true, remaining, resetMs, retryMs: 0 });

test('a refusal holds for the shortest retry of its refusing bucket and quota limits, capped', () => {
  const checks = [bucket('a'), quota('b'), slots('c'), bucket('d', false)];
  assert.equal(holdMs(checks, refused([no(80), no(5000), no(1000), no(10)]), 60000), 80);
  assert.equal(holdMs(checks, refused([yes(1), no(5000), yes(0), no(10)]), 60000), 5000);
  assert.equal(holdMs(checks, refused([yes(1), no(500000), yes(0), yes(1)]), 60000), 60000);
});

test('a refusal by a concurrency limit alone, by a monitor limit, or an admission is not remembered', () => {
  const checks = [bucket('a'), slots('c'), bucket('d', false)];
  assert.equal(holdMs(checks, refused([yes(1), no(1000), yes(1)]), 60000), 0);
  assert.equal(holdMs(checks, { allowed: true, checks: [yes(1), yes(0), no(50)], lease: null }, 60000), 0);
  // a check whose master was down is decided elsewhere: its placeholder does not hold
  assert.equal(holdMs([bucket('a')], { ...refused([no(0)]), unavailable: [true] }, 60000), 0);
});

test('a remembered refusal is answered with its headers aged by the time passed', () => {
  const cache = new OverLimitCache(10, 60000);
  const checks = [bucket('a'), quota('b')];
  const fp = fingerprint(checks);
  cache.learn(fp, checks, refused([no(80, 180), yes(0, 5000)]), 1000);
  const e = cache.get(fp)!;
  assert.equal(e.until, 1080);
  const r = agedResult(e, 1030);
  assert.equal(r.allowed, false);
  assert.deepEqual(r.checks, [
    { ok: false, remaining: 0, resetMs: 150, retryMs: 50 },
    { ok: true, remaining: 0, resetMs: 4970, retryMs: 0 },
  ]);
});

test('fingerprints differ by key and by mode', () => {
  assert.notEqual(fingerprint([bucket('a')]), fingerprint([bucket('b')]));
  assert.notEqual(fingerprint([bucket('a')]), fingerprint([bucket('a', false)]));
  assert.notEqual(fingerprint([bucket('a'), bucket('b')]), fingerprint([bucket('ab')]));
});

test('the cache holds at most maxEntries fingerprints, least recently used out first', () => {
  const cache = new OverLimitCache(3, 60000);
  const learn = (k: string): void => cache.learn(k, [bucket(k)], refused([no(100)]), 0);
  learn('a');
  learn('b');
  learn('c');
  cache.get('a');
  learn('d');
  assert.equal(cache.size, 3);
  assert.ok(cache.get('a'));
  assert.equal(cache.get('b'), undefined);
  for (let i = 0; i < 1000; i++) learn(`x${i}`);
  assert.equal(cache.size, 3);
});

test('an admission that took the last token keeps the entry without a hold (one at a time); one with tokens left ends it', () => {
  const cache = new OverLimitCache(10, 60000);
  const checks = [bucket('a')];
  cache.learn('a', checks, refused([no(100)]), 0);
  cache.learn('a', checks, { allowed: true, checks: [yes(0)], lease: null }, 100);
  assert.equal(cache.get('a')?.until, 0);
  cache.learn('a', checks, { allowed: true, checks: [yes(1)], lease: null }, 200);
  assert.equal(cache.get('a'), undefined);
  // the end of a burst starts one
  cache.learn('b', checks, { allowed: true, checks: [yes(0)], lease: null }, 300);
  assert.equal(cache.get('b')?.until, 0);
});

test('in front of a token bucket, the cache never admits more than the bucket: random arrivals (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 5 }), (gaps, burst) => {
      // the shared store alone, and the same store behind the cache, see the same arrivals
      const alone = new MemoryStore({ maxEntries: 100 });
      const shared = new MemoryStore({ maxEntries: 100 });
      const cache = new OverLimitCache(10, 60000);
      const checks: LimitCheck[] = [{ kind: 'bucket', key: 'k', intervalMs: 30, burst, enforce: true }];
      const fp = fingerprint(checks);
      let t = 0;
      let admittedAlone = 0;
      let admittedCached = 0;
      for (const g of gaps) {
        t += g;
        if (alone.limitSync(checks, t).allowed) admittedAlone++;
        const e = cache.get(fp);
        if (e !== undefined && t < e.until) continue; // refused locally
        const r = shared.limitSync(checks, t);
        cache.learn(fp, checks, r, t);
        if (r.allowed) admittedCached++;
      }
      // the cache refuses only what the bucket would refuse: the same admissions, never more
      assert.equal(admittedCached, admittedAlone);
    }),
    { numRuns: 300 },
  );
  // and its hold is exactly the bucket's own retry time
  const step = bucketStep(130, 100, 30, 1);
  assert.equal(step.ok, false);
  assert.equal(step.retryMs, 30);
});

test('limit keys are tagged by the identity they count: consumer, claim, header, ip, tenant, else the key itself', () => {
  assert.equal(tagPartOf(['ip']), 0);
  assert.equal(tagPartOf(['route', 'ip']), 1);
  assert.equal(tagPartOf(['tenant', 'consumer']), 1);
  assert.equal(tagPartOf(['route', 'claim:org']), 1);
  assert.equal(tagPartOf(['header:x-api-key', 'ip']), 0);
  assert.equal(tagPartOf(['route', 'method']), -1);
});
