import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredResponse } from '../types.js';
import { ENTRY_OVERHEAD, entryBytes, primaryKey } from './entry.js';
import { entryCost, MemoryCacheStore, type EvictReason } from './memory.js';

const T0 = Date.UTC(2026, 11, 7, 12);

function clockAt(t: number): { now: () => number; set(v: number): void } {
  let v = t;
  return { now: () => v, set: (x) => (v = x) };
}

function entry(url: string, extra: Partial<StoredResponse> = {}): StoredResponse {
  return {
    status: 200,
    headers: { 'content-type': 'text/plain', 'cache-control': 'max-age=60' },
    body: Buffer.alloc(100, 0x61),
    requestTime: T0,
    responseTime: T0,
    vary: null,
    tags: [],
    url,
    ...extra,
  };
}

const key = (url: string): string => primaryKey(url, 'GET');

test('get returns [] for an unknown key and the stored variant after put', () => {
  const s = new MemoryCacheStore({ now: () => T0 });
  assert.deepEqual(s.get(key('a.test/x')), []);
  const e = entry('a.test/x');
  s.put(key('a.test/x'), e, 1000);
  const got = s.get(key('a.test/x'));
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]!.body, e.body);
  assert.deepEqual({ ...got[0]!, body: null }, { ...e, body: null }, 'everything else as stored');
  assert.deepEqual(s.stats(), { bytes: entryCost(key('a.test/x'), e), entries: 1 });
});

test('a hit returns the same array each time (no allocation) and it never changes after a later put', () => {
  const s = new MemoryCacheStore({ now: () => T0 });
  const k = key('a.test/x');
  s.put(k, entry('a.test/x', { vary: { 'accept-encoding': 'gzip' } }), 1000);
  const first = s.get(k);
  assert.equal(s.get(k), first);
  s.put(k, entry('a.test/x', { vary: { 'accept-encoding': 'br' } }), 1000);
  assert.equal(first.length, 1, 'the array handed out earlier is unchanged');
  assert.equal(s.get(k).length, 2);
});

test('a put with equal vary values replaces that variant; other vary values add variants', () => {
  const s = new MemoryCacheStore({ now: () => T0 });
  const k = key('a.test/x');
  s.put(k, entry('a.test/x', { status: 200, vary: { 'accept-encoding': 'gzip', 'accept-language': null } }), 1000);
  s.put(k, entry('a.test/x', { status: 203, vary: { 'accept-language': null, 'accept-encoding': 'gzip' } }), 1000);
  assert.deepEqual(
    s.get(k).map((e) => e.status),
    [203],
  );
  s.put(k, entry('a.test/x', { status: 206, vary: { 'accept-encoding': 'br', 'accept-language': null } }), 1000);
  s.put(k, entry('a.test/x', { status: 201, vary: null }), 1000);
  assert.deepEqual(
    s.get(k).map((e) => e.status),
    [203, 206, 201],
  );
  s.put(k, entry('a.test/x', { status: 202, vary: null }), 1000);
  assert.deepEqual(
    s.get(k).map((e) => e.status),
    [203, 206, 202],
  );
  assert.equal(s.stats().entries, 3);
});

test('beyond maxVariants the oldest written variant goes and is reported as evicted', () => {
  const evicted: [number, number, EvictReason][] = [];
  const s = new MemoryCacheStore({ now: () => T0, maxVariants: 3, onEvict: (n, b, r) => evicted.push([n, b, r]) });
  const k = key('a.test/x');
  for (const lang of ['en', 'fr', 'de', 'it']) s.put(k, entry('a.test/x', { vary: { 'accept-language': lang } }), 1000);
  assert.deepEqual(
    s.get(k).map((e) => e.vary!['accept-language']),
    ['fr', 'de', 'it'],
  );
  assert.equal(evicted.length, 1);
  assert.equal(evicted[0]![0], 1);
  assert.equal(evicted[0]![2], 'variants');
  assert.equal(s.stats().entries, 3);
});

