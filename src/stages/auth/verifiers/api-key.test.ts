import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../config/errors.js';
import { buildDirectory } from '../consumers.js';
import type { VerifierEnv } from '../types.js';
import { apiKeySettings, createVerifier, decideApiKey, generateApiKey, hashApiKey, parseApiKey, presentedKeys, type PresentedKeys } from './api-key.js';

const SECRET = 'pepper-0123456789-0123456789-0123456789';
const NOW = Date.parse('2026-06-01T00:00:00Z');

const good = generateApiKey('k1');
const second = generateApiKey('k2');
const expired = generateApiKey('kold');
const disabled = generateApiKey('koff');
const underscored = generateApiKey('team_a.2026');
const dir = buildDirectory([
  {
    id: 'billing',
    tenant: 'acme',
    plan: 'gold',
    credentials: {
      api_keys: [
        { id: 'k1', hash: hashApiKey(good, SECRET), disabled: false },
        { id: 'k2', hash: hashApiKey(second, SECRET), expires: '2027-01-01T00:00:00Z', disabled: false },
        { id: 'kold', hash: hashApiKey(expired, SECRET), expires: '2026-01-01T00:00:00Z', disabled: false },
        { id: 'koff', hash: hashApiKey(disabled, SECRET), disabled: true },
        { id: 'team_a.2026', hash: hashApiKey(underscored, SECRET), disabled: false },
      ],
    },
  },
]);
const settings = apiKeySettings({ secret: SECRET });
const header = (v: string): PresentedKeys => ({ header: v, query: [] });
const code = (r: ReturnType<typeof decideApiKey>): string => (r.kind === 'fail' ? r.deny.code : r.kind);

