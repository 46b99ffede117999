import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deny } from '../../core/decision.js';
import type { Identity } from './types.js';
import { buildPrincipal, challenge, claimHeaderValue, combineSet, headerValue, withChallenge } from './decide.js';

const id = (p: Partial<Identity>): Identity => ({
  method: 'jwt',
  consumer: 'alice',
  tenant: 'A',
  subject: 'alice',
  scopes: [],
  roles: [],
  claims: {},
  plan: null,
  expiresAt: null,
  ...p,
});

test('a requirement set with every method verified yields all identities', () => {
  const r = combineSet([
    { method: 'jwt', result: { kind: 'ok', identity: id({}) } },
    { method: 'mtls', result: { kind: 'ok', identity: id({ method: 'mtls' }) } },
  ]);
  assert.equal(r.kind, 'ok');
  assert.equal(r.kind === 'ok' && r.identities.length, 2);
});

test('a requirement set with one absent method is absent, and a failure wins over absence', () => {
  assert.equal(
    combineSet([
      { method: 'jwt', result: { kind: 'ok', identity: id({}) } },
      { method: 'mtls', result: { kind: 'absent' } },
    ]).kind,
    'absent',
  );
  const r = combineSet([
    { method: 'mtls', result: { kind: 'absent' } },
    { method: 'jwt', result: { kind: 'fail', deny: deny('PC_ERR_AUTH_TOKEN_EXPIRED') } },
  ]);
  assert.equal(r.kind === 'fail' && r.deny.code, 'PC_ERR_AUTH_TOKEN_EXPIRED');
});

test('a principal from two credentials merges methods and scopes', () => {
  const p = buildPrincipal([id({ scopes: ['a'] }), id({ method: 'mtls', consumer: 'alice', scopes: ['b'], claims: { cert: 1 } })]);
  assert.ok('methods' in p);
  assert.deepEqual(p.methods, ['jwt', 'mtls']);
  assert.deepEqual(p.scopes, ['a', 'b']);
  assert.equal(p.consumer, 'alice');
});

test('two credentials naming different consumers or tenants are refused', () => {
  const a = buildPrincipal([id({}), id({ method: 'mtls', consumer: 'bob' })]);
  assert.equal('code' in a && a.code, 'PC_ERR_AUTH_INVALID');
  const b = buildPrincipal([id({}), id({ method: 'mtls', consumer: null, tenant: 'B' })]);
  assert.equal('code' in b && b.code, 'PC_ERR_AUTH_INVALID');
});

test('a missing credential challenge lists each scheme of the route without an error code', () => {
  assert.equal(challenge('api', ['jwt', 'api_key']), 'Bearer realm="api", ApiKey realm="api"');
  assert.equal(challenge('api', ['mtls']), 'ClientCertificate realm="api"');
  assert.equal(challenge('api', []), 'Bearer realm="api"');
});

test('a bad token challenge carries the RFC 6750 error code and the catalogue title only', () => {
  assert.equal(challenge('api', ['jwt'], 'PC_ERR_AUTH_TOKEN_EXPIRED'), 'Bearer realm="api", error="invalid_token", error_description="Token has expired"');
  assert.match(challenge('api', ['jwt'], 'PC_ERR_AUTH_TOKEN_MULTIPLE'), /error="invalid_request"/);
  assert.match(challenge('api', ['jwt'], 'PC_ERR_INSUFFICIENT_SCOPE', ['a', 'b']), /error="insufficient_scope", .*scope="a b"/);
});

test('only 401s and insufficient scope get a challenge', () => {
  assert.equal(withChallenge(deny('PC_ERR_AUTH_UNAVAILABLE'), 'r', 'jwt', ['jwt']).headers, undefined);
  assert.ok(withChallenge(deny('PC_ERR_AUTH_TOKEN_ALG'), 'r', 'jwt', ['jwt']).headers?.['www-authenticate']);
});

test('header values from claims are visible ASCII and never carry line breaks', () => {
  assert.equal(headerValue('plain value'), 'plain value');
  assert.equal(headerValue('a\r\nX-Evil: 1'), 'a%0D%0AX-Evil%3A%201');
  assert.equal(claimHeaderValue(['a', 1, true]), 'a,1,true');
  assert.equal(claimHeaderValue({ nested: 1 }), null);
});
