import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import fc from 'fast-check';
import { RedisStore } from '../../src/store/redis.js';
import { decideChecks } from '../../src/store/decide.js';
import { StoreUnavailableError, type LimitCheck } from '../../src/core/state.js';
import { startPrivateRedis } from './redis-server.js';
import { redisUrl } from '../helpers/redis.js';

const logger = pino({ level: 'silent' });
const PREFIX = `pctest:${randomBytes(4).toString('hex')}:`;
// Simulated clocks start tomorrow (UTC): quota keys expire in Redis at their reset time, which
// Redis compares with its own clock, so a simulated time must never lie in the real past.
const DAY = 86_400_000;
const TOMORROW = Math.floor(Date.now() / DAY) * DAY + DAY;
const T0 = TOMORROW + 12 * 3_600_000;

const stores: RedisStore[] = [];
function store(url = redisUrl(), extra: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}): RedisStore {
  const s = new RedisStore({ url, keyPrefix: PREFIX, connectTimeoutMs: 1000, commandTimeoutMs: 500, reconnectMaxDelayMs: 200, logger, ...extra });
  stores.push(s);
  return s;
}

async function ready(s: RedisStore, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!s.healthy()) {
    if (Date.now() > deadline) throw new Error('redis store not ready');
    await new Promise((r) => setTimeout(r, 10));
  }
}

