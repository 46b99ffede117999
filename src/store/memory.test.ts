import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from './memory.js';
import type { LimitCheck } from '../core/state.js';

const T0 = Date.UTC(2026, 10, 28, 12);

function clockAt(t: number): { now: () => number; set(v: number): void } {
  let v = t;
  return { now: () => v, set: (x) => (v = x) };
}

test('once() accepts a key the first time, refuses it within the TTL and accepts it after', async () => {
  const c = clockAt(T0);
  const s = new MemoryStore({ maxEntries: 100, clock: c.now });
  assert.equal(await s.once('nonce:a', 1000), true);
  assert.equal(await s.once('nonce:a', 1000), false);
  c.set(T0 + 999);
  assert.equal(await s.once('nonce:a', 1000), false);
  c.set(T0 + 1000);
  assert.equal(await s.once('nonce:a', 1000), true);
});

test('incr() counts within a window that starts at the first increment', async () => {
  const c = clockAt(T0);
  const s = new MemoryStore({ maxEntries: 100, clock: c.now });
  assert.equal(await s.incr('k', 1000), 1);
  c.set(T0 + 500);
  assert.equal(await s.incr('k', 1000, 5), 6);
  c.set(T0 + 1000);
  assert.equal(await s.incr('k', 1000), 1);
});

test('set/get/del/scan keep values with expiry, list by prefix and stop at max', async () => {
  const c = clockAt(T0);
  const s = new MemoryStore({ maxEntries: 100, clock: c.now });
  await s.set('ban:1.1.1.1', 'abuse', 1000);
  await s.set('ban:2.2.2.2', 'waf', 5000);
  await s.set('other', 'x', 5000);
  assert.equal(await s.get('ban:1.1.1.1'), 'abuse');
  const all = await s.scan('ban:', 10);
  assert.deepEqual(all.map((e) => e.key).sort(), ['ban:1.1.1.1', 'ban:2.2.2.2']);
  assert.equal(all.find((e) => e.key === 'ban:2.2.2.2')!.ttlMs, 5000);
  assert.equal((await s.scan('ban:', 1)).length, 1);
  c.set(T0 + 1000);
  assert.equal(await s.get('ban:1.1.1.1'), null);
  await s.del('ban:2.2.2.2');
  assert.deepEqual(await s.scan('ban:', 10), []);
});

test('the least recently used key is evicted at the cap, a recently used one survives', () => {
  const s = new MemoryStore({ maxEntries: 3 });
  s.setSync('a', '1', 60000);
  s.setSync('b', '2', 60000);
  s.setSync('c', '3', 60000);
  s.incrSync('a', 60000); // touch a
  s.setSync('d', '4', 60000);
  assert.equal(s.size, 3);
  assert.equal(s.getSync('b'), null);
  assert.equal(s.getSync('a'), '2');
});

test('1,000,000 distinct client IPs keep the entry count at the cap', () => {
  const cap = 10000;
  const s = new MemoryStore({ maxEntries: cap });
  const check: { kind: 'bucket'; key: string; intervalMs: number; burst: number; enforce: boolean } = {
    kind: 'bucket',
    key: '',
    intervalMs: 40,
    burst: 50,
    enforce: true,
  };
  const checks = [check];
  let maxSeen = 0;
  for (let i = 0; i < 1_000_000; i++) {
    check.key = `b:g:per-ip:ip=10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
    const r = s.limitSync(checks, T0);
    if (!r.allowed) throw new Error('a new key must start with a full bucket');
    if ((i & 4095) === 0 && s.limitKeys > maxSeen) maxSeen = s.limitKeys;
  }
  assert.equal(s.limitKeys, cap);
  assert.equal(s.size, cap);
  assert.ok(maxSeen <= cap);
});

test('a request refused by one limit consumes nothing from the others', () => {
  const s = new MemoryStore({ maxEntries: 100 });
  const a: LimitCheck = { kind: 'bucket', key: 'a', intervalMs: 1000, burst: 10, enforce: true };
  const b: LimitCheck = { kind: 'bucket', key: 'b', intervalMs: 1000, burst: 2, enforce: true };
  let allowed = 0;
  for (let i = 0; i < 5; i++) if (s.limitSync([a, b], T0).allowed) allowed++;
  assert.equal(allowed, 2);
  // a spent only 2 of 10 tokens
  const r = s.limitSync([a], T0);
  assert.equal(r.checks[0]!.remaining, 7);
});

test('concurrency slots are held until released, and the in-flight table forgets idle keys', () => {
  const s = new MemoryStore({ maxEntries: 100 });
  const c: LimitCheck = { kind: 'concurrency', key: 'c:x', max: 2, leaseMs: 1000, enforce: true };
  const r1 = s.limitSync([c], T0);
  const r2 = s.limitSync([c], T0);
  const r3 = s.limitSync([c], T0);
  assert.deepEqual([r1.allowed, r2.allowed, r3.allowed], [true, true, false]);
  assert.equal(r3.lease, null);
  s.release(r1.lease!);
  assert.equal(s.limitSync([c], T0).allowed, true);
  s.release(r2.lease!);
  assert.equal(s.inFlightKeys, 1);
});

test('a full in-flight table refuses new concurrency keys instead of dropping counts', () => {
  const s = new MemoryStore({ maxEntries: 2 });
  const mk = (k: string): LimitCheck => ({ kind: 'concurrency', key: k, max: 5, leaseMs: 1000, enforce: true });
  assert.equal(s.limitSync([mk('a')], T0).allowed, true);
  assert.equal(s.limitSync([mk('b')], T0).allowed, true);
  assert.equal(s.limitSync([mk('c')], T0).allowed, false);
  assert.equal(s.limitSync([mk('a')], T0).allowed, true);
});

test('a flood of rate-limit keys from rotating IPs does not evict replay nonces or bans', async () => {
  const s = new MemoryStore({ maxEntries: 100 });
  assert.equal(await s.once('jti:abc', 60000), true);
  await s.set('ban:1.2.3.4', 'abuse', 60000);
  const check: { kind: 'bucket'; key: string; intervalMs: number; burst: number; enforce: boolean } = {
    kind: 'bucket',
    key: '',
    intervalMs: 40,
    burst: 50,
    enforce: true,
  };
  for (let i = 0; i < 1000; i++) {
    check.key = `b:g:per-ip:ip=10.0.${i >> 8}.${i & 255}`;
    s.limitSync([check], Date.now());
  }
  assert.equal(s.limitKeys, 100);
  assert.equal(await s.once('jti:abc', 60000), false, 'the nonce is still known: no replay');
  assert.equal(await s.get('ban:1.2.3.4'), 'abuse');
});

test('hash53 spreads keys: 200,000 distinct IP keys give no collision, and the seed changes every hash', async () => {
  const { hash53 } = await import('./memory.js');
  const seen = new Set<number>();
  for (let i = 0; i < 200_000; i++) seen.add(hash53(`b:g:per-ip:ip=10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`, 12345));
  assert.equal(seen.size, 200_000);
  assert.notEqual(hash53('b:g:x', 1), hash53('b:g:x', 2));
  assert.ok(Number.isSafeInteger(hash53('x'.repeat(1000), 7)));
});
