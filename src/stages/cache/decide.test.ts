import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ageHeader,
  answersNotModified,
  notModifiedHeaders,
  ageValue,
  type CacheSettings,
  cacheStatus,
  candidateEtags,
  conditionalHeaders,
  currentAgeMs,
  freshen,
  freshenFromHead,
  freshness,
  freshnessLifetimeMs,
  invalidations,
  type LookupResult,
  lookup,
  matchVariant,
  onlyIfCachedFails,
  readRequest,
  selectCandidate,
  type StoreInput,
  storable,
  storedHeaders,
  staleIfErrorAllowed,
  validatorsMatch,
  varyOf,
} from './decide.js';
import { formatHttpDate } from './http-date.js';
import type { Headers, StoredResponse } from './types.js';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const S = 1000;
const at = (deltaS: number): string => formatHttpDate(T0 + deltaS * S);

const settings: CacheSettings = {
  heuristic: true,
  heuristicMaxMs: 86_400 * S,
  defaultTtlMs: null,
  maxTtlMs: null,
  keepStaleMs: 3600 * S,
  staleIfErrorMs: 0,
};
const noHeuristic: CacheSettings = { ...settings, heuristic: false };

function entry(headers: Headers, o: Partial<StoredResponse> = {}): StoredResponse {
  return {
    status: 200,
    headers,
    body: Buffer.from('hello'),
    requestTime: T0,
    responseTime: T0,
    vary: null,
    tags: [],
    url: 'api.test/a?b=1',
    ...o,
  };
}

/* ---------------------------------------------------------------- request directives */

test('request directives: flags, delta values, bare max-stale as Infinity, invalid values ignored, Pragma only without Cache-Control (table)', () => {
  const cases: [Headers, object][] = [
    [{}, { noCache: false, noStore: false, onlyIfCached: false }],
    [{ 'cache-control': 'no-cache' }, { noCache: true, noStore: false, onlyIfCached: false }],
    [{ 'cache-control': 'No-Store, ONLY-IF-CACHED' }, { noCache: false, noStore: true, onlyIfCached: true }],
    [{ 'cache-control': 'max-age=0' }, { noCache: false, noStore: false, onlyIfCached: false, maxAge: 0 }],
    [{ 'cache-control': 'max-age=99999999999' }, { noCache: false, noStore: false, onlyIfCached: false, maxAge: 2 ** 31 }],
    [{ 'cache-control': 'max-stale' }, { noCache: false, noStore: false, onlyIfCached: false, maxStale: Number.POSITIVE_INFINITY }],
    [{ 'cache-control': 'max-stale=1000' }, { noCache: false, noStore: false, onlyIfCached: false, maxStale: 1000 }],
    [{ 'cache-control': 'max-stale=abc, max-age=-1, min-fresh=1.5' }, { noCache: false, noStore: false, onlyIfCached: false }],
    [{ 'cache-control': 'max-stale =5' }, { noCache: false, noStore: false, onlyIfCached: false }],
    [{ 'cache-control': 'min-fresh=2000' }, { noCache: false, noStore: false, onlyIfCached: false, minFresh: 2000 }],
    [{ 'cache-control': 'stale-if-error=60' }, { noCache: false, noStore: false, onlyIfCached: false, staleIfError: 60 }],
    [{ pragma: 'no-cache' }, { noCache: true, noStore: false, onlyIfCached: false }],
    [{ pragma: 'x, No-Cache' }, { noCache: true, noStore: false, onlyIfCached: false }],
    [{ pragma: 'unrecognised-extension' }, { noCache: false, noStore: false, onlyIfCached: false }],
    [
      { pragma: 'no-cache', 'cache-control': 'max-age=5' },
      { noCache: false, noStore: false, onlyIfCached: false, maxAge: 5 },
    ],
    [{ 'Cache-Control': 'no-cache' }, { noCache: true, noStore: false, onlyIfCached: false }],
    [{ 'cache-control': ['max-age=5', 'max-age=1'] }, { noCache: false, noStore: false, onlyIfCached: false, maxAge: 5 }],
    [{ 'cache-control': `no-cache, x="${'a'.repeat(9000)}"` }, { noCache: false, noStore: false, onlyIfCached: false }],
  ];
  for (const [h, want] of cases) assert.deepEqual(readRequest(h), want, JSON.stringify(h).slice(0, 80));
});

/* ---------------------------------------------------------------- freshness */

