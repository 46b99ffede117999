import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseJws } from './token.js';
import { checkClaims, type ClaimPolicy } from './claims.js';

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

test('the JWS parser never throws and always names a code for arbitrary input', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (s) => {
      const r = parseJws(s, 8192);
      assert.ok(r.ok || typeof r.error.code === 'string');
    }),
    { numRuns: 500 },
  );
});

test('the JWS parser never throws for three segments of arbitrary base64url JSON', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.jsonValue(), fc.string({ maxLength: 40 }), (h, p, s) => {
      const r = parseJws(`${b64(h)}.${b64(p)}.${Buffer.from(s).toString('base64url')}`, 8192);
      if (r.ok) assert.equal(typeof r.jws.alg, 'string');
    }),
    { numRuns: 300 },
  );
});

test('a base64url segment of impossible length is malformed', () => {
  const r = parseJws(`${b64({ alg: 'RS256' })}.${b64({})}.abcde`, 8192);
  assert.equal(!r.ok && r.error.code, 'PC_ERR_AUTH_TOKEN_MALFORMED');
});

const policy: ClaimPolicy = { issuer: 'i', audiences: ['a'], requiredClaims: ['exp'], skewS: 60, maxAgeS: 0, typ: 'at+jwt' };
const NOW = 1_800_000_000_000;
const s = NOW / 1000;

test('exp, nbf and iat are judged with the clock skew at its exact edges', () => {
  const h = { typ: 'application/AT+JWT' };
  assert.equal(checkClaims(h, { iss: 'i', aud: 'a', exp: s - 59 }, policy, NOW), null);
  assert.equal(checkClaims(h, { iss: 'i', aud: 'a', exp: s - 60 }, policy, NOW)?.code, 'PC_ERR_AUTH_TOKEN_EXPIRED');
  assert.equal(checkClaims(h, { iss: 'i', aud: 'a', exp: s + 9, nbf: s + 60 }, policy, NOW), null);
  assert.equal(checkClaims(h, { iss: 'i', aud: 'a', exp: s + 9, nbf: s + 61 }, policy, NOW)?.code, 'PC_ERR_AUTH_TOKEN_NOT_YET_VALID');
  assert.equal(checkClaims(h, { iss: 'i', aud: 'a', exp: s + 9, iat: s + 61 }, policy, NOW)?.code, 'PC_ERR_AUTH_TOKEN_NOT_YET_VALID');
});

test('typ, aud and max age are enforced when configured', () => {
  assert.equal(checkClaims({ typ: 'JWT' }, { iss: 'i', aud: 'a', exp: s + 9 }, policy, NOW)?.code, 'PC_ERR_AUTH_TOKEN_HEADER');
  assert.equal(checkClaims({ typ: 'at+jwt' }, { iss: 'i', aud: ['x', 'a'], exp: s + 9 }, policy, NOW), null);
  assert.equal(checkClaims({ typ: 'at+jwt' }, { iss: 'i', aud: ['x'], exp: s + 9 }, policy, NOW)?.code, 'PC_ERR_AUTH_TOKEN_CLAIMS');
  const aged = { ...policy, maxAgeS: 100 };
  assert.equal(checkClaims({ typ: 'at+jwt' }, { iss: 'i', aud: 'a', exp: s + 9 }, aged, NOW)?.code, 'PC_ERR_AUTH_TOKEN_CLAIMS');
  assert.equal(checkClaims({ typ: 'at+jwt' }, { iss: 'i', aud: 'a', exp: s + 9, iat: s - 161 }, aged, NOW)?.code, 'PC_ERR_AUTH_TOKEN_EXPIRED');
  assert.equal(checkClaims({ typ: 'at+jwt' }, { iss: 'i', aud: 'a', exp: s + 9, iat: s - 159 }, aged, NOW), null);
});
