import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { http2BodyFollows, readHttp2Request } from './http2.js';

interface Fake {
  rawHeaders: string[];
  headers: IncomingHttpHeaders;
  stream: { endAfterHeaders: boolean };
  h1Headers: IncomingHttpHeaders | null;
  h1RawHeaders: string[] | null;
}

/** A compatibility request as node:http2 builds it: the raw list, and the object it joins from it. */
function fake(fields: [string, string][], endAfterHeaders = true): Fake {
  const headers: IncomingHttpHeaders = {};
  for (const [k, v] of fields) {
    const prev = headers[k];
    headers[k] = prev === undefined ? v : k === 'cookie' ? `${prev}; ${v}` : `${String(prev)}, ${v}`;
  }
  return { rawHeaders: fields.flat(), headers, stream: { endAfterHeaders }, h1Headers: null, h1RawHeaders: null };
}

const read = (f: Fake, tls = true): string | null => readHttp2Request(f as unknown as IncomingMessage, tls);
const base = (authority = 'api.test', scheme = 'https'): [string, string][] => [
  [':method', 'GET'],
  [':scheme', scheme],
  [':authority', authority],
  [':path', '/a?b=1'],
];

test('a valid request is read into the HTTP/1.1 form: no pseudo-headers, Host from :authority first', () => {
  const f = fake([...base(), ['accept', 'x'], ['cookie', 'a=1'], ['cookie', 'b=2']]);
  assert.equal(read(f), null);
  assert.deepEqual(f.h1RawHeaders, ['host', 'api.test', 'accept', 'x', 'cookie', 'a=1', 'cookie', 'b=2']);
  assert.deepEqual({ ...f.h1Headers }, { host: 'api.test', accept: 'x', cookie: 'a=1; b=2' });
});

test('a host field equal to :authority (any case) is kept once; one that differs is refused', () => {
  // a value that reads 'host' is not the host field
  const same = fake([...base('API.test'), ['x-name', 'host'], ['host', 'api.TEST']]);
  assert.equal(read(same), null);
  assert.deepEqual(same.h1RawHeaders, ['x-name', 'host', 'host', 'API.test']);
  assert.equal(same.h1Headers?.host, 'API.test');
  assert.equal(read(fake([...base(), ['host', 'other.test']])), 'host and :authority differ');
});

test('a host field alone stands for :authority; neither is refused', () => {
  const f = fake([
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/'],
    ['host', 'api.test'],
  ]);
  assert.equal(read(f), null);
  assert.equal(f.h1Headers?.host, 'api.test');
  assert.equal(
    read(
      fake([
        [':method', 'GET'],
        [':scheme', 'https'],
        [':path', '/'],
      ]),
    ),
    'neither :authority nor host',
  );
});

for (const [name, fields, tls, reason] of [
  ['connection', [...base(), ['connection', 'close']], true, 'connection-specific field connection'],
  ['keep-alive', [...base(), ['keep-alive', '1']], true, 'connection-specific field keep-alive'],
  ['proxy-connection', [...base(), ['proxy-connection', 'x']], true, 'connection-specific field proxy-connection'],
  ['transfer-encoding', [...base(), ['transfer-encoding', 'chunked']], true, 'connection-specific field transfer-encoding'],
  ['upgrade', [...base(), ['upgrade', 'h2c']], true, 'connection-specific field upgrade'],
  ['te: gzip', [...base(), ['te', 'gzip']], true, 'te other than trailers'],
  ['an upper-case name', [...base(), ['X-A', '1']], true, 'field name X-A is not lower-case'],
  [
    'a pseudo-header after a field',
    [
      [':method', 'GET'],
      ['x', '1'],
      [':path', '/'],
    ],
    true,
    'pseudo-header :path after a regular field',
  ],
  ['an unknown pseudo-header', [...base(), [':protocol', 'websocket']], true, 'pseudo-header :protocol is not a request pseudo-header'],
  ['two :authority', [...base(), [':authority', 'b.test']], true, 'pseudo-header :authority given twice'],
  ['two host fields', [...base(), ['host', 'api.test'], ['host', 'api.test']], true, 'host given twice'],
  ['userinfo', base('u:p@api.test'), true, ':authority carries userinfo'],
  ['http on a TLS listener', base('api.test', 'http'), true, ':scheme is not https'],
  ['https on an h2c listener', base('api.test', 'https'), false, ':scheme is not http'],
  [
    'CONNECT',
    [
      [':method', 'CONNECT'],
      [':authority', 'api.test:443'],
    ],
    true,
    'CONNECT is not proxied',
  ],
] as [string, [string, string][], boolean, string][]) {
  test(`refuses ${name}, and leaves the request as it was`, () => {
    const f = fake(fields);
    assert.equal(read(f, tls), reason);
    assert.equal(f.h1Headers, null);
  });
}

test('te: trailers is accepted and forwarded like any field', () => {
  const f = fake([...base(), ['te', 'trailers']]);
  assert.equal(read(f), null);
  assert.equal(f.h1Headers?.te, 'trailers');
});

test('a body follows unless the HEADERS frame ended the stream', () => {
  assert.equal(http2BodyFollows(fake(base(), true) as unknown as IncomingMessage), false);
  assert.equal(http2BodyFollows(fake(base(), false) as unknown as IncomingMessage), true);
});