test('freshness lifetime: s-maxage > max-age > Expires − Date > heuristic > default TTL; invalid explicit values are already stale (table)', () => {
  const cases: [string, Headers, number, CacheSettings, number, string][] = [
    ['max-age', { 'cache-control': 'max-age=3600' }, 200, settings, 3600 * S, 'max-age'],
    ['max-age=0', { 'cache-control': 'max-age=0' }, 200, settings, 0, 'max-age'],
    ['max-age capped at 2^31', { 'cache-control': 'max-age=99999999999' }, 200, settings, 2 ** 31 * S, 'max-age'],
    ['s-maxage wins when shorter', { 'cache-control': 'max-age=3600, s-maxage=1' }, 200, settings, 1 * S, 's-maxage'],
    ['s-maxage wins reversed', { 'cache-control': 's-maxage=1, max-age=3600' }, 200, settings, 1 * S, 's-maxage'],
    ['s-maxage wins across lines', { 'cache-control': ['max-age=3600', 's-maxage=1'] }, 200, settings, 1 * S, 's-maxage'],
    ['s-maxage wins when longer', { 'cache-control': 'max-age=1, s-maxage=3600' }, 200, settings, 3600 * S, 's-maxage'],
    ['invalid s-maxage: stale', { 'cache-control': 's-maxage=abc, max-age=3600' }, 200, settings, 0, 's-maxage'],
    ['negative max-age: stale', { 'cache-control': 'max-age=-3600' }, 200, settings, 0, 'max-age'],
    ['decimal max-age: stale', { 'cache-control': 'max-age=3600.5' }, 200, settings, 0, 'max-age'],
    ['space before =: stale', { 'cache-control': 'max-age =3600' }, 200, settings, 0, 'max-age'],
    ['single quotes: stale', { 'cache-control': "max-age='3600'" }, 200, settings, 0, 'max-age'],
    ['quoted max-age accepted', { 'cache-control': 'max-age="3600"' }, 200, settings, 3600 * S, 'max-age'],
    ['max-age inside a quoted extension ignored', { 'cache-control': 'ext="max-age=3600", max-age=1' }, 200, settings, 1 * S, 'max-age'],
    ['full-width digits are no digits', { 'cache-control': 'max-age=３６００' }, 200, settings, 0, 'max-age'],
    ['a NUL in the value', { 'cache-control': 'max-age=36\u000000' }, 200, settings, 0, 'max-age'],
    ['a directive name with non-ASCII is skipped', { 'cache-control': 'mäx-age=5, max-age=60' }, 200, settings, 60 * S, 'max-age'],
    ['first max-age used', { 'cache-control': 'max-age=1800, max-age=1' }, 200, settings, 1800 * S, 'max-age'],
    ['max-age over Expires', { 'cache-control': 'max-age=3600', expires: at(-7200), date: at(0) }, 200, settings, 3600 * S, 'max-age'],
    ['max-age=0 over a future Expires', { 'cache-control': 'max-age=0', expires: at(3600), date: at(0) }, 200, settings, 0, 'max-age'],
    ['Expires − Date', { expires: at(2_592_000), date: at(0) }, 200, settings, 2_592_000 * S, 'expires'],
    ['Expires in the past', { expires: at(-10), date: at(0) }, 200, settings, 0, 'expires'],
    ['Expires before Date', { expires: at(300), date: at(400) }, 200, settings, 0, 'expires'],
    ['Expires: 0 is already expired', { expires: '0', date: at(0) }, 200, settings, 0, 'expires'],
    ['Expires in UTC is invalid', { expires: 'Thu, 18 Aug 2050 02:01:18 UTC', date: at(0) }, 200, settings, 0, 'expires'],
    ['Expires on two lines is invalid', { expires: [at(100), at(101)], date: at(0) }, 200, settings, 0, 'expires'],
    ['Expires with an invalid Date uses the response time', { expires: at(10), date: 'foo' }, 200, settings, 10 * S, 'expires'],
    ['Expires without Date uses the response time', { expires: at(10) }, 200, settings, 10 * S, 'expires'],
    [
      'Expires with an RFC 850 date',
      { expires: 'Thursday, 18-Aug-50 02:01:18 GMT', date: at(0) },
      200,
      settings,
      Date.UTC(2050, 7, 18, 2, 1, 18) - T0,
      'expires',
    ],
    ['heuristic: 10% of Date − Last-Modified', { 'last-modified': at(-86_400), date: at(0) }, 200, settings, 8640 * S, 'heuristic'],
    ['heuristic capped', { 'last-modified': at(-86_400 * 365), date: at(0) }, 200, settings, 86_400 * S, 'heuristic'],
    ['heuristic on 404', { 'last-modified': at(-1000), date: at(0) }, 404, settings, 100 * S, 'heuristic'],
    ['no heuristic on 403', { 'last-modified': at(-1000), date: at(0) }, 403, settings, 0, 'none'],
    ['no heuristic on 599', { 'last-modified': at(-1000), date: at(0) }, 599, settings, 0, 'none'],
    ['heuristic on 599 when public', { 'last-modified': at(-1000), date: at(0), 'cache-control': 'public' }, 599, settings, 100 * S, 'heuristic'],
    ['no heuristic when off', { 'last-modified': at(-1000), date: at(0) }, 200, noHeuristic, 0, 'none'],
    ['no heuristic from a future Last-Modified', { 'last-modified': at(1000), date: at(0) }, 200, settings, 0, 'none'],
    ['no heuristic from an invalid Last-Modified', { 'last-modified': 'yesterday', date: at(0) }, 200, settings, 0, 'none'],
    ['default TTL without freshness information', {}, 200, { ...settings, defaultTtlMs: 60 * S }, 60 * S, 'default'],
    ['heuristic before default TTL', { 'last-modified': at(-1000), date: at(0) }, 200, { ...settings, defaultTtlMs: 60 * S }, 100 * S, 'heuristic'],
    ['no default TTL for a 503', {}, 503, { ...settings, defaultTtlMs: 60 * S }, 0, 'none'],
    ['maxTtlMs caps explicit freshness', { 'cache-control': 'max-age=3600' }, 200, { ...settings, maxTtlMs: 10 * S }, 10 * S, 'max-age'],
    ['nothing', {}, 200, settings, 0, 'none'],
  ];
  for (const [name, headers, status, s, ms, source] of cases) {
    assert.deepEqual(freshness({ status, headers, responseTime: T0 }, s), { lifetimeMs: ms, source }, name);
    assert.equal(freshnessLifetimeMs({ status, headers, responseTime: T0 }, s), ms, name);
  }
});

/* ---------------------------------------------------------------- age */

test('the Age value: first valid member, parameters cut, invalid members ignored, capped at 2^31 (table)', () => {
  const cases: [Headers, number][] = [
    [{}, 0],
    [{ age: '30' }, 30],
    [{ age: 'abc' }, 0],
    [{ age: '-7200' }, 0],
    [{ age: '7200.0' }, 0],
    [{ age: '7200, 0' }, 7200],
    [{ age: '0, 7200' }, 0],
    [{ age: ['7200', '0'] }, 7200],
    [{ age: ['0', '7200'] }, 0],
    [{ age: 'abc, 5' }, 5],
    [{ age: '7200;foo=bar' }, 7200],
    [{ age: '2147483648' }, 2 ** 31],
    [{ age: '99999999999999999999' }, 2 ** 31],
    [{ age: '' }, 0],
    [{ age: ' 12 ' }, 12],
    [{ age: `${'x,'.repeat(5000)}5` }, 0],
  ];
  for (const [h, want] of cases) assert.equal(ageValue(h), want, JSON.stringify(h).slice(0, 60));
});

test('current age (RFC 9111 §4.2.3): apparent age, corrected Age, response delay, resident time (table)', () => {
  const cases: [string, StoredResponse, number, number][] = [
    ['just arrived', entry({ date: at(0) }), T0, 0],
    ['resident 10 s', entry({ date: at(0) }), T0 + 10 * S, 10 * S],
    ['Date 5 s before arrival', entry({ date: at(-5) }), T0, 5 * S],
    ['Date in the future is no negative age', entry({ date: at(100) }), T0, 0],
    ['Age header', entry({ date: at(0), age: '30' }), T0 + 2 * S, 32 * S],
    ['Age plus response delay', entry({ date: at(0), age: '30' }, { requestTime: T0 - 3 * S }), T0, 33 * S],
    ['apparent age wins when larger', entry({ date: at(-100), age: '30' }), T0, 100 * S],
    ['invalid Date ignored', entry({ date: 'garbage' }), T0 + S, S],
    ['huge Age', entry({ age: '2147483648' }), T0, 2 ** 31 * S],
    ['now before the response time counts no resident time', entry({}), T0 - 5 * S, 0],
  ];
  for (const [name, e, now, want] of cases) assert.equal(currentAgeMs(e, now), want, name);
  assert.equal(ageHeader(entry({ age: '30' }), T0 + 2_999), '32');
  assert.equal(ageHeader(entry({ age: '2147483648' }), T0 + 10 * S), String(2 ** 31));
});

/* ---------------------------------------------------------------- storing */

const req = (o: Partial<StoreInput> = {}): StoreInput => ({
  method: 'GET',
  status: 200,
  reqHeaders: {},
  resHeaders: { 'cache-control': 'max-age=3600', date: at(0) },
  credentialed: false,
  requestTime: T0,
  responseTime: T0,
  ...o,
});
const withRes = (resHeaders: Headers, o: Partial<StoreInput> = {}): StoreInput => req({ resHeaders, ...o });