test('an entry expires after ttlMs: get drops it and stats follow', () => {
  const c = clockAt(T0);
  const evicted: EvictReason[] = [];
  const s = new MemoryCacheStore({ now: c.now, onEvict: (_n, _b, r) => evicted.push(r) });
  const k = key('a.test/x');
  s.put(k, entry('a.test/x', { vary: { a: '1' } }), 1000);
  s.put(k, entry('a.test/x', { vary: { a: '2' } }), 5000);
  c.set(T0 + 999);
  assert.equal(s.get(k).length, 2);
  c.set(T0 + 1000);
  assert.deepEqual(
    s.get(k).map((e) => e.vary!['a']),
    ['2'],
  );
  assert.equal(s.stats().entries, 1);
  c.set(T0 + 5000);
  assert.deepEqual(s.get(k), []);
  assert.deepEqual(s.stats(), { bytes: 0, entries: 0 });
  assert.deepEqual(evicted, ['expired', 'expired']);
});

test('expired entries at the cold end are swept by later puts without being read', () => {
  const c = clockAt(T0);
  const s = new MemoryCacheStore({ now: c.now });
  s.put(key('a.test/1'), entry('a.test/1'), 1000);
  s.put(key('a.test/2'), entry('a.test/2'), 1000);
  c.set(T0 + 2000);
  s.put(key('a.test/3'), entry('a.test/3'), 1000);
  assert.equal(s.stats().entries, 1);
});

test('a ttl that is not a positive finite number stores nothing and removes the variant it would replace', () => {
  const s = new MemoryCacheStore({ now: () => T0 });
  const k = key('a.test/x');
  s.put(k, entry('a.test/x'), 1000);
  s.put(k, entry('a.test/x'), 0);
  assert.deepEqual(s.get(k), []);
  s.put(k, entry('a.test/x'), Number.NaN);
  s.put(k, entry('a.test/x'), Number.POSITIVE_INFINITY);
  s.put(k, entry('a.test/x'), -1);
  assert.deepEqual(s.stats(), { bytes: 0, entries: 0 });
});

test('eviction takes the least recently read or written primary key first', () => {
  const one = entryCost(key('a.test/1'), entry('a.test/1'));
  const s = new MemoryCacheStore({ now: () => T0, maxBytes: one * 3 });
  for (const n of [1, 2, 3]) s.put(key(`a.test/${n}`), entry(`a.test/${n}`), 1000);
  s.get(key('a.test/1')); // 2 is now the least recently used
  s.put(key('a.test/4'), entry('a.test/4'), 1000);
  assert.equal(s.get(key('a.test/2')).length, 0);
  for (const n of [1, 3, 4]) assert.equal(s.get(key(`a.test/${n}`)).length, 1, `a.test/${n} kept`);
  s.put(key('a.test/3'), entry('a.test/3', { status: 201 }), 1000); // a write also counts as use: 1 is oldest now
  s.put(key('a.test/5'), entry('a.test/5'), 1000);
  assert.equal(s.get(key('a.test/1')).length, 0);
  assert.equal(s.get(key('a.test/4')).length, 1);
});

test('100,000 distinct keys under a 64 MiB cap: counted bytes never exceed the cap, evictions are reported exactly', () => {
  const maxBytes = 64 * 1024 * 1024;
  let evictedBytes = 0;
  let evictedCount = 0;
  const s = new MemoryCacheStore({
    now: () => T0,
    maxBytes,
    onEvict: (n, b) => {
      evictedCount += n;
      evictedBytes += b;
    },
  });
  const body = Buffer.alloc(1024, 0x62);
  let written = 0;
  let max = 0;
  for (let i = 0; i < 100_000; i++) {
    const url = `a.test/item/${i}?q=${i}`;
    const e = entry(url, { body, tags: [`t${i % 100}`] });
    written += entryCost(key(url), e);
    s.put(key(url), e, 60_000);
    const b = s.stats().bytes;
    if (b > max) max = b;
  }
  const st = s.stats();
  assert.ok(max <= maxBytes, `max counted ${max} > ${maxBytes}`);
  assert.ok(written > maxBytes, 'the test wrote more than the cap');
  assert.equal(st.bytes + evictedBytes, written);
  assert.equal(st.entries + evictedCount, 100_000);
  assert.ok(st.bytes > maxBytes * 0.99, 'the cache stays nearly full, not emptied');
  // the tag index holds only keys still present
  const left = st.entries;
  let purged = 0;
  return (async () => {
    for (let t = 0; t < 100; t++) purged += await s.purgeTag(`t${t}`);
    assert.equal(purged, left);
    assert.deepEqual(s.stats(), { bytes: 0, entries: 0 });
  })();
});

