import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mapSecurity } from './security.js';

const schemes = {
  bearer: { type: 'http', scheme: 'bearer', 'x-portcullis-provider': 'corp' },
  bearerDefault: { type: 'http', scheme: 'bearer' },
  basic: { type: 'http', scheme: 'basic' },
  key: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
  cert: { type: 'mutualTLS' },
  oauth: { type: 'oauth2', flows: {} },
  oidc: { type: 'openIdConnect', openIdConnectUrl: 'https://idp/x', 'x-portcullis-provider': 'corp' },
};

test('maps each scheme type onto the auth methods', () => {
  assert.deepEqual(mapSecurity([{ bearer: [] }], schemes, null), { ok: true, auth: { any_of: [{ jwt: { provider: 'corp' } }] } });
  assert.deepEqual(mapSecurity([{ key: [] }], schemes, null), { ok: true, auth: { any_of: [{ api_key: {} }] } });
  assert.deepEqual(mapSecurity([{ cert: [] }], schemes, null), { ok: true, auth: { any_of: [{ mtls: {} }] } });
  assert.deepEqual(mapSecurity([{ oauth: ['a:read', 'a:write'] }], schemes, 'main'), {
    ok: true,
    auth: { any_of: [{ jwt: { provider: 'main', scopes: ['a:read', 'a:write'] } }] },
  });
  assert.deepEqual(mapSecurity([{ oidc: ['x'] }], schemes, 'main'), { ok: true, auth: { any_of: [{ jwt: { provider: 'corp', scopes: ['x'] } }] } });
});

test('a bearer scheme without a provider uses the API default, or none (the auth stage default)', () => {
  assert.deepEqual(mapSecurity([{ bearerDefault: [] }], schemes, 'main'), { ok: true, auth: { any_of: [{ jwt: { provider: 'main' } }] } });
  assert.deepEqual(mapSecurity([{ bearerDefault: [] }], schemes, null), { ok: true, auth: { any_of: [{ jwt: {} }] } });
});

test('requirement objects are alternatives (OR) and schemes within one are combined (AND)', () => {
  const r = mapSecurity([{ bearer: [], key: [] }, { cert: [] }], schemes, null);
  assert.deepEqual(r, { ok: true, auth: { any_of: [{ jwt: { provider: 'corp' }, api_key: {} }, { mtls: {} }] } });
});

test('an empty security array or an empty requirement makes the operation public', () => {
  assert.deepEqual(mapSecurity([], schemes, null), { ok: true, auth: 'none' });
  assert.deepEqual(mapSecurity([{ bearer: [] }, {}], schemes, null), { ok: true, auth: 'none' });
});

test('no security anywhere keeps the gateway default (null), never public', () => {
  assert.deepEqual(mapSecurity(null, schemes, null), { ok: true, auth: null });
});

test('undefined schemes, unsupported types and conflicting JWT providers are errors', () => {
  assert.equal(mapSecurity([{ nope: [] }], schemes, null).ok, false);
  assert.equal(mapSecurity([{ basic: [] }], schemes, null).ok, false);
  assert.equal(mapSecurity([{ bearer: [], oauth: ['s'] }], schemes, 'other').ok, false);
  assert.deepEqual(mapSecurity([{ bearer: ['a'], oidc: ['b'] }], schemes, null), {
    ok: true,
    auth: { any_of: [{ jwt: { provider: 'corp', scopes: ['a', 'b'] } }] },
  });
});

test('values of the wrong type are refused with a reason, never read as something else (found by the fuzz run)', () => {
  const odd = { numeric: { type: 'http', scheme: 7 }, listed: { type: 'http', scheme: ['bearer'] } } as Record<string, unknown>;
  for (const name of ['numeric', 'listed']) {
    const r = mapSecurity([{ [name]: [] }], odd, 'corp');
    assert.equal(r.ok, false, name);
    assert.match((r as { reason: string }).reason, /not supported/);
  }
  // a string where the scopes list goes would be read as one scope per character
  const r = mapSecurity([{ bearerDefault: 'items:read' as unknown as string[] }], schemes, 'corp');
  assert.deepEqual(r, { ok: false, reason: "security requirement 'bearerDefault': the scopes must be a list of strings" });
});
