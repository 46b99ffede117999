import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientResponseHeaderList, clientResponseHeaders, notForwardedHeaders, rawHeaderObject } from './headers.js';
import { checkUndiciInternals } from './undici-internals.js';

const raw = (...pairs: string[]): Buffer[] => pairs.map((s) => Buffer.from(s, 'latin1'));

test('response header list: names lowercased, hop-by-hop and Connection-listed headers removed, repeats kept', () => {
  const r = raw(
    'Content-Type',
    'application/json',
    'Connection',
    'keep-alive, X-Internal',
    'Keep-Alive',
    'timeout=5',
    'Transfer-Encoding',
    'chunked',
    'X-Internal',
    'secret',
    'Set-Cookie',
    'a=1',
    'set-cookie',
    'b=2',
    'X-Custom',
    'caf\xe9',
  );
  assert.deepEqual(clientResponseHeaderList(r, 'x-request-id', null), [
    'content-type',
    'application/json',
    'set-cookie',
    'a=1',
    'set-cookie',
    'b=2',
    'x-custom',
    'caf\xe9',
  ]);
});

test('response header list: headers the gateway sets itself are left out (request id, stage headers)', () => {
  const r = raw('X-Request-Id', 'from-upstream', 'RateLimit-Remaining', '999', 'ETag', '"1"');
  assert.deepEqual(clientResponseHeaderList(r, 'x-request-id', { 'ratelimit-remaining': '3' }), ['etag', '"1"']);
});

test('the list and the object forms agree', () => {
  const r = raw('Content-Length', '2', 'Upgrade', 'h2c', 'Vary', 'Accept', 'Vary', 'Origin');
  assert.deepEqual(clientResponseHeaders(rawHeaderObject(r)), { 'content-length': '2', vary: ['Accept', 'Origin'] });
  assert.deepEqual(clientResponseHeaderList(r, 'x-request-id', null), ['content-length', '2', 'vary', 'Accept', 'vary', 'Origin']);
});

test('the headers the gateway writes itself, hop-by-hop and identity headers are never copied upstream', () => {
  const drop = notForwardedHeaders(['x-consumer-id'], 'x-trace-id-test');
  for (const n of ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-trace-id-test', 'x-consumer-id', 'host', 'connection', 'te'])
    assert.ok(drop.has(n), n);
  assert.equal(drop.has('accept'), false);
});

test('the undici internals the gateway reads are the ones it was checked against', () => {
  assert.doesNotThrow(() => checkUndiciInternals());
});