test('what a shared cache stores and why not (table)', () => {
  const cases: [string, StoreInput, CacheSettings, true | string][] = [
    ['a GET 200 with max-age', req(), settings, true],
    ['HEAD never creates an entry', req({ method: 'HEAD' }), settings, 'method'],
    ['POST', req({ method: 'POST' }), settings, 'method'],
    ['lowercase get is another method', req({ method: 'get' }), settings, 'method'],
    ['1xx', req({ status: 103 }), settings, 'status'],
    ['304', req({ status: 304 }), settings, 'status'],
    ['600', req({ status: 600 }), settings, 'status'],
    ['206', req({ status: 206 }), settings, 'partial'],
    ['no-store', withRes({ 'cache-control': 'max-age=10000, no-store' }), settings, 'no-store'],
    ['No-StOrE', withRes({ 'cache-control': 'No-StOrE' }), settings, 'no-store'],
    ['malformed no-store still counts', withRes({ 'cache-control': 'max-age=60, no-store =1' }), settings, 'no-store'],
    ['private', withRes({ 'cache-control': 'private, max-age=3600' }), settings, 'private'],
    ['qualified private', withRes({ 'cache-control': 'private="x-user", max-age=3600' }), settings, 'private'],
    ['request no-store', req({ reqHeaders: { 'cache-control': 'no-store' } }), settings, 'request-no-store'],
    ['Vary: *', withRes({ 'cache-control': 'max-age=60', vary: '*' }), settings, 'vary-star'],
    ['Vary: *, *', withRes({ 'cache-control': 'max-age=60', vary: '*, *' }), settings, 'vary-star'],
    ['Vary: , *', withRes({ 'cache-control': 'max-age=60', vary: ', *' }), settings, 'vary-star'],
    ['Vary lines "" and *', withRes({ 'cache-control': 'max-age=60', vary: ['', '*'] }), settings, 'vary-star'],
    ['Vary: Foo, *', withRes({ 'cache-control': 'max-age=60', vary: 'Foo, *' }), settings, 'vary-star'],
    [
      'Vary over the bounds',
      withRes({ 'cache-control': 'max-age=60', vary: Array.from({ length: 70 }, (_, i) => `h${i}`).join(',') }),
      settings,
      'vary-unparseable',
    ],
    ['Authorization without permission', req({ reqHeaders: { authorization: 'Bearer x' } }), settings, 'authorization'],
    ['credentialed flag without permission', req({ credentialed: true }), settings, 'authorization'],
    ['Authorization with public', req({ reqHeaders: { authorization: 'Bearer x' }, resHeaders: { 'cache-control': 'public, max-age=60' } }), settings, true],
    ['Authorization with s-maxage', req({ reqHeaders: { authorization: 'Bearer x' }, resHeaders: { 'cache-control': 's-maxage=60' } }), settings, true],
    ['Authorization with must-revalidate', req({ credentialed: true, resHeaders: { 'cache-control': 'max-age=60, must-revalidate' } }), settings, true],
    [
      'Authorization with a malformed public',
      req({ credentialed: true, resHeaders: { 'cache-control': 'public=1 2, max-age=60' } }),
      settings,
      'authorization',
    ],
    ['Set-Cookie', withRes({ 'cache-control': 'max-age=60', 'set-cookie': 'a=b' }), settings, 'set-cookie'],
    ['Set-Cookie even with public', withRes({ 'cache-control': 'public, max-age=60', 'set-cookie': ['a=b', 'c=d'] }), settings, 'set-cookie'],
    ['Set-Cookie2', withRes({ 'cache-control': 'max-age=60', 'set-cookie2': 'a=b' }), settings, 'set-cookie'],
    ['unparseable Cache-Control', withRes({ 'cache-control': `max-age=60, x="${'a'.repeat(9000)}"` }), settings, 'cache-control-unparseable'],
    ['must-understand on an understood status ignores no-store', withRes({ 'cache-control': 'max-age=3600, no-store, must-understand' }), settings, true],
    ['must-understand on 599', req({ status: 599, resHeaders: { 'cache-control': 'max-age=3600, no-store, must-understand' } }), settings, 'must-understand'],
    ['599 with max-age', req({ status: 599, resHeaders: { 'cache-control': 'max-age=3600' } }), settings, true],
    ['500 with max-age', req({ status: 500, resHeaders: { 'cache-control': 'max-age=3600' } }), settings, true],
    ['403 with only Last-Modified', req({ status: 403, resHeaders: { 'last-modified': at(-86_400), date: at(0) } }), settings, 'no-freshness'],
    ['502 with only Last-Modified', req({ status: 502, resHeaders: { 'last-modified': at(-86_400), date: at(0) } }), settings, 'no-freshness'],
    ['404 heuristically', req({ status: 404, resHeaders: { 'last-modified': at(-86_400), date: at(0) } }), settings, true],
    ['599 public heuristically', req({ status: 599, resHeaders: { 'last-modified': at(-86_400), date: at(0), 'cache-control': 'public' } }), settings, true],
    ['200 with no freshness and no validator', withRes({ date: at(0) }), settings, 'no-freshness'],
    ['200 with only Last-Modified, heuristics off: stored to revalidate', withRes({ 'last-modified': at(-86_400), date: at(0) }), noHeuristic, true],
    ['200 with only an ETag: stored to revalidate', withRes({ etag: '"a"' }), settings, true],
    ['no-cache with a validator', withRes({ 'cache-control': 'no-cache', etag: '"a"' }), settings, true],
    ['no-cache without a validator', withRes({ 'cache-control': 'max-age=10000, no-cache' }), settings, 'stale-without-validator'],
    ['max-age=0 without a validator', withRes({ 'cache-control': 'max-age=0' }), settings, 'stale-without-validator'],
    ['max-age=0 with stale-while-revalidate', withRes({ 'cache-control': 'max-age=0, stale-while-revalidate=60' }), settings, true],
    ['arrives older than its lifetime', withRes({ 'cache-control': 'max-age=3600', age: '7200' }), settings, 'stale-without-validator'],
    ['Expires in the past', withRes({ expires: at(-5000), 'last-modified': at(-100_000), date: at(0) }), settings, true],
  ];
  for (const [name, input, s, want] of cases) {
    const v = storable(input, s);
    if (want === true) assert.equal(v.store, true, `${name}: ${JSON.stringify(v)}`);
    else assert.deepEqual(v, { store: false, reason: want }, name);
  }
});