after(async () => {
  const admin = new Redis(redisUrl());
  const keys = await admin.keys(`${PREFIX}*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
  for (const s of stores) await s.close();
});

test('once/incr/set/get/del/scan work against a real Redis with the key prefix', async () => {
  const s = store();
  await ready(s);
  assert.equal(await s.once('nonce:1', 10000), true);
  assert.equal(await s.once('nonce:1', 10000), false);
  assert.equal(await s.incr('cnt', 10000), 1);
  assert.equal(await s.incr('cnt', 10000, 4), 5);
  await s.set('ban:1.2.3.4', 'waf', 60000);
  await s.set('ban:5.6.7.8', 'abuse', 60000);
  assert.equal(await s.get('ban:1.2.3.4'), 'waf');
  const bans = await s.scan('ban:', 10);
  assert.deepEqual(bans.map((b) => b.key).sort(), ['ban:1.2.3.4', 'ban:5.6.7.8']);
  assert.ok(bans.every((b) => b.ttlMs > 0 && b.ttlMs <= 60000));
  assert.equal((await s.scan('ban:', 1)).length, 1);
  await s.del('ban:1.2.3.4');
  assert.equal(await s.get('ban:1.2.3.4'), null);
  // glob characters in a prefix are literal
  assert.deepEqual(await s.scan('ban*', 10), []);
});

test('the Lua script decides exactly like decide.ts on random request sequences', async () => {
  const s = store();
  await ready(s);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ dt: fc.integer({ min: 0, max: 300 }), which: fc.subarray([0, 1, 2], { minLength: 1 }) }), { minLength: 1, maxLength: 40 }),
      async (steps) => {
        run++;
        const defs: LimitCheck[] = [
          { kind: 'bucket', key: `eq${run}:b`, intervalMs: 1000 / 7, burst: 3, enforce: true },
          { kind: 'quota', key: `eq${run}:q`, limit: 12, resetAt: T0 + 100000, enforce: true },
          { kind: 'bucket', key: `eq${run}:m`, intervalMs: 100, burst: 2, enforce: false },
        ];
        const state = new Map<string, number>();
        let now = T0;
        for (const step of steps) {
          now += step.dt;
          const checks = step.which.map((i) => defs[i]!);
          const states = checks.map((c) => {
            const v = state.get(c.key);
            return c.kind === 'bucket' && v !== undefined && v <= now ? undefined : v;
          });
          const want = decideChecks(checks, states, now);
          const got = await s.limit(checks, now);
          if (got.allowed !== want.allowed) return false;
          for (let i = 0; i < checks.length; i++) {
            const g = got.checks[i]!;
            const w = want.checks[i]!;
            if (g.ok !== w.ok || g.remaining !== w.remaining || g.retryMs !== Math.ceil(w.retryMs) || g.resetMs !== Math.ceil(w.resetMs)) return false;
            if (!Number.isNaN(want.next[i]!)) state.set(checks[i]!.key, want.next[i]!);
          }
        }
        return true;
      },
    ),
    { numRuns: 25 },
  );
});

test('200 simultaneous decisions from four Redis clients at 25/s burst 50 allow exactly 50', async () => {
  const clients = [store(), store(), store(), store()];
  await Promise.all(clients.map((c) => ready(c)));
  const check: LimitCheck = { kind: 'bucket', key: 'burst200', intervalMs: 40, burst: 50, enforce: true };
  const now = Date.now();
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => clients[i % 4]!.limit([check], now)));
  assert.equal(results.filter((r) => r.allowed).length, 50);
});

test('constant overload for 10 s (simulated clock) from four clients allows 50 + 25 x 10 within 2%', async () => {
  const clients = [store(), store(), store(), store()];
  await Promise.all(clients.map((c) => ready(c)));
  const check: LimitCheck = { kind: 'bucket', key: 'overload', intervalMs: 40, burst: 50, enforce: true };
  let allowed = 0;
  // 400 requests/s: every 10 ms, four clients at once
  for (let t = 0; t < 10000; t += 10) {
    const rs = await Promise.all(clients.map((c) => c.limit([check], T0 + t)));
    allowed += rs.filter((r) => r.allowed).length;
  }
  assert.ok(Math.abs(allowed - 300) <= 6, `allowed ${allowed}`);
});

test('a 1,000/day quota refuses the 1,001st request until the next UTC midnight', async () => {
  const s = store();
  await ready(s);
  const now = TOMORROW + 18.5 * 3_600_000;
  const midnight = TOMORROW + DAY;
  const check: LimitCheck = { kind: 'quota', key: `q:daily:d${TOMORROW}`, limit: 1000, resetAt: midnight, enforce: true };
  const batch = await Promise.all(Array.from({ length: 1000 }, () => s.limit([check], now)));
  assert.equal(batch.filter((r) => r.allowed).length, 1000);
  const r = await s.limit([check], now);
  assert.equal(r.allowed, false);
  assert.equal(r.checks[0]!.retryMs, midnight - now);
});

test('concurrency slots are shared across clients, released by lease, and expire after the lease time', async () => {
  const a = store();
  const b = store();
  await Promise.all([ready(a), ready(b)]);
  const check: LimitCheck = { kind: 'concurrency', key: 'slots', max: 2, leaseMs: 1000, enforce: true };
  const now = Date.now();
  const r1 = await a.limit([check], now);
  const r2 = await b.limit([check], now);
  const r3 = await a.limit([check], now);
  assert.deepEqual([r1.allowed, r2.allowed, r3.allowed], [true, true, false]);
  b.release(r2.lease!);
  await new Promise((r) => setTimeout(r, 50));
  const r4 = await a.limit([check], now);
  assert.equal(r4.allowed, true);
  // r1 and r4 never released: their leases end 1 s later
  const r5 = await a.limit([check], now + 999);
  assert.equal(r5.allowed, false);
  const r6 = await a.limit([check], now + 1001);
  assert.equal(r6.allowed, true);
});

test('a refusal by one limit writes nothing to the other limits of the request in Redis', async () => {
  const s = store();
  await ready(s);
  const wide: LimitCheck = { kind: 'bucket', key: 'aon:wide', intervalMs: 1000, burst: 10, enforce: true };
  const narrow: LimitCheck = { kind: 'bucket', key: 'aon:narrow', intervalMs: 1000, burst: 1, enforce: true };
  const slots: LimitCheck = { kind: 'concurrency', key: 'aon:slots', max: 10, leaseMs: 10000, enforce: true };
  const now = Date.now();
  assert.equal((await s.limit([wide, narrow, slots], now)).allowed, true);
  for (let i = 0; i < 3; i++) assert.equal((await s.limit([wide, narrow, slots], now)).allowed, false);
  const r = await s.limit([wide, slots], now);
  assert.equal(r.checks[0]!.remaining, 8);
  assert.equal(r.checks[1]!.remaining, 8);
});

test("each limit key carries its check's tag as hash tag (the slot of the identity it counts), or its own key without one", async () => {
  const s = store();
  await ready(s);
  const now = Date.now();
  const r = await s.limit(
    [
      { kind: 'bucket', key: 'tag:a', intervalMs: 1000, burst: 5, enforce: true, tag: 'ip=10.0.0.1' },
      { kind: 'quota', key: 'tag:b', limit: 5, resetAt: now + 60000, enforce: true, tag: 'ip=10.0.0.1' },
      { kind: 'bucket', key: 'tag:c', intervalMs: 1000, burst: 5, enforce: true },
    ],
    now,
  );
  assert.equal(r.allowed, true);
  const admin = new Redis(redisUrl());
  const keys = (await admin.keys(`${PREFIX}*tag:*`)).sort();
  await admin.quit();
  assert.deepEqual(keys, [`${PREFIX}{ip=10.0.0.1}:tag:a`, `${PREFIX}{ip=10.0.0.1}:tag:b`, `${PREFIX}{tag:c}:tag:c`]);
});

test('each decision is exactly one EVALSHA round trip (INFO commandstats)', async () => {
  const redis = await startPrivateRedis();
  try {
    const s = store(redis.url);
    await ready(s);
    await new Promise((r) => setTimeout(r, 50)); // the SCRIPT LOAD sent on ready
    const admin = new Redis(redis.url);
    await admin.config('RESETSTAT');
    const check: LimitCheck = { kind: 'bucket', key: 'rt', intervalMs: 10, burst: 100, enforce: true };
    const check2: LimitCheck = { kind: 'quota', key: 'rt:q', limit: 1000, resetAt: Date.now() + 60000, enforce: true };
    for (let i = 0; i < 100; i++) await s.limit([check, check2], Date.now());
    const info = await admin.info('commandstats');
    await admin.quit();
    const calls = (name: string): number => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
    assert.equal(calls('evalsha'), 100, info);
    assert.equal(calls('eval'), 0, info);
    // commandstats also counts the commands the script runs inside Redis (GET, SET); no other client command was sent
    const clientCommands = [...info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)]
      .map((m) => m[1]!)
      .filter((n) => !['evalsha', 'get', 'set', 'info', 'config|resetstat'].includes(n));
    assert.deepEqual(clientCommands, [], info);
  } finally {
    await redis.stop();
  }
});

test('a Redis outage fails fast without hanging, and the store is used again within 5 s of its return', async () => {
  const redis = await startPrivateRedis();
  try {
    const s = store(redis.url, { commandTimeoutMs: 100, reconnectMaxDelayMs: 500 });
    await ready(s);
    const check: LimitCheck = { kind: 'bucket', key: 'outage', intervalMs: 10, burst: 100, enforce: true };
    assert.equal((await s.limit([check], Date.now())).allowed, true);
    await redis.stop();
    const deadline = Date.now() + 2000;
    while (s.healthy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.healthy(), false);
    const t = Date.now();
    await assert.rejects(s.limit([check], Date.now()), StoreUnavailableError);
    await assert.rejects(s.once('n', 1000), StoreUnavailableError);
    assert.ok(Date.now() - t < 1000, 'commands fail at once while disconnected');
    await redis.start();
    const back = Date.now();
    await ready(s, 5000);
    assert.ok(Date.now() - back <= 5000);
    assert.equal((await s.limit([check], Date.now())).allowed, true);
  } finally {
    await redis.stop();
  }
});
