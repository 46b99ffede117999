import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, originAllowed, preflight, responseHeaders, settingsProblem, varyWithOrigin, type CorsSettings } from './decide.js';

const base: CorsSettings = {
  mode: 'enforce',
  allow_origins: ['https://app.example.com', 'https://*.example.org', 'http://localhost:3000'],
  allow_methods: ['GET', 'POST'],
  allow_headers: ['authorization', 'content-type'],
  expose_headers: ['x-request-id'],
  allow_credentials: true,
  max_age_s: 600,
};
const p = compilePolicy(base)!;

test('origins: exact, wildcard subdomains at any depth but not the bare domain, never null or look-alikes (table)', () => {
  const cases: [string, boolean][] = [
    ['https://app.example.com', true],
    ['HTTPS://APP.EXAMPLE.COM', true],
    ['http://app.example.com', false],
    ['https://app.example.com.evil.net', false],
    ['https://evilapp.example.com', false],
    ['https://a.example.org', true],
    ['https://a.b.example.org', true],
    ['https://example.org', false],
    ['https://a.example.org.evil', false],
    ['https://evilexample.org', false],
    ['http://localhost:3000', true],
    ['http://localhost:3001', false],
    ['null', false],
  ];
  for (const [o, want] of cases) assert.equal(originAllowed(p, o), want, o);
  const any = compilePolicy({ ...base, allow_origins: ['*'], allow_credentials: false })!;
  assert.equal(originAllowed(any, 'https://x.test'), true);
  assert.equal(originAllowed(any, 'null'), false, 'a sandboxed or file origin is never allowed by *');
});

test('a preflight is answered for allowed origins, methods and headers only, echoing the origin with credentials', () => {
  const ok = preflight(p, 'https://app.example.com', 'post', 'Content-Type, Authorization');
  assert.ok(ok.ok);
  assert.deepEqual(ok.headers, {
    'access-control-allow-origin': 'https://app.example.com',
    'access-control-allow-methods': 'GET, POST',
    'access-control-allow-headers': 'content-type, authorization',
    'access-control-allow-credentials': 'true',
    'access-control-max-age': '600',
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  });
  assert.deepEqual(preflight(p, 'https://evil.test', 'GET', undefined), { ok: false, reason: 'origin not allowed' });
  assert.equal(preflight(p, 'https://app.example.com', 'DELETE', undefined).ok, false);
  assert.equal(preflight(p, 'https://app.example.com', 'GET', 'x-custom').ok, false);
  const anyHeader = compilePolicy({ ...base, allow_headers: ['*'] })!;
  assert.equal(preflight(anyHeader, 'https://app.example.com', 'GET', 'x-custom').ok, true);
});

test('actual responses: the origin echoed (or * without credentials), exposed headers; Vary gets Origin once', () => {
  assert.deepEqual(responseHeaders(p, 'https://app.example.com'), {
    'access-control-allow-origin': 'https://app.example.com',
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': 'x-request-id',
  });
  const any = compilePolicy({ ...base, allow_origins: ['*'], allow_credentials: false, expose_headers: [] })!;
  assert.deepEqual(responseHeaders(any, 'https://x.test'), { 'access-control-allow-origin': '*' });
  assert.equal(varyWithOrigin(undefined), 'Origin');
  assert.equal(varyWithOrigin('Accept-Encoding'), 'Accept-Encoding, Origin');
  assert.equal(varyWithOrigin('origin, Accept'), 'origin, Accept');
  assert.equal(varyWithOrigin('*'), '*');
  assert.equal(varyWithOrigin(['Accept', 'Accept-Language']), 'Accept, Accept-Language, Origin');
});

test('settings that would expose users are refused: credentials with *, origins that are not origins', () => {
  assert.match(settingsProblem({ ...base, allow_origins: ['*'] }) ?? '', /credentials/);
  for (const bad of ['https://app.example.com/', 'app.example.com', 'https://APP.example.com', 'https://*example.com', 'ftp://x.test']) {
    assert.notEqual(settingsProblem({ ...base, allow_origins: [bad] }), null, bad);
  }
  assert.equal(settingsProblem(base), null);
  assert.equal(compilePolicy({ ...base, mode: 'off' }), null);
});