test('a stored verdict carries the lifetime, the age on arrival and how long to keep the entry', () => {
  // kept keepStaleMs past its freshness without a validator too: a request's max-stale or a HEAD may still use it
  assert.deepEqual(storable(req(), settings), { store: true, lifetimeMs: 3600 * S, source: 'max-age', initialAgeMs: 0, keepMs: 3600 * S + 3600 * S });
  assert.deepEqual(storable(withRes({ 'cache-control': 'max-age=100', age: '40', etag: '"x"' }), settings), {
    store: true,
    lifetimeMs: 100 * S,
    source: 'max-age',
    initialAgeMs: 40 * S,
    keepMs: 60 * S + 3600 * S,
  });
  const swr = storable(withRes({ 'cache-control': 'max-age=10, stale-while-revalidate=50, stale-if-error=300' }), settings);
  assert.ok(swr.store && swr.keepMs === 10 * S + 3600 * S, 'the longest of the stale windows and keepStaleMs');
  const short = storable(withRes({ 'cache-control': 'max-age=10, stale-while-revalidate=50' }), { ...settings, keepStaleMs: 0 });
  assert.ok(short.store && short.keepMs === 60 * S);
  const mr = storable(withRes({ 'cache-control': 'max-age=10, must-revalidate, stale-if-error=300' }), settings);
  assert.ok(mr.store && mr.keepMs === 10 * S, 'must-revalidate without a validator: no use once stale');
});

/* ---------------------------------------------------------------- variants */

test('Vary: request values recorded lowercase-named and normalised; null without Vary; * for Vary: * (table)', () => {
  const cases: [Headers, Headers, unknown][] = [
    [{}, { foo: '1' }, null],
    [{ vary: '' }, { foo: '1' }, null],
    [{ vary: '*' }, { foo: '1' }, '*'],
    [{ vary: 'Foo' }, { foo: '1' }, { foo: '1' }],
    [{ vary: 'Foo' }, {}, { foo: null }],
    [{ vary: 'Foo, BAR, foo' }, { foo: ' 1 ,  2 ', bar: 'x   y' }, { foo: '1, 2', bar: 'x y' }],
    [{ vary: ['Foo', 'Bar'] }, { foo: ['1', '2'] }, { foo: '1, 2', bar: null }],
    [{ vary: 'Accept-Encoding' }, { 'Accept-Encoding': 'gzip' }, { 'accept-encoding': 'gzip' }],
    [{ vary: 'constructor, __proto__' }, {}, { constructor: null, ['__proto__']: null }],
    [{ vary: 'Foo Bar' }, { foo: '1' }, '*'],
  ];
  for (const [res, rq, want] of cases) {
    const got = varyOf(res, rq);
    if (want !== null && typeof want === 'object') assert.deepEqual({ ...(got as object) }, want, JSON.stringify(res));
    else assert.equal(got, want, JSON.stringify(res));
  }
  const proto = varyOf({ vary: '__proto__' }, {});
  assert.ok(proto !== null && proto !== '*' && Object.hasOwn(proto, '__proto__'), 'a field named __proto__ is an own key, not the prototype');
});

test('the newest variant whose Vary values match answers; absent must match absent (table)', () => {
  const a = entry({}, { vary: { foo: '1' }, responseTime: T0 });
  const b = entry({}, { vary: { foo: '2' }, responseTime: T0 + S });
  const none = entry({}, { vary: { foo: null }, responseTime: T0 });
  const two = entry({}, { vary: { foo: '1', bar: 'abc' }, responseTime: T0 });
  const a2 = entry({}, { vary: { foo: '1' }, responseTime: T0 + 5 * S });
  const plain = entry({}, { vary: null, responseTime: T0 - S });
  const cases: [readonly StoredResponse[], Headers, StoredResponse | null][] = [
    [[a, b], { foo: '1' }, a],
    [[a, b], { foo: '2' }, b],
    [[a, b], { foo: '3' }, null],
    [[a, b], {}, null],
    [[none], {}, none],
    [[none], { foo: '1' }, null],
    [[two], { foo: '1', bar: 'abc' }, two],
    [[two], { foo: '1', bar: 'abcde' }, null],
    [[two], { foo: '1' }, null],
    [[two], { foo: '1', bar: 'abc', other: 'x' }, two],
    [[a, a2], { foo: '1' }, a2],
    [[a2, a], { foo: '1' }, a2],
    [[plain, a], { foo: '1' }, a],
    [[plain], { foo: '9' }, plain],
    [[], { foo: '1' }, null],
  ];
  for (const [vs, rq, want] of cases) assert.equal(matchVariant(vs, rq), want, JSON.stringify(rq));
  const combined = entry({}, { vary: { foo: '1, 2' } });
  assert.equal(matchVariant([combined], { foo: ['1', '2'] }), combined, 'repeated lines equal one combined line');
  assert.equal(matchVariant([combined], { foo: ' 1 ,2 ' }), combined, 'whitespace around members does not matter');
  const ctor = entry({}, { vary: { constructor: null } });
  assert.equal(matchVariant([ctor], {}), ctor, 'a Vary on `constructor` reads the request header, not Object.prototype');
  assert.equal(matchVariant([ctor], { constructor: 'x' }), null);
});

/* ---------------------------------------------------------------- lookup */

const rq = (h: Headers = {}) => readRequest(h);
const kind = (r: LookupResult): string => ('fwd' in r ? `${r.kind}:${r.fwd}` : r.kind);