test('an entry above maxEntryBytes is not stored', () => {
  const s = new MemoryCacheStore({ now: () => T0, maxEntryBytes: 2048 });
  const k = key('a.test/big');
  const small = entry('a.test/big');
  s.put(k, small, 1000);
  s.put(k, entry('a.test/big', { body: Buffer.alloc(2048) }), 1000);
  assert.deepEqual(s.get(k), [], 'and the variant it would have replaced is gone');
  const fits = entry('a.test/big', { body: Buffer.alloc(2048 - (entryBytes(k, small) - 100)) });
  assert.equal(entryBytes(k, fits), 2048);
  s.put(k, fits, 1000);
  assert.equal(s.get(k).length, 1);
});

test('entry size counts body, header names and values (UTF-8), url, tags and the fixed overhead', () => {
  const k = primaryKey('a.test/é', 'GET');
  const e = entry('a.test/é', { body: Buffer.alloc(10), headers: { 'x-a': 'ü', 'x-b': ['1', '22'] }, tags: ['tag'] });
  const expected = ENTRY_OVERHEAD + 10 + Buffer.byteLength(k) + Buffer.byteLength('a.test/é') + 3 + 2 + 3 + 3 + 3;
  assert.equal(entryBytes(k, e), expected);
});

test("a stored body is a copy owning its memory, never a view of the store's blocks or of the caller's buffer", () => {
  const s = new MemoryCacheStore({ now: () => T0 });
  const big = Buffer.alloc(64 * 1024, 1);
  const view = big.subarray(100, 1100);
  s.put(key('a.test/view'), entry('a.test/view', { body: view }), 1000);
  const got = s.get(key('a.test/view'))[0]!.body;
  assert.notEqual(got, view);
  assert.deepEqual(got, view);
  assert.equal(got.buffer.byteLength, 1000);
  big.fill(2);
  assert.equal(s.get(key('a.test/view'))[0]!.body[0], 1, 'the caller changing its buffer later changes nothing');
});

test("entries are kept outside the heap: evicted entries' blocks are reused and a reused block never shows in an older read", () => {
  const one = entryCost(key('a.test/0'), entry('a.test/0', { body: Buffer.alloc(1000, 0) }));
  const s = new MemoryCacheStore({ now: () => T0, maxBytes: one * 4 });
  const reads: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    const u = `a.test/${i % 10}`;
    // tagged: evicting an entry reads its metadata while the new one is being written
    s.put(key(u), entry(u, { body: Buffer.alloc(1000, i), tags: [`tag-${i}`] }), 1000);
    const got = s.get(key(u))[0]!;
    assert.deepEqual([got.url, got.tags], [u, [`tag-${i}`]]);
    reads.push(got.body);
  }
  for (const [i, b] of reads.entries())
    assert.ok(
      b.every((x) => x === i),
      `read ${i} kept its bytes`,
    );
  const pages = (s as unknown as { pages: Buffer[] }).pages;
  assert.equal(pages.length, 1, 'one page serves every entry: freed blocks are reused');
  assert.ok(s.stats().bytes <= s.maxBytes);
});

test('a key read again is served from its decoded copy (the same objects), until it is written', () => {
  const s = new MemoryCacheStore({ now: () => T0 });
  const k = key('a.test/hot');
  s.put(k, entry('a.test/hot'), 1000);
  const a = s.get(k);
  assert.equal(s.get(k), a);
  assert.equal(s.get(k)[0], a[0]);
  s.put(k, entry('a.test/hot', { status: 203 }), 1000);
  const b = s.get(k);
  assert.notEqual(b, a);
  assert.equal(b[0]!.status, 203);
  assert.equal(a[0]!.status, 200, 'an array handed out never changes');
});

