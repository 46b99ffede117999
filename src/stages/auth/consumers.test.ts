import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { unmappedJwtConsumerId } from './consumers.js';

/** the schema pattern of configured consumer ids (schema.ts) */
const CONFIGURED_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;

test('an unmapped subject or client id gets a namespaced id with its provider', () => {
  assert.equal(unmappedJwtConsumerId('corp', 'acme-svc', null), 'jwt/corp/sub/acme-svc');
  assert.equal(unmappedJwtConsumerId('corp', 'acme-svc', 'cli'), 'jwt/corp/sub/acme-svc');
  assert.equal(unmappedJwtConsumerId('corp', null, 'acme-svc'), 'jwt/corp/client/acme-svc');
  assert.equal(unmappedJwtConsumerId('corp', null, null), null);
  assert.equal(unmappedJwtConsumerId('my/idp', 'a/b', null), 'jwt/my%2Fidp/sub/a%2Fb');
  assert.equal(unmappedJwtConsumerId('corp', '', null), 'jwt/corp/sub/');
});

test('a value longer than 128 characters once encoded is replaced by its SHA-256', () => {
  const id = unmappedJwtConsumerId('corp', 'x'.repeat(129), null) as string;
  assert.match(id, /^jwt\/corp\/sub-sha256\/[A-Za-z0-9_-]{43}$/);
  assert.equal(unmappedJwtConsumerId('corp', 'x'.repeat(128), null), `jwt/corp/sub/${'x'.repeat(128)}`);
  assert.match(unmappedJwtConsumerId('corp', null, 'é'.repeat(22)) as string, /^jwt\/corp\/client-sha256\//);
});

test('namespaced ids never equal a configured consumer id and never collide between distinct (provider, kind, value)', () => {
  const str = fc.string({ unit: 'binary', maxLength: 60 });
  fc.assert(
    fc.property(str, fc.boolean(), str, str, fc.boolean(), str, (p1, s1, v1, p2, s2, v2) => {
      const a = unmappedJwtConsumerId(p1, s1 ? v1 : null, s1 ? null : v1) as string;
      const b = unmappedJwtConsumerId(p2, s2 ? v2 : null, s2 ? null : v2) as string;
      assert.doesNotMatch(a, CONFIGURED_ID);
      assert.equal(a.split('/').length, 4);
      if (p1 !== p2 || s1 !== s2 || v1 !== v2) assert.notEqual(a, b);
      else assert.equal(a, b);
    }),
    { numRuns: 2000 },
  );
});
