import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../config/load.js';
import { ConfigErrors } from '../../../config/errors.js';
import { authStage } from '../index.js';
import {
  apiKeyRouteSchema,
  apiKeySchema,
  consumerCredentialsSchema,
  mtlsRouteSchema,
  mtlsSchema,
  signatureRouteSchema,
  signatureSchema,
} from './api-key-schema.js';

const BASE = `
version: 1
listeners: [{ port: 0 }]
upstreams: { up: { targets: [{ url: "http://127.0.0.1:1" }] } }
routes: [{ id: r, match: { prefix: / }, upstream: up }]
`;

// one modules array: the validator is compiled once per array
const MODULES = [authStage];
const load = (extra: string) => parseConfig(BASE + extra, 'portcullis.yaml', MODULES);

function errorsOf(extra: string): string[] {
  try {
    load(extra);
  } catch (e) {
    if (e instanceof ConfigErrors) return e.errors.map((x) => x.message);
    throw e;
  }
  return [];
}

describe('credential config schemas', () => {
  it('apply secure defaults', () => {
    const auth = load('').config['auth'] as Record<string, Record<string, unknown>>;
    assert.deepEqual(auth['api_keys'], { header: 'X-API-Key', query: { enabled: false, name: 'api_key' }, max_length: 256 });
    assert.equal((auth['mtls'] as { allow_unmapped: boolean }).allow_unmapped, false);
    assert.deepEqual((auth['mtls'] as { match: string[] }).match, ['fingerprint', 'san', 'subject']);
    assert.deepEqual(auth['signature'], {
      skew_seconds: 60,
      required_components: ['@method', '@target-uri', 'content-digest'],
      nonce: { required: true, ttl_seconds: 300 },
      max_header_bytes: 4096,
    });
  });

  const bad: [string, string, RegExp][] = [
    ['a short API key secret', 'auth: { api_keys: { secret: short } }', /auth\.api_keys\.secret/],
    ['an unknown signature key', 'auth: { signature: { skew: 5 } }', /unknown key 'skew'/],
    ['an unknown certificate match field', 'auth: { mtls: { match: [issuer] } }', /auth\.mtls\.match\[0\]/],
    ['a header name with a space', 'auth: { mtls: { headers: { subject: "X Bad" } } }', /auth\.mtls\.headers\.subject/],
    ['an API key hash that is not 64 hex characters', 'consumers: [{ id: c, credentials: { api_keys: [{ id: k, hash: ABC }] } }]', /hash/],
    ['a certificate entry without fields', 'consumers: [{ id: c, credentials: { certificates: [{}] } }]', /certificates\[0\]/],
    ['a SAN without a type', 'consumers: [{ id: c, credentials: { certificates: [{ san: "billing.acme" }] } }]', /san/],
    ['a short signature key secret', 'consumers: [{ id: c, credentials: { signature_keys: [{ key_id: k, secret: short }] } }]', /secret/],
  ];
  for (const [name, yaml, message] of bad) {
    it(`refuses ${name} with a located error`, () => {
      const errs = errorsOf(yaml);
      assert.ok(
        errs.some((e) => message.test(e) && /portcullis\.yaml:\d+/.test(e)),
        JSON.stringify(errs),
      );
    });
  }

  it('describe every field (the config reference is generated from them)', () => {
    const missing: string[] = [];
    const walk = (s: unknown, path: string): void => {
      if (s === null || typeof s !== 'object') return;
      const o = s as Record<string, unknown>;
      const props = o['properties'] as Record<string, unknown> | undefined;
      for (const [k, v] of Object.entries(props ?? {})) {
        if (typeof (v as { description?: unknown }).description !== 'string') missing.push(`${path}.${k}`);
        walk(v, `${path}.${k}`);
      }
      if (o['items'] !== undefined) walk(o['items'], `${path}[]`);
    };
    const all = { apiKeySchema, mtlsSchema, signatureSchema, apiKeyRouteSchema, mtlsRouteSchema, signatureRouteSchema, ...consumerCredentialsSchema };
    for (const [name, s] of Object.entries(all)) {
      assert.equal(typeof s.description, 'string', name);
      walk(s, name);
    }
    assert.deepEqual(missing, []);
  });
});