test('purgeTag removes exactly the variants carrying the tag and the index forgets emptied tags', async () => {
  const s = new MemoryCacheStore({ now: () => T0 });
  s.put(key('a.test/1'), entry('a.test/1', { tags: ['red', 'blue'], vary: { v: '1' } }), 1000);
  s.put(key('a.test/1'), entry('a.test/1', { tags: ['blue'], vary: { v: '2' } }), 1000);
  s.put(key('a.test/2'), entry('a.test/2', { tags: ['red'] }), 1000);
  s.put(key('a.test/3'), entry('a.test/3', { tags: ['green'] }), 1000);
  assert.equal(await s.purgeTag('red'), 2);
  assert.deepEqual(
    s.get(key('a.test/1')).map((e) => e.vary!['v']),
    ['2'],
  );
  assert.deepEqual(s.get(key('a.test/2')), []);
  assert.equal(await s.purgeTag('red'), 0);
  assert.equal(await s.purgeTag('blue'), 1);
  assert.equal(await s.purgeTag('none'), 0);
  assert.deepEqual(s.stats().entries, 1);
  s.delete(key('a.test/3'));
  assert.equal((s as unknown as { tags: Map<string, unknown> }).tags.size, 0, 'no tag outlives its entries');
});

test('purgePrefix removes every entry whose url starts with the prefix, glob characters included literally', async () => {
  const s = new MemoryCacheStore({ now: () => T0 });
  for (const u of ['a.test/api/1', 'a.test/api/2', 'a.test/apix', 'a.test/other', 'b.test/api/1', 'a.test/[*]?x']) s.put(key(u), entry(u), 1000);
  assert.equal(await s.purgePrefix('a.test/api/'), 2);
  assert.equal(await s.purgePrefix('a.test/[*]'), 1);
  assert.equal(s.get(key('a.test/apix')).length, 1);
  assert.equal(s.get(key('b.test/api/1')).length, 1);
  assert.equal(await s.purgePrefix(''), 3);
  assert.deepEqual(s.stats(), { bytes: 0, entries: 0 });
});

test('delete removes every variant of a primary key and returns how many', () => {
  const s = new MemoryCacheStore({ now: () => T0 });
  const k = key('a.test/x');
  s.put(k, entry('a.test/x', { vary: { a: '1' } }), 1000);
  s.put(k, entry('a.test/x', { vary: { a: '2' } }), 1000);
  assert.equal(s.delete(k), 2);
  assert.equal(s.delete(k), 0);
  assert.deepEqual(s.get(k), []);
  assert.deepEqual(s.stats(), { bytes: 0, entries: 0 });
});

test('put refuses a primary key that does not start with the entry url and NUL', () => {
  const s = new MemoryCacheStore({ now: () => T0 });
  assert.throws(() => s.put('GET a.test/x', entry('a.test/x'), 1000), TypeError);
  assert.throws(() => s.put('a.test/xy\u0000GET', entry('a.test/x'), 1000), TypeError);
  assert.throws(() => primaryKey('a\u0000b', 'GET'), TypeError);
});

test('lock always resolves to a release that does nothing', async () => {
  const s = new MemoryCacheStore();
  const r1 = await s.lock(key('a.test/x'), 1000);
  const r2 = await s.lock(key('a.test/x'), 1000);
  assert.ok(r1 && r2);
  await r1();
  await r2();
});

test('options are checked: a non-positive or fractional bound is refused', () => {
  assert.throws(() => new MemoryCacheStore({ maxBytes: 0 }), RangeError);
  assert.throws(() => new MemoryCacheStore({ maxVariants: 1.5 }), RangeError);
  assert.equal(new MemoryCacheStore({ maxBytes: 1000 }).maxEntryBytes, 1000, 'the per-entry cap is at most the total');
});

test('when one key’s variants alone exceed maxBytes, its oldest variants go and the one just written stays', () => {
  const one = entryCost(key('a.test/x'), entry('a.test/x', { vary: { a: '1' } }));
  const s = new MemoryCacheStore({ now: () => T0, maxBytes: Math.floor(one * 2.5) });
  s.put(key('a.test/y'), entry('a.test/y', { vary: { a: '9' } }), 1000);
  for (const v of ['1', '2', '3']) s.put(key('a.test/x'), entry('a.test/x', { vary: { a: v } }), 1000);
  assert.deepEqual(s.get(key('a.test/y')), []);
  assert.deepEqual(
    s.get(key('a.test/x')).map((e) => e.vary!['a']),
    ['2', '3'],
  );
  assert.ok(s.stats().bytes <= s.maxBytes);
});
