/** Config of the auth and authorize stages: schema errors and cross-key checks name the key. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { AUTH_MODULES } from './support.js';
import { compileProvider, type JwtProviderConfig } from '../../src/stages/auth/verifiers/jwt.js';
import type { ConfigError } from '../../src/config/errors.js';

const base = (extra: string, routeExtra = ''): string => `
version: 1
listeners: [{ port: 0 }]
upstreams:
  up: { targets: [{ url: "http://127.0.0.1:1" }] }
${extra}
routes:
  - id: r
    match: { prefix: /r }
    upstream: up
${routeExtra}
`;

function load(text: string): void {
  const loaded = parseConfig(text, 'portcullis.yaml', AUTH_MODULES);
  for (const m of AUTH_MODULES) m.check?.(loaded.config, { file: 'portcullis.yaml', baseDir: '.', services: null as never });
}

const provider = `auth:
  jwt:
    providers:
      main: { issuer: "https://i.test", keys: [{ kty: oct, k: "AAAA" }], algorithms: [HS256] }`;

test('a config with a provider, consumers, tenants and route auth loads', () => {
  load(
    base(
      `${provider}\nconsumers:\n  - { id: a, tenant: t1, credentials: { jwt: [{ provider: main, sub: a }] } }\ntenants:\n  - { id: t1, routes: [r] }`,
      `    auth: { any_of: [{ jwt: { provider: main, scopes: [x] } }], replay: { jti: true } }\n    authorize: { scopes: [x], bind: [] }`,
    ),
  );
});

const bad: [string, string, RegExp][] = [
  ['alg none is not an algorithm', base(`auth:\n  jwt:\n    providers:\n      p: { issuer: x, algorithms: [none] }`), /algorithms/],
  ['unknown keys in auth are errors', base(`auth:\n  jwtt: {}`), /unknown key 'jwtt'/],
  ['unknown route auth method', base(provider, `    auth: { any_of: [{ saml: {} }] }`), /saml/],
  ['route names an unknown provider', base(provider, `    auth: { any_of: [{ jwt: { provider: nope } }] }`), /unknown JWT provider 'nope'/],
  [
    'consumer names an unknown provider',
    base(`${provider}\nconsumers:\n  - { id: a, credentials: { jwt: [{ provider: nope, sub: a }] } }`),
    /unknown JWT provider/,
  ],
  ['duplicate consumer ids', base(`consumers:\n  - { id: a }\n  - { id: a }`), /duplicate consumer id/],
  ['consumer of an unknown tenant', base(`tenants: [{ id: t1 }]\nconsumers:\n  - { id: a, tenant: t2 }`), /unknown tenant 't2'/],
  ['tenant owning an unknown route', base(`tenants: [{ id: t1, routes: [zzz] }]`), /unknown route 'zzz'/],
  ['tenant owning a public route', base(`tenants: [{ id: t1, routes: [r] }]`, `    auth: none`), /public/],
  ['authorize on a public route', base('', `    auth: none\n    authorize: { scopes: [x] }`), /authenticated route/],
  ['bind to a parameter the path lacks', base(provider, `    authorize: { bind: [{ param: tenant_id, claim: tenant }] }`), /tenant_id/],
  [
    'a certificate subject that is not an RFC 4514 name, with the reason and the key',
    base(`consumers:\n  - id: a\n    credentials:\n      certificates:\n        - { subject: "CN=a;O=b" }`),
    /not an RFC 4514 distinguished name: ';' must be escaped.*consumers\[0\]\.credentials\.certificates\[0\]\.subject/,
  ],
  [
    'an authorize matcher on cert_subject that is not an RFC 4514 name',
    base('', `    authorize: { claims: [{ claim: cert_subject, in: ["CN=a", "nonsense"] }] }`),
    /cert_subject must be an RFC 4514 distinguished name.*routes\[0\]\.authorize\.claims\[0\]\.in\[1\]/,
  ],
  ['short HS secret', base(`auth:\n  jwt:\n    providers:\n      p: { issuer: x, algorithms: [HS256], secret: short }`), /secret/],
];

for (const [name, text, re] of bad) {
  test(`config refused: ${name}`, () => {
    assert.throws(
      () => load(text),
      (e: Error) => re.test(e.message),
    );
  });
}

test('an HMAC secret shorter than the hash of an allowed HS* algorithm is a config error naming the provider', () => {
  const text = (algs: string, secret: string): string =>
    base(`auth:\n  jwt:\n    providers:\n      p: { issuer: "https://i.test", algorithms: [${algs}], secret: "${secret}" }`);
  const compile = (algs: string, secret: string): void => {
    const loaded = parseConfig(text(algs, secret), 'portcullis.yaml', AUTH_MODULES);
    const providers = (loaded.config as unknown as { auth: { jwt: { providers: Record<string, JwtProviderConfig> } } }).auth.jwt.providers;
    compileProvider('p', providers.p!, { file: 'portcullis.yaml', baseDir: '.', services: null as never });
  };
  const s48 = 'k'.repeat(48);
  assert.doesNotThrow(() => compile('HS256, HS384', s48));
  assert.throws(
    () => compile('HS256, HS512', s48),
    (e: ConfigError) =>
      /provider p: HS512 needs a secret of at least 64 bytes \(the longest given has 48\)/.test(e.message) && e.keyPath === 'auth.jwt.providers.p',
  );
});
