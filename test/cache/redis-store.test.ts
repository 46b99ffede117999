import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { StoredResponse } from '../../src/stages/cache/types.js';
import { primaryKey } from '../../src/stages/cache/store/entry.js';
import { RedisCacheStore } from '../../src/stages/cache/store/redis.js';
import { waitForFill } from '../../src/stages/cache/store/wait.js';
import { startPrivateRedis, type PrivateRedis } from '../rate-limit/redis-server.js';

const PREFIX = `pctest:${randomBytes(4).toString('hex')}:`;
let server: PrivateRedis;
const clients: Redis[] = [];

function client(): Redis {
  // as the gateway configures it: a command timeout, no offline queue
  const c = new Redis(server.url, { commandTimeout: 1000, enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
  clients.push(c);
  return c;
}

async function store(extra: Partial<ConstructorParameters<typeof RedisCacheStore>[0]> = {}): Promise<RedisCacheStore> {
  const c = client();
  await c.connect();
  return new RedisCacheStore({ client: c, keyPrefix: PREFIX, ...extra });
}

before(async () => {
  server = await startPrivateRedis();
});

after(async () => {
  for (const c of clients) c.disconnect();
  await server.stop();
});

function entry(url: string, extra: Partial<StoredResponse> = {}): StoredResponse {
  return {
    status: 200,
    headers: { 'content-type': 'text/plain', 'x-list': ['a', 'b'] },
    body: Buffer.from('hello'),
    requestTime: 1_700_000_000_000,
    responseTime: 1_700_000_000_050,
    vary: null,
    tags: [],
    url,
    ...extra,
  };
}

const key = (url: string): string => primaryKey(url, 'GET');

test('put then get returns the entry as stored: status, headers, times, vary, tags, url and body', async () => {
  const s = await store();
  const e = entry('a.test/x', { vary: { 'accept-encoding': 'gzip', 'x-none': null }, tags: ['t1', 't2'], status: 203 });
  await s.put(key('a.test/x'), e, 10_000);
  const got = await s.get(key('a.test/x'));
  assert.equal(got.length, 1);
  assert.deepEqual({ ...got[0]!, body: got[0]!.body.toString() }, { ...e, body: 'hello' });
  assert.deepEqual(await s.get(key('a.test/none')), []);
  assert.deepEqual(s.stats(), { bytes: 0, entries: 0 });
});

test('all 256 byte values in a body round-trip exactly (binary, no text encoding)', async () => {
  const s = await store();
  const body = Buffer.alloc(256 * 4);
  for (let i = 0; i < body.length; i++) body[i] = i % 256;
  await s.put(key('a.test/bin'), entry('a.test/bin', { body }), 10_000);
  const [got] = await s.get(key('a.test/bin'));
  assert.ok(got);
  assert.ok(Buffer.isBuffer(got.body));
  assert.ok(got.body.equals(body));
});

test('a put with equal vary values replaces that variant; beyond maxVariants the oldest written goes', async () => {
  const s = await store({ maxVariants: 3 });
  const k = key('a.test/v');
  await s.put(k, entry('a.test/v', { status: 200, vary: { 'accept-language': 'en', 'accept-encoding': null } }), 10_000);
  await s.put(k, entry('a.test/v', { status: 201, vary: { 'accept-encoding': null, 'accept-language': 'en' } }), 10_000);
  assert.deepEqual(
    (await s.get(k)).map((e) => e.status),
    [201],
  );
  for (const lang of ['fr', 'de', 'it']) await s.put(k, entry('a.test/v', { vary: { 'accept-language': lang, 'accept-encoding': null } }), 10_000);
  assert.deepEqual(
    (await s.get(k)).map((e) => e.vary!['accept-language']),
    ['fr', 'de', 'it'],
  );
  await s.put(k, entry('a.test/v', { status: 204, vary: null }), 10_000);
  assert.deepEqual(
    (await s.get(k)).map((e) => e.status),
    [200, 200, 204],
  );
});

test('entries expire after ttlMs: a variant past its ttl is not returned and the key goes with its last variant', async () => {
  const s = await store();
  const admin = client();
  await admin.connect();
  const k = key('a.test/exp');
  await s.put(k, entry('a.test/exp', { vary: { a: '1' } }), 200);
  await s.put(k, entry('a.test/exp', { vary: { a: '2' } }), 800);
  const pttl = await admin.pttl(`${PREFIX}cache:${k}`);
  assert.ok(pttl > 200 && pttl <= 800, `key expiry follows its longest variant (${pttl})`);
  await sleep(300);
  assert.deepEqual(
    (await s.get(k)).map((e) => e.vary!['a']),
    ['2'],
  );
  await sleep(600);
  assert.deepEqual(await s.get(k), []);
  assert.equal(await admin.exists(`${PREFIX}cache:${k}`), 0);
});

test('an entry above maxEntryBytes is not stored, and the variant it would replace is removed', async () => {
  const s = await store({ maxEntryBytes: 4096 });
  const k = key('a.test/big');
  await s.put(k, entry('a.test/big'), 10_000);
  await s.put(k, entry('a.test/big', { body: Buffer.alloc(4096) }), 10_000);
  assert.deepEqual(await s.get(k), []);
  await s.put(k, entry('a.test/big', { body: Buffer.alloc(3000) }), 10_000);
  assert.equal((await s.get(k)).length, 1);
  await s.put(k, entry('a.test/big'), Number.POSITIVE_INFINITY);
  assert.deepEqual(await s.get(k), [], 'nor is an entry without a finite ttl');
});

test('delete removes every variant and returns how many', async () => {
  const s = await store();
  const k = key('a.test/del');
  await s.put(k, entry('a.test/del', { vary: { a: '1' } }), 10_000);
  await s.put(k, entry('a.test/del', { vary: { a: '2' } }), 10_000);
  assert.equal(await s.delete(k), 2);
  assert.equal(await s.delete(k), 0);
  assert.deepEqual(await s.get(k), []);
});

test('two instances on two clients see each other’s puts, deletes and purges at once', async () => {
  const a = await store();
  const b = await store();
  const k = key('shared.test/p');
  await a.put(k, entry('shared.test/p', { tags: ['shared'] }), 10_000);
  assert.equal((await b.get(k)).length, 1);
  assert.equal(await b.purgeTag('shared'), 1);
  assert.deepEqual(await a.get(k), []);
  await b.put(k, entry('shared.test/p'), 10_000);
  assert.equal((await a.get(k)).length, 1);
  assert.equal(await a.purgePrefix('shared.test/'), 1);
  assert.deepEqual(await b.get(k), []);
  await a.put(k, entry('shared.test/p'), 10_000);
  assert.equal(await b.delete(k), 1);
  assert.deepEqual(await a.get(k), []);
});

test('purgeTag removes exactly the variants carrying the tag; the tag set goes and expires no earlier than its entries', async () => {
  const s = await store();
  const admin = client();
  await admin.connect();
  await s.put(key('t.test/1'), entry('t.test/1', { tags: ['red', 'blue'], vary: { v: '1' } }), 10_000);
  await s.put(key('t.test/1'), entry('t.test/1', { tags: ['blue'], vary: { v: '2' } }), 10_000);
  await s.put(key('t.test/2'), entry('t.test/2', { tags: ['red'] }), 60_000);
  await s.put(key('t.test/3'), entry('t.test/3', { tags: ['red'] }), 1_000);
  const ttl = await admin.pttl(`${PREFIX}cache-tag:red`);
  assert.ok(ttl > 59_000 && ttl <= 60_000, `a shorter entry does not shorten the tag set (${ttl})`);
  assert.equal(await s.purgeTag('red'), 3);
  assert.deepEqual(
    (await s.get(key('t.test/1'))).map((e) => e.vary!['v']),
    ['2'],
  );
  assert.deepEqual(await s.get(key('t.test/2')), []);
  assert.equal(await admin.exists(`${PREFIX}cache-tag:red`), 0);
  assert.equal(await s.purgeTag('red'), 0);
  assert.equal(await s.purgeTag('blue'), 1);
  assert.deepEqual(await s.get(key('t.test/1')), []);
});

test('purgeTag drains sets larger than one SPOP step', async () => {
  const s = await store({ scanCount: 7 });
  for (let i = 0; i < 40; i++) await s.put(key(`many.test/${i}`), entry(`many.test/${i}`, { tags: ['many'] }), 10_000);
  assert.equal(await s.purgeTag('many'), 40);
});

test('purgePrefix removes the keys of a URL prefix over many SCAN steps and only those', async () => {
  const s = await store({ scanCount: 10 });
  for (let i = 0; i < 120; i++) await s.put(key(`p.test/api/${i}`), entry(`p.test/api/${i}`), 10_000);
  await s.put(key('p.test/apix'), entry('p.test/apix'), 10_000);
  await s.put(key('q.test/api/1'), entry('q.test/api/1'), 10_000);
  assert.equal(await s.purgePrefix('p.test/api/'), 120);
  assert.equal((await s.get(key('p.test/apix'))).length, 1);
  assert.equal((await s.get(key('q.test/api/1'))).length, 1);
});

test('glob characters in URLs and purge prefixes are literal: *, ?, [, ], and backslash', async () => {
  const s = await store();
  const urls = ['g.test/a*b', 'g.test/a?b', 'g.test/a[b]c', 'g.test/a\\b', 'g.test/axb', 'g.test/a]'];
  for (const u of urls) await s.put(key(u), entry(u), 10_000);
  assert.equal(await s.purgePrefix('g.test/a*'), 1);
  assert.equal(await s.purgePrefix('g.test/a?'), 1);
  assert.equal(await s.purgePrefix('g.test/a[b]'), 1);
  assert.equal(await s.purgePrefix('g.test/a\\'), 1);
  assert.equal(await s.purgePrefix('g.test/a['), 0);
  assert.equal((await s.get(key('g.test/axb'))).length, 1);
  assert.equal((await s.get(key('g.test/a]'))).length, 1);
  // a prefix reaching past the URL into the rest of the key removes nothing
  assert.equal(await s.purgePrefix('g.test/axb\u0000'), 0);
  assert.equal(await s.purgePrefix('g.test/a'), 2);
});

test('lock: exclusive between two clients; released, it can be taken again', async () => {
  const a = await store();
  const b = await store();
  const k = key('l.test/1');
  const ra = await a.lock(k, 5_000);
  assert.ok(ra);
  assert.equal(await b.lock(k, 5_000), null);
  assert.equal(await a.lock(k, 5_000), null, 'not re-entrant either');
  await ra();
  const rb = await b.lock(k, 5_000);
  assert.ok(rb);
  await rb();
});

test('lock: a holder that never releases blocks others no longer than its ttl', async () => {
  const a = await store();
  const b = await store();
  const k = key('l.test/2');
  assert.ok(await a.lock(k, 150));
  assert.equal(await b.lock(k, 150), null);
  await sleep(200);
  assert.ok(await b.lock(k, 150));
});

test('lock: a stale release (its lock expired and another took it) leaves the new holder’s lock in place', async () => {
  const a = await store();
  const b = await store();
  const c = await store();
  const k = key('l.test/3');
  const ra = await a.lock(k, 100);
  assert.ok(ra);
  await sleep(150);
  const rb = await b.lock(k, 5_000);
  assert.ok(rb);
  await ra();
  assert.equal(await c.lock(k, 5_000), null, 'b still holds it');
  await rb();
  assert.ok(await c.lock(k, 5_000));
});

test('waitForFill: a waiter sees the filler’s entry, or takes the lock when the filler gives up', async () => {
  const filler = await store();
  const waiter = await store();
  const k = key('w.test/1');
  const release = await filler.lock(k, 2_000);
  assert.ok(release);
  // timeouts far above the steps' durations: a loaded machine must not turn a hit into a timeout
  const waiting = waitForFill(waiter, k, { timeoutMs: 5_000, pollMs: 20 });
  await sleep(60);
  await filler.put(k, entry('w.test/1'), 10_000);
  await release();
  const r = await waiting;
  assert.equal(r.kind, 'hit');

  const k2 = key('w.test/2');
  const release2 = await filler.lock(k2, 2_000);
  assert.ok(release2);
  const waiting2 = waitForFill(waiter, k2, { timeoutMs: 5_000, pollMs: 20 });
  await sleep(60);
  await release2(); // no entry stored (e.g. not cacheable)
  const r2 = await waiting2;
  assert.equal(r2.kind, 'lock');
  if (r2.kind === 'lock') await r2.release();

  const k3 = key('w.test/3');
  assert.ok(await filler.lock(k3, 5_000));
  const t0 = Date.now();
  const r3 = await waitForFill(waiter, k3, { timeoutMs: 150, pollMs: 20 });
  assert.equal(r3.kind, 'timeout');
  // ended by its own 150 ms timeout, not by the lock's 5 s expiry
  assert.ok(Date.now() - t0 < 2_500);
});

test('Redis errors reject instead of hanging: a stopped server fails get, put and lock promptly', async () => {
  const own = await startPrivateRedis();
  const c = new Redis(own.url, { commandTimeout: 300, enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => 50 });
  c.on('error', () => undefined);
  await c.connect();
  const s = new RedisCacheStore({ client: c, keyPrefix: PREFIX, ownsClient: true });
  await s.put(key('e.test/1'), entry('e.test/1'), 10_000);
  await own.stop();
  await sleep(50);
  const t0 = Date.now();
  await assert.rejects(Promise.resolve(s.get(key('e.test/1'))));
  await assert.rejects(Promise.resolve(s.put(key('e.test/1'), entry('e.test/1'), 10_000)));
  await assert.rejects(s.lock(key('e.test/1'), 1000));
  assert.ok(Date.now() - t0 < 1000);
  await s.close();
});

test('put rejects a primary key that does not embed the entry url', async () => {
  const s = await store();
  await assert.rejects(
    Promise.resolve().then(() => s.put('GET a.test/x', entry('a.test/x'), 1000)),
    TypeError,
  );
});

test('scripts are reloaded by EVAL when the server lost its script cache', async () => {
  const s = await store();
  const admin = client();
  await admin.connect();
  await s.put(key('f.test/1'), entry('f.test/1'), 10_000);
  await admin.script('FLUSH');
  await s.put(key('f.test/1'), entry('f.test/1', { status: 202 }), 10_000);
  assert.deepEqual(
    (await s.get(key('f.test/1'))).map((e) => e.status),
    [202],
  );
  assert.equal(await s.delete(key('f.test/1')), 1);
});

test('a variant whose stored metadata is not this store’s format is skipped, not thrown', async () => {
  const s = await store();
  const admin = client();
  await admin.connect();
  const k = key('m.test/1');
  await s.put(k, entry('m.test/1', { vary: { a: '1' } }), 10_000);
  await s.put(k, entry('m.test/1', { vary: { a: '2' } }), 10_000);
  const fields = await admin.hkeys(`${PREFIX}cache:${k}`);
  const meta = fields.filter((f) => f.startsWith('m:'));
  await admin.hset(`${PREFIX}cache:${k}`, meta[0]!, '{not json');
  assert.equal((await s.get(k)).length, 1);
});