test('lookup: fresh, stale, stale-while-revalidate, revalidate or miss (table)', () => {
  const cases: [string, StoredResponse, Headers, number, string][] = [
    ['fresh', entry({ 'cache-control': 'max-age=3600' }), {}, T0 + 10 * S, 'fresh'],
    ['stale without validator', entry({ 'cache-control': 'max-age=2' }), {}, T0 + 3 * S, 'miss:stale'],
    ['stale at exactly the lifetime', entry({ 'cache-control': 'max-age=2' }), {}, T0 + 2 * S, 'miss:stale'],
    ['stale with ETag', entry({ 'cache-control': 'max-age=2', etag: '"a"' }), {}, T0 + 3 * S, 'revalidate:stale'],
    ['stale with Last-Modified', entry({ 'cache-control': 'max-age=2', 'last-modified': at(-100) }), {}, T0 + 3 * S, 'revalidate:stale'],
    ['Age beyond max-age', entry({ 'cache-control': 'max-age=3600', age: '7200', date: at(0) }), {}, T0 + S, 'miss:stale'],
    ['Expires with a slow Date and Age', entry({ date: at(-10), expires: at(10), age: '25' }), {}, T0, 'miss:stale'],
    ['Expires with a fast Date and Age', entry({ date: at(10), expires: at(20), age: '15' }), {}, T0, 'miss:stale'],
    ['no-cache on the response', entry({ 'cache-control': 'max-age=10000, no-cache', etag: '"a"' }), {}, T0 + S, 'revalidate:stale'],
    ['qualified no-cache counts as no-cache', entry({ 'cache-control': 'max-age=10000, no-cache="a"', etag: '"a"' }), {}, T0 + S, 'revalidate:stale'],
    ['request no-cache', entry({ 'cache-control': 'max-age=3600', etag: '"a"' }), { 'cache-control': 'no-cache' }, T0 + S, 'revalidate:request'],
    ['request Pragma: no-cache', entry({ 'cache-control': 'max-age=3600' }), { pragma: 'no-cache' }, T0 + S, 'miss:request'],
    ['request max-age=0', entry({ 'cache-control': 'max-age=100000' }), { 'cache-control': 'max-age=0' }, T0, 'miss:request'],
    ['request max-age below the age', entry({ 'cache-control': 'max-age=100000', age: '1800' }), { 'cache-control': 'max-age=600' }, T0, 'miss:request'],
    ['request max-age above the age', entry({ 'cache-control': 'max-age=100000' }), { 'cache-control': 'max-age=600' }, T0 + 10 * S, 'fresh'],
    ['request min-fresh not met', entry({ 'cache-control': 'max-age=1500' }), { 'cache-control': 'min-fresh=2000' }, T0, 'miss:request'],
    ['request min-fresh with Age', entry({ 'cache-control': 'max-age=1500', age: '1000' }), { 'cache-control': 'min-fresh=1000' }, T0, 'miss:request'],
    ['request min-fresh met', entry({ 'cache-control': 'max-age=1500' }), { 'cache-control': 'min-fresh=1000' }, T0, 'fresh'],
    ['request max-stale allows stale', entry({ 'cache-control': 'max-age=2' }), { 'cache-control': 'max-stale=1000' }, T0 + 10 * S, 'stale'],
    ['request max-stale with Age', entry({ 'cache-control': 'max-age=1500', age: '2000' }), { 'cache-control': 'max-stale=1000' }, T0, 'stale'],
    ['request max-stale exceeded', entry({ 'cache-control': 'max-age=2' }), { 'cache-control': 'max-stale=5' }, T0 + 10 * S, 'miss:stale'],
    ['bare max-stale', entry({ 'cache-control': 'max-age=2' }), { 'cache-control': 'max-stale' }, T0 + 10_000 * S, 'stale'],
    ['max-stale vs must-revalidate', entry({ 'cache-control': 'max-age=2, must-revalidate' }), { 'cache-control': 'max-stale' }, T0 + 10 * S, 'miss:stale'],
    ['max-stale vs proxy-revalidate', entry({ 'cache-control': 'max-age=2, proxy-revalidate' }), { 'cache-control': 'max-stale' }, T0 + 10 * S, 'miss:stale'],
    ['max-stale vs s-maxage', entry({ 'cache-control': 's-maxage=2' }), { 'cache-control': 'max-stale' }, T0 + 10 * S, 'miss:stale'],
    ['must-revalidate while fresh', entry({ 'cache-control': 'max-age=10000, must-revalidate', etag: '"a"' }), {}, T0 + S, 'fresh'],
    ['must-revalidate once stale', entry({ 'cache-control': 'max-age=2, must-revalidate', etag: '"a"' }), {}, T0 + 3 * S, 'revalidate:stale'],
    ['stale-while-revalidate window', entry({ 'cache-control': 'max-age=1, stale-while-revalidate=4', etag: '"a"' }), {}, T0 + 3 * S, 'stale-while-revalidate'],
    [
      'after the stale-while-revalidate window',
      entry({ 'cache-control': 'max-age=1, stale-while-revalidate=4', etag: '"a"' }),
      {},
      T0 + 6 * S,
      'revalidate:stale',
    ],
    [
      'stale-while-revalidate vs must-revalidate',
      entry({ 'cache-control': 'max-age=1, stale-while-revalidate=60, must-revalidate' }),
      {},
      T0 + 3 * S,
      'miss:stale',
    ],
    [
      'stale-while-revalidate vs request max-age',
      entry({ 'cache-control': 'max-age=1, stale-while-revalidate=60' }),
      { 'cache-control': 'max-age=1' },
      T0 + 3 * S,
      'miss:request',
    ],
    ['invalid max-age is stale', entry({ 'cache-control': 'max-age=abc', etag: '"a"' }), {}, T0, 'revalidate:stale'],
    ['heuristic freshness', entry({ 'last-modified': at(-86_400), date: at(0) }), {}, T0 + 100 * S, 'fresh'],
    ['heuristic off: revalidate', entry({ 'last-modified': at(-86_400), date: at(0) }), {}, T0 + S, 'revalidate:stale'],
    ['unparseable stored Cache-Control', entry({ 'cache-control': `max-age=60, x="${'a'.repeat(9000)}"` }), {}, T0, 'miss:stale'],
  ];
  for (const [name, e, h, now, want] of cases) {
    const s = name.startsWith('heuristic off') ? noHeuristic : settings;
    assert.equal(kind(lookup(e, rq(h), now, s)), want, name);
  }
});

test('lookup reports age and remaining freshness in whole seconds', () => {
  assert.deepEqual(lookup(entry({ 'cache-control': 'max-age=100', age: '10' }), rq(), T0 + 5_500, settings), { kind: 'fresh', ageS: 15, ttlS: 84 });
  assert.deepEqual(lookup(entry({ 'cache-control': 'max-age=1, stale-while-revalidate=60' }), rq(), T0 + 3 * S, settings), {
    kind: 'stale-while-revalidate',
    ageS: 3,
    ttlS: -2,
  });
});

test('only-if-cached: 504 unless the entry can be served as it is', () => {
  const oic = rq({ 'cache-control': 'only-if-cached' });
  assert.equal(onlyIfCachedFails(oic, null), true);
  assert.equal(onlyIfCachedFails(oic, { kind: 'revalidate', fwd: 'stale' }), true);
  assert.equal(onlyIfCachedFails(oic, { kind: 'miss', fwd: 'stale' }), true);
  assert.equal(onlyIfCachedFails(oic, { kind: 'fresh', ageS: 1, ttlS: 1 }), false);
  assert.equal(onlyIfCachedFails(oic, { kind: 'stale-while-revalidate', ageS: 1, ttlS: -1 }), false);
  assert.equal(onlyIfCachedFails(rq(), null), false);
});

/* ---------------------------------------------------------------- validation */

test('conditional request headers: the stored ETag and Last-Modified, when well-formed (table)', () => {
  const lm = at(-3000);
  const cases: [Headers, object][] = [
    [{}, {}],
    [{ etag: '"abc"' }, { 'if-none-match': '"abc"' }],
    [{ etag: 'W/"abc"' }, { 'if-none-match': 'W/"abc"' }],
    [{ etag: 'abc' }, {}],
    [{ etag: '"a"b"' }, {}],
    [{ etag: ['"a"', '"b"'] }, {}],
    [{ 'last-modified': lm }, { 'if-modified-since': lm }],
    [{ 'last-modified': 'yesterday' }, {}],
    [
      { etag: '"x"', 'last-modified': lm, date: at(0) },
      { 'if-none-match': '"x"', 'if-modified-since': lm },
    ],
    [{ date: at(0) }, {}],
  ];
  for (const [h, want] of cases) assert.deepEqual(conditionalHeaders(entry(h)), want, JSON.stringify(h));
});