describe('API key format', () => {
  it('embeds the key id and 32 random bytes, and parses back', () => {
    assert.match(good, /^pc_k1_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(parseApiKey(good)?.kid, 'k1');
    assert.equal(parseApiKey(underscored)?.kid, 'team_a.2026');
    assert.notEqual(generateApiKey('k1'), generateApiKey('k1'));
  });

  const malformed: [string, string][] = [
    ['without the prefix', good.slice(3)],
    ['with a short random part', good.slice(0, -1)],
    ['with an empty key id', `pc__${'a'.repeat(43)}`],
    ['with a space', good.replace('_', ' ')],
    ['with a non-ASCII key id', `pc_kä_${'a'.repeat(43)}`],
  ];
  for (const [name, key] of malformed) {
    it(`does not parse a key ${name}`, () => assert.equal(parseApiKey(key), null));
  }
});

describe('API key decisions', () => {
  it('accepts a valid key and maps it to its consumer', () => {
    const r = decideApiKey(header(good), dir, settings, NOW);
    assert.equal(r.kind, 'ok');
    assert.ok(r.kind === 'ok');
    assert.deepEqual([r.identity.method, r.identity.consumer, r.identity.tenant, r.identity.plan], ['api_key', 'billing', 'acme', 'gold']);
    assert.deepEqual(r.identity.claims, { api_key_id: 'k1' });
  });

  it('accepts several keys of one consumer at once (rotation) with their own expiry', () => {
    const r = decideApiKey(header(second), dir, settings, NOW);
    assert.equal(r.kind === 'ok' && r.identity.expiresAt, Date.parse('2027-01-01T00:00:00Z'));
    assert.equal(code(decideApiKey(header(underscored), dir, settings, NOW)), 'ok');
  });

  it('reports a request without a key as absent', () => {
    assert.equal(code(decideApiKey({ header: undefined, query: [] }, dir, settings, NOW)), 'absent');
  });

  const refused: [string, PresentedKeys, string][] = [
    ['an expired key', header(expired), 'PC_ERR_AUTH_APIKEY_EXPIRED'],
    ['a disabled key', header(disabled), 'PC_ERR_AUTH_APIKEY_INVALID'],
    ['a key with one flipped character', header(good.slice(0, -1) + (good.endsWith('A') ? 'B' : 'A')), 'PC_ERR_AUTH_APIKEY_INVALID'],
    ['a key whose id belongs to another key', header(second.replace('pc_k2_', 'pc_k1_')), 'PC_ERR_AUTH_APIKEY_INVALID'],
    ['an unknown key id', header(generateApiKey('nobody')), 'PC_ERR_AUTH_APIKEY_INVALID'],
    ['a malformed key', header('letmein'), 'PC_ERR_AUTH_APIKEY_INVALID'],
    ['an empty header', header('  '), 'PC_ERR_AUTH_APIKEY_INVALID'],
    ['two keys joined in one header', header(`${good}, ${second}`), 'PC_ERR_AUTH_APIKEY_INVALID'],
    ['a key in the header and in the query', { header: good, query: [good] }, 'PC_ERR_AUTH_APIKEY_INVALID'],
    ['two keys in the query', { header: undefined, query: [good, second] }, 'PC_ERR_AUTH_APIKEY_INVALID'],
    ['a 300-character key', header(`pc_k1_${'a'.repeat(294)}`), 'PC_ERR_AUTH_APIKEY_INVALID'],
  ];
  for (const [name, presented, want] of refused) {
    it(`refuses ${name} with ${want}`, () => assert.equal(code(decideApiKey(presented, dir, settings, NOW)), want));
  }

  it('refuses a valid key when the server secret differs (hashes are keyed)', () => {
    assert.equal(code(decideApiKey(header(good), dir, apiKeySettings({ secret: `${SECRET}!` }), NOW)), 'PC_ERR_AUTH_APIKEY_INVALID');
  });

  it('refuses a key on its exact expiry instant', () => {
    assert.equal(code(decideApiKey(header(second), dir, settings, Date.parse('2027-01-01T00:00:00Z'))), 'PC_ERR_AUTH_APIKEY_EXPIRED');
  });
});

describe('API key sources', () => {
  const req = (headers: Record<string, string | string[]>, query = '') => ({ req: { headers } as never, query });

  it('reads the configured header, case-insensitively', () => {
    const s = apiKeySettings({ secret: SECRET, header: 'X-Custom-Key' });
    assert.equal(presentedKeys(req({ 'x-custom-key': good }), s).header, good);
    assert.equal(presentedKeys(req({ 'x-api-key': good }), s).header, undefined);
  });

  it('ignores query keys unless enabled', () => {
    assert.deepEqual(presentedKeys(req({}, `api_key=${good}`), settings).query, []);
    const s = apiKeySettings({ secret: SECRET, query: { enabled: true, name: 'key' } });
    assert.deepEqual(presentedKeys(req({}, `a=1&key=${good}`), s).query, [good]);
    assert.deepEqual(presentedKeys(req({}, `key=${good}&key=${second}`), s).query, [good, second]);
  });
});

describe('API key verifier factory', () => {
  const env = (auth: Record<string, unknown>): VerifierEnv => ({ auth, consumers: dir, services: {} as never, file: 'portcullis.yaml', baseDir: '/' });

  it('refuses a config with keys but without a server secret', () => {
    assert.throws(
      () => createVerifier(env({ api_keys: {} })),
      (e: unknown) => e instanceof ConfigError && e.keyPath === 'auth.api_keys.secret',
    );
  });

  it('refuses a key entry whose hash is not 64 hex characters', () => {
    const bad = buildDirectory([{ id: 'x', credentials: { api_keys: [{ id: 'k', hash: 'abcdef0123456789', disabled: false }] } }]);
    assert.throws(() => createVerifier({ ...env({ api_keys: { secret: SECRET } }), consumers: bad }), ConfigError);
  });

  it('builds a verifier that does not need the body', () => {
    const v = createVerifier(env({ api_keys: { secret: SECRET } }));
    assert.deepEqual([v.method, v.needsBody], ['api_key', false]);
  });
});