test('a 304 selects the stored response as RFC 9111 §4.3.4 says: strong ETag strongly, weak ETag weakly, else Last-Modified, else none (table)', () => {
  const lm = at(-3000);
  // stored, 304, the request's validators were the entry's alone, selected
  const cases: [Headers, Headers, boolean, boolean][] = [
    [{ etag: '"a"' }, { etag: '"a"' }, false, true],
    [{ etag: '"a"' }, { etag: 'W/"a"' }, false, true],
    [{ etag: 'W/"a"' }, { etag: 'W/"a"' }, false, true],
    [{ etag: 'W/"a"' }, { etag: '"a"' }, false, false],
    [{ etag: '"a"' }, { etag: '"b"' }, true, false],
    [{ etag: '"a"' }, { etag: 'a' }, true, false],
    [{}, { etag: '"a"' }, true, false],
    [{ 'last-modified': lm }, { 'last-modified': lm }, false, true],
    [{ 'last-modified': lm }, { 'last-modified': at(0) }, true, false],
    [{ etag: '"a"', 'last-modified': lm }, { 'last-modified': lm }, false, true],
    [{}, {}, false, true],
    [{ etag: '"a"' }, {}, false, false],
    // a 304 without validators answers the conditional request made from this entry's validators alone
    [{ etag: '"a"' }, {}, true, true],
    [{ 'last-modified': lm }, {}, true, true],
  ];
  for (const [stored, fresh, own, want] of cases) assert.equal(validatorsMatch(entry(stored), fresh, own), want, JSON.stringify([stored, fresh, own]));
});

test('a request no variant answers carries the stored variants ETags; the 304 names the one to reuse (table)', () => {
  const a = entry({ etag: '"a"', vary: 'accept' }, { responseTime: T0 });
  const a2 = entry({ etag: 'W/"a"', vary: 'accept' }, { responseTime: T0 + S });
  const b = entry({ etag: '"b"', vary: 'accept' }, { responseTime: T0 });
  const none = entry({ vary: 'accept' });
  const bad = entry({ etag: 'b', vary: 'accept' });
  assert.equal(candidateEtags([a, b, a, none, bad]), '"a", "b"');
  assert.equal(candidateEtags([none, bad]), null);
  const cases: [string, StoredResponse[], Headers, StoredResponse | null][] = [
    ['strong ETag, strong comparison', [a, a2, b], { etag: '"a"' }, a],
    ['weak ETag: the most recent weak match', [a, a2, b], { etag: 'W/"a"' }, a2],
    ['unknown ETag', [a, b], { etag: '"c"' }, null],
    ['no ETag, one candidate', [b, none], {}, b],
    ['no ETag, several candidates', [a, b], {}, null],
  ];
  for (const [name, variants, res, want] of cases) assert.equal(selectCandidate(variants, res), want, name);
});

test('CDN-Cache-Control, when valid and non-empty, replaces Cache-Control and Expires for this cache (RFC 9213, table)', () => {
  const facts = (headers: Headers) => ({ status: 200, headers: { date: at(0), ...headers }, responseTime: T0 });
  const cases: [string, Headers, number, string][] = [
    ['max-age over a shorter Cache-Control', { 'cache-control': 'max-age=1', 'cdn-cache-control': 'max-age=3600' }, 3600 * S, 'max-age'],
    ['max-age over a longer Cache-Control', { 'cache-control': 'max-age=3600', 'cdn-cache-control': 'max-age=1' }, 1 * S, 'max-age'],
    ['Expires ignored', { expires: at(10_000), 'cdn-cache-control': 'max-age=0' }, 0, 'max-age'],
    ['invalid Expires ignored', { expires: '0', 'cdn-cache-control': 'max-age=60' }, 60 * S, 'max-age'],
    ['an extension member', { 'cdn-cache-control': 'foobar, max-age=60' }, 60 * S, 'max-age'],
    ['above 2^31', { 'cdn-cache-control': 'max-age=99999999999' }, 2 ** 31 * S, 'max-age'],
    ['a string max-age is invalid: stale', { 'cache-control': 'max-age=60', 'cdn-cache-control': 'max-age="60"' }, 0, 'max-age'],
    ['not a Dictionary: ignored', { 'cache-control': 'max-age=60', 'cdn-cache-control': 'max-age=10, &&&' }, 60 * S, 'max-age'],
    ['uppercase key: not a Dictionary', { 'cache-control': 'max-age=60', 'cdn-cache-control': 'MaX-aGe=10' }, 60 * S, 'max-age'],
    ['space before =: not a Dictionary', { 'cache-control': 'max-age=60', 'cdn-cache-control': 'max-age =10' }, 60 * S, 'max-age'],
    ['empty: ignored', { 'cache-control': 'max-age=60', 'cdn-cache-control': '' }, 60 * S, 'max-age'],
  ];
  for (const [name, h, ms, source] of cases) assert.deepEqual(freshness(facts(h), settings), { lifetimeMs: ms, source }, name);
  const st = (h: Headers) => storable(withRes({ date: at(0), ...h }), settings);
  assert.deepEqual(st({ 'cache-control': 'max-age=60', 'cdn-cache-control': 'no-store' }), { store: false, reason: 'no-store' });
  assert.deepEqual(st({ 'cache-control': 'max-age=60', 'cdn-cache-control': 'private' }), { store: false, reason: 'private' });
  assert.equal(st({ 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' }).store, true);
  assert.deepEqual(st({ 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=10, &&&' }), { store: false, reason: 'no-store' });
  const nc = entry({ 'cache-control': 'max-age=3600', 'cdn-cache-control': 'no-cache', etag: '"a"', date: at(0) });
  assert.equal(lookup(nc, readRequest({}), T0 + S, settings).kind, 'revalidate');
});

test('freshen: the 304 replaces stored fields except Content-Length and hop-by-hop ones, keeps the body, takes the new times', () => {
  const old = entry({
    'cache-control': 'max-age=2',
    etag: '"e"',
    'test-header': 'a',
    'content-length': '36',
    'content-type': 'text/plain',
    'x-kept': 'yes',
    date: at(0),
  });
  const got = freshen(
    old,
    {
      'cache-control': 'max-age=3600',
      etag: '"e"',
      'Test-Header': 'b',
      'content-length': '10',
      'content-type': 'text/plain;charset=utf-8',
      connection: 'x-hop',
      'x-hop': '1',
      'keep-alive': 'timeout=5',
      'set-cookie': 'a=b',
      date: at(100),
    },
    T0 + 99 * S,
    T0 + 100 * S,
  );
  assert.deepEqual(got.headers, {
    etag: '"e"',
    'content-length': '36',
    'x-kept': 'yes',
    'cache-control': 'max-age=3600',
    'test-header': 'b',
    'content-type': 'text/plain;charset=utf-8',
    date: at(100),
  });
  assert.equal(got.body, old.body);
  assert.equal(got.requestTime, T0 + 99 * S);
  assert.equal(got.responseTime, T0 + 100 * S);
  assert.equal(old.headers['test-header'], 'a', 'the stored entry is not mutated');
  assert.equal(kind(lookup(got, rq(), T0 + 200 * S, settings)), 'fresh');
});

test('freshen restarts the age from the 304: its Age replaces the stored one, none drops it; no Date means the response time', () => {
  const old = entry({ 'cache-control': 'max-age=60', age: '50', date: at(-50) }, { requestTime: T0, responseTime: T0 });
  const t = T0 + 100 * S;
  const cases: [string, Headers, Headers][] = [
    ['no Age, no Date', { 'cache-control': 'max-age=60' }, { 'cache-control': 'max-age=60', date: formatHttpDate(t) }],
    ['an Age', { age: '5', date: formatHttpDate(t) }, { 'cache-control': 'max-age=60', age: '5', date: formatHttpDate(t) }],
  ];
  for (const [name, h, want] of cases) {
    const got = freshen(old, h, t, t);
    assert.deepEqual(got.headers, want, name);
  }
  assert.equal(currentAgeMs(freshen(old, {}, t, t), t + S), S, 'age restarts at the validation');
  assert.equal(kind(lookup(freshen(old, {}, t, t), rq(), t + S, settings)), 'fresh');
});

test('a HEAD response freshens a stored GET response, or shows it outdated (table)', () => {
  const stored = entry({ 'cache-control': 'max-age=2', etag: '"e"', 'last-modified': at(-10), 'content-length': '5' });
  const cases: [Headers, boolean][] = [
    [{ 'cache-control': 'max-age=60', etag: '"e"', 'content-length': '5' }, true],
    [{ 'cache-control': 'max-age=60' }, true],
    [{ etag: '"f"' }, false],
    [{ 'last-modified': at(-5) }, false],
    [{ 'content-length': '6' }, false],
  ];
  for (const [h, ok] of cases) {
    const got = freshenFromHead(stored, h, T0 + S, T0 + S);
    assert.equal(got !== null, ok, JSON.stringify(h));
    if (got) assert.equal(got.headers['content-length'], '5');
  }
});

test('storedHeaders drops hop-by-hop fields, those Connection names and Set-Cookie, lowercases names', () => {
  assert.deepEqual(
    storedHeaders({
      'Cache-Control': 'max-age=1',
      Connection: 'a, B',
      a: '1',
      b: '2',
      c: '3',
      'keep-alive': 'x',
      'proxy-connection': 'x',
      'proxy-authenticate': 'x',
      'proxy-authentication-info': 'x',
      'proxy-authorization': 'x',
      te: 'x',
      'transfer-encoding': 'chunked',
      upgrade: 'x',
      trailer: 'x',
      'set-cookie': ['a=b'],
      'content-length': '10',
      'content-encoding': 'gzip',
      'x-multi': ['1', '2'],
      age: '5',
    }),
    { 'cache-control': 'max-age=1', c: '3', 'content-length': '10', 'content-encoding': 'gzip', 'x-multi': ['1', '2'], age: '5' },
  );
  assert.deepEqual(storedHeaders({ connection: `${'x'.repeat(9000)}`, c: '1' }), { c: '1' });
});

test('a stored entry that a 304 turned no-store or private is no longer served; must-understand keeps it', () => {
  const old = entry({ 'cache-control': 'max-age=2', etag: '"e"' });
  const cases: [Headers, string][] = [
    [{ 'cache-control': 'max-age=60, no-store', etag: '"e"' }, 'miss:stale'],
    [{ 'cache-control': 'max-age=60, private', etag: '"e"' }, 'miss:stale'],
    [{ 'cache-control': 'max-age=60, no-store, must-understand', etag: '"e"' }, 'fresh'],
    [{ 'cache-control': 'max-age=60', etag: '"e"' }, 'fresh'],
  ];
  for (const [h, want] of cases) assert.equal(kind(lookup(freshen(old, h, T0 + 3 * S, T0 + 3 * S), rq(), T0 + 4 * S, settings)), want, JSON.stringify(h));
});

test("a client's conditional request is answered 304 from a stored 200 (table)", () => {
  const lm = at(-3000);
  const both = entry({ etag: 'W/"v1"', 'last-modified': lm, date: at(0) });
  const cases: [StoredResponse, Headers, boolean][] = [
    [both, {}, false],
    [both, { 'if-none-match': '"v1"' }, true],
    [both, { 'if-none-match': 'W/"v1"' }, true],
    [both, { 'if-none-match': '"v0", "v1"' }, true],
    [both, { 'if-none-match': ['"v0"', 'W/"v1"'] }, true],
    [both, { 'if-none-match': '"v2"' }, false],
    [both, { 'if-none-match': '*' }, true],
    [both, { 'if-none-match': 'v1' }, false],
    [both, { 'if-none-match': '"v2"', 'if-modified-since': at(0) }, false],
    [both, { 'if-modified-since': lm }, true],
    [both, { 'if-modified-since': at(-2000) }, true],
    [both, { 'if-modified-since': at(-4000) }, false],
    [both, { 'if-modified-since': 'Sunday, 06-Nov-94 08:49:37 GMT' }, false],
    [both, { 'if-modified-since': 'garbage' }, false],
    [entry({ date: at(0) }), { 'if-modified-since': at(-3000) }, false],
    [entry({ date: at(0) }), { 'if-modified-since': at(0) }, true],
    [entry({}), { 'if-modified-since': at(0) }, true],
    [entry({ etag: '"v1"' }, { status: 404 }), { 'if-none-match': '"v1"' }, false],
    [both, { 'if-none-match': `${'"x", '.repeat(2000)}"v1"` }, false],
  ];
  for (const [e, h, want] of cases) assert.equal(answersNotModified(e, h), want, JSON.stringify(h).slice(0, 80));
  assert.deepEqual(notModifiedHeaders(entry({ etag: '"a"', 'content-type': 'text/plain', 'cache-control': 'max-age=5', vary: ['a', 'b'] })), {
    'cache-control': 'max-age=5',
    etag: '"a"',
    vary: ['a', 'b'],
  });
});

/* ---------------------------------------------------------------- errors */

test('stale-if-error: 500/502/503/504 and connection failures, within the window, never against must-revalidate (table)', () => {
  const sie = entry({ 'cache-control': 'max-age=2, stale-if-error=60' });
  const plain = entry({ 'cache-control': 'max-age=2' });
  const cases: [string, StoredResponse, Headers, number | 'connection', number, CacheSettings, boolean][] = [
    ['503 within the window', sie, {}, 503, T0 + 30 * S, settings, true],
    ['connection failure within', sie, {}, 'connection', T0 + 30 * S, settings, true],
    ['past the window', sie, {}, 503, T0 + 63 * S, settings, false],
    ['404 is no error', sie, {}, 404, T0 + 30 * S, settings, false],
    ['501 is not listed', sie, {}, 501, T0 + 30 * S, settings, false],
    ['no directive', plain, {}, 503, T0 + 30 * S, settings, false],
    ['request stale-if-error', plain, { 'cache-control': 'stale-if-error=60' }, 502, T0 + 30 * S, settings, true],
    ['request max-stale', plain, { 'cache-control': 'max-stale=60' }, 500, T0 + 30 * S, settings, true],
    ['route default window', plain, {}, 504, T0 + 30 * S, { ...settings, staleIfErrorMs: 60 * S }, true],
    ['must-revalidate', entry({ 'cache-control': 'max-age=2, must-revalidate, stale-if-error=60' }), {}, 'connection', T0 + 3 * S, settings, false],
    ['proxy-revalidate', entry({ 'cache-control': 'max-age=2, proxy-revalidate' }), { 'cache-control': 'stale-if-error=60' }, 503, T0 + 3 * S, settings, false],
    ['no-cache', entry({ 'cache-control': 'max-age=2, no-cache' }), { 'cache-control': 'max-stale' }, 503, T0 + 3 * S, settings, false],
    ['s-maxage', entry({ 'cache-control': 'max-age=2, s-maxage=2' }), {}, 'connection', T0 + 3 * S, { ...settings, staleIfErrorMs: 60 * S }, false],
    ['still fresh', plain, {}, 503, T0 + S, settings, true],
  ];
  for (const [name, e, h, cause, now, s, want] of cases) assert.equal(staleIfErrorAllowed(e, rq(h), cause, now, s), want, name);
});

/* ---------------------------------------------------------------- invalidation */

test('unsafe methods answered 2xx/3xx invalidate the URL and same-host Location / Content-Location (table)', () => {
  const u = 'api.test/items/1?x=1';
  const cases: [string, number, Headers, string[]][] = [
    ['POST', 201, {}, [u]],
    ['PUT', 204, {}, [u]],
    ['DELETE', 200, {}, [u]],
    ['M-SEARCH', 200, {}, [u]],
    ['PATCH', 302, {}, [u]],
    ['post', 200, {}, [u]],
    ['GET', 200, {}, []],
    ['HEAD', 200, {}, []],
    ['OPTIONS', 200, {}, []],
    ['TRACE', 200, {}, []],
    ['POST', 500, {}, []],
    ['POST', 404, {}, []],
    ['POST', 100, {}, []],
    ['POST', 201, { location: '/items/2' }, [u, 'api.test/items/2']],
    ['POST', 201, { location: 'items/2?y=2', 'content-location': 'http://api.test/items/3' }, [u, 'api.test/items/items/2?y=2', 'api.test/items/3']],
    ['POST', 201, { location: 'https://api.test/items/4#frag' }, [u, 'api.test/items/4']],
    ['POST', 201, { location: 'https://evil.test/items/1' }, [u]],
    ['POST', 201, { location: '//evil.test/x' }, [u]],
    ['POST', 201, { location: 'http://api.test:8080/x' }, [u]],
    ['POST', 201, { location: 'javascript:alert(1)' }, [u]],
    ['POST', 201, { location: 'http://[::1' }, [u]],
    ['POST', 201, { location: ['/a', '/b'] }, [u]],
    ['POST', 201, { location: '/items/1?x=1' }, [u]],
    ['POST', 201, { location: `/${'a'.repeat(9000)}` }, [u]],
  ];
  for (const [m, s, h, want] of cases) assert.deepEqual(invalidations(m, s, u, h), want, `${m} ${s} ${JSON.stringify(h).slice(0, 60)}`);
});

/* ---------------------------------------------------------------- Cache-Status */

test('Cache-Status members (RFC 9211) for this cache (table)', () => {
  const cases: [Parameters<typeof cacheStatus>[0], string][] = [
    [{ hit: true, ttlS: 12 }, 'Portcullis; hit; ttl=12'],
    [{ hit: true, ttlS: -3 }, 'Portcullis; hit; ttl=-3'],
    [{ fwd: 'miss', stored: true }, 'Portcullis; fwd=miss; stored'],
    [{ fwd: 'stale', fwdStatus: 304 }, 'Portcullis; fwd=stale; fwd-status=304'],
    [{ fwd: 'uri-miss' }, 'Portcullis; fwd=uri-miss'],
    [{ fwd: 'vary-miss', fwdStatus: 200, stored: true }, 'Portcullis; fwd=vary-miss; fwd-status=200; stored'],
    [{ fwd: 'request' }, 'Portcullis; fwd=request'],
    [{ fwd: 'bypass', detail: 'set-cookie' }, 'Portcullis; fwd=bypass; detail="set-cookie"'],
    [{ fwd: 'bypass', detail: 'a "q" \\ é\r\n' }, 'Portcullis; fwd=bypass; detail="a \\"q\\" \\\\ "'],
    [{ fwd: 'miss', collapsed: true }, 'Portcullis; fwd=miss; collapsed'],
    [{ hit: true, ttlS: Number.POSITIVE_INFINITY }, 'Portcullis; hit'],
    [{ hit: true, ttlS: 1e20 }, `Portcullis; hit; ttl=${2 ** 31}`],
    [{ fwd: 'miss', fwdStatus: 99999 }, 'Portcullis; fwd=miss'],
    [{}, 'Portcullis'],
  ];
  for (const [p, want] of cases) assert.equal(cacheStatus(p), want, JSON.stringify(p));
  assert.ok(cacheStatus({ fwd: 'bypass', detail: 'x'.repeat(1000) }).length < 260, 'detail is bounded');
});

/* ---------------------------------------------------------------- scenarios (cache-tests ids) */

test('scenarios from the conformance suite, end to end through storable and lookup', () => {
  const store = (resHeaders: Headers, status = 200, reqHeaders: Headers = {}) => storable(req({ status, resHeaders, reqHeaders }), noHeuristic);
  // freshness-max-age-s-maxage-shared-longer-multiple
  const e1 = entry({ 'cache-control': ['max-age=3600', 's-maxage=1'] });
  assert.equal(kind(lookup(e1, rq(), T0 + 2 * S, settings)), 'miss:stale');
  // stale-close-s-maxage=2: no stale service on error
  assert.equal(staleIfErrorAllowed(entry({ 'cache-control': 'max-age=2, s-maxage=2' }), rq(), 'connection', T0 + 3 * S, settings), false);
  // cc-resp-no-store-old-new: a no-store response is not stored, the old entry stays
  assert.deepEqual(store({ 'cache-control': 'no-store' }), { store: false, reason: 'no-store' });
  // status-200-stale: Expires in the past wins over Last-Modified heuristics
  const e2 = entry({ expires: at(-5000), 'last-modified': at(-100_000), date: at(0) });
  assert.equal(kind(lookup(e2, rq(), T0 + S, settings)), 'revalidate:stale');
  // heuristic-201-not_cached
  assert.deepEqual(store({ 'last-modified': at(-86_400), date: at(0) }, 201), { store: false, reason: 'no-freshness' });
  // other-age-update-max-age: the Age sent grows from the stored Age
  assert.ok(Number(ageHeader(entry({ 'cache-control': 'max-age=100000', date: at(0), age: '30' }), T0 + 3 * S)) > 32);
});

test('storedHeaders keeps a field named __proto__ as an own data field, never as the prototype', () => {
  const h = JSON.parse('{"__proto__": "x", "content-type": "text/plain"}') as Record<string, string>;
  const out = storedHeaders(h);
  assert.ok(Object.hasOwn(out, '__proto__'));
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out).sort(), ['__proto__', 'content-type']);
});
