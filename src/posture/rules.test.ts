import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../config/load.js';
import type { RouteConfig } from '../core/config.js';
import { STAGES } from '../stages/index.js';
import { auditConfig, failsAt } from './audit.js';
import { describesObjects, returnsObjects } from './openapi.js';
import { RULES } from './rules.js';
import { SourceMap } from './source.js';
import type { Finding } from './types.js';

process.env['POSTURE_TEST_ADMIN_TOKEN'] = 'a-token-from-the-environment-0123456789';
process.env['POSTURE_TEST_AUDIT_KEY'] = 'an-audit-key-from-the-environment-0123456789';

/** A config without weaknesses but one: its only route is a hand-written GET route (no schema, low). */
const SECURE = `version: 1
listeners:
  - port: 8080
admin:
  token: \${env:POSTURE_TEST_ADMIN_TOKEN}
audit:
  enabled: true
  checkpoints: { key: "\${env:POSTURE_TEST_AUDIT_KEY}" }
rate_limits:
  limits:
    - { name: per-ip, key: [ip], rate: "20/s" }
    - { name: per-consumer, key: [consumer], rate: "50/s" }
auth:
  jwt:
    providers:
      idp: { issuer: https://idp.example.test, jwks_uri: https://idp.example.test/jwks, max_age_s: 3600 }
upstreams:
  u: { targets: [{ url: https://api.internal.example:8443 }] }
routes:
  - id: ping
    match: { path: /ping, methods: [GET] }
    upstream: u
    auth: none
    public: true
`;

/** The config with `extra` lines spliced in after the line containing `after` (or appended). */
function weaken(extra: string, after?: string): string {
  if (after === undefined) return `${SECURE}${extra}\n`;
  const lines = SECURE.split('\n');
  const i = lines.findIndex((l) => l.includes(after));
  assert.ok(i >= 0, `'${after}' is in the config`);
  lines.splice(i + 1, 0, ...extra.split('\n'));
  return lines.join('\n');
}

function audit(text: string, opts: { generated?: RouteConfig[]; objects?: boolean } = {}): Finding[] {
  const loaded = parseConfig(text, 'c.yaml', STAGES);
  const config = structuredClone(loaded.config);
  for (const r of opts.generated ?? []) config.routes.push(r);
  return [
    ...auditConfig({
      file: 'c.yaml',
      config,
      writtenRoutes: loaded.config.routes.length,
      source: new SourceMap(text),
      returnsObjects: () => opts.objects === true,
    }).findings,
  ];
}

const lineOf = (text: string, needle: string): number => {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `'${needle}' is in the text`);
  return i + 1;
};

function only(findings: Finding[], id: string): Finding[] {
  const f = findings.filter((x) => x.id === id);
  assert.ok(f.length > 0, `${id} is reported; got ${findings.map((x) => x.id).join(', ')}`);
  return f;
}

test('a secure config has no finding above low (its one hand-written GET route is not schema-validated: low)', () => {
  const f = audit(SECURE);
  assert.deepEqual(
    f.map((x) => [x.id, x.severity]),
    [['validate.no-schema', 'low']],
  );
});

test('every rule has an id, a title, why, fix and at least one OWASP API 2023 item, and ids are unique', () => {
  const ids = new Set<string>();
  for (const r of RULES) {
    assert.match(r.meta.id, /^[a-z]+\.[a-z-]+$/);
    assert.ok(!ids.has(r.meta.id), r.meta.id);
    ids.add(r.meta.id);
    assert.ok(r.meta.title && r.meta.why && r.meta.fix, r.meta.id);
    assert.ok(r.meta.owasp.length > 0 && r.meta.owasp.every((o) => /^API(10|[1-9]):2023$/.test(o)), r.meta.id);
  }
});

// [rule id, lines spliced in, after which line, the line the finding points at, severity]
const CASES: [string, string, string | undefined, string, string][] = [
  ['auth.unmarked-public', '  - id: open\n    match: { path: /open }\n    upstream: u\n    auth: "none"', undefined, 'auth: "none"', 'high'],
  [
    'auth.monitor',
    '  - id: mon\n    match: { path: /mon }\n    upstream: u\n    auth:\n      any_of: [{ jwt: {} }]\n      mode: monitor',
    undefined,
    'mode: monitor',
    'high',
  ],
  ['auth.credentials-in-query', '    query_enabled: true', '  jwt:', 'query_enabled: true', 'medium'],
  [
    'jwt.no-expiry',
    '      other: { issuer: https://o.example.test, jwks_uri: https://o.example.test/k, required_claims: [sub] }',
    '      idp:',
    'other:',
    'high',
  ],
  [
    'jwt.token-lifetime',
    '      week: { issuer: https://w.example.test, jwks_uri: https://w.example.test/k, max_age_s: 604800 }',
    '      idp:',
    'week:',
    'medium',
  ],
  ['auth.clock-skew', '      skew: { issuer: https://s.example.test, jwks_uri: https://s.example.test/k, clock_skew_s: 900 }', '      idp:', 'skew:', 'medium'],
  ['limits.size-large', '  max_body_bytes: 104857600', undefined, 'max_body_bytes: 104857600', 'medium'],
  ['waf.off', 'waf:\n  mode: "off"', undefined, '  mode: "off"', 'high'],
  ['waf.monitor', 'waf:\n  mode: monitor', undefined, '  mode: monitor', 'medium'],
  ['listener.plaintext', '    address: 0.0.0.0', '  - port: 8080', 'address: 0.0.0.0', 'high'],
  ['upstream.plaintext', '  plain: { targets: [{ url: "http://10.1.2.3:80" }] }', '  u: {', 'plain:', 'medium'],
  ['inventory.prefix-route', '  - id: pre\n    match: { prefix: /pre }\n    upstream: u', undefined, 'prefix: /pre', 'low'],
];

for (const [id, extra, after, pointsAt, severity] of CASES) {
  test(`${id}: reported at the line of the key that causes it, with severity ${severity}`, () => {
    // `limits` is a top-level key: written as a new section
    const text = id === 'limits.size-large' ? weaken(`limits:\n${extra}`) : weaken(extra, after);
    const f = only(audit(text), id);
    assert.equal(f[0]!.line, lineOf(text, pointsAt));
    assert.equal(f[0]!.severity, severity);
    assert.equal(f[0]!.file, 'c.yaml');
    assert.deepEqual(f[0]!.owasp, RULES.find((r) => r.meta.id === id)!.meta.owasp);
  });
}

test('limits.none points at the route entry when the route writes no rate_limit, at rate_limit when it is off', () => {
  const text = SECURE.replace(/rate_limits:\n {2}limits:\n.*\n.*\n/, '').concat(
    '  - id: nolimit\n    match: { path: /x }\n    upstream: u\n    rate_limit: "off"\n',
  );
  const f = only(audit(text), 'limits.none');
  assert.deepEqual(
    f.map((x) => x.line),
    [lineOf(text, '- id: ping'), lineOf(text, 'rate_limit: "off"')],
  );
});

test('per-IP and per-consumer gaps: a consumer-only limit lacks the pre-auth IP limit, an IP-only one the consumer limit (low)', () => {
  const base = SECURE.replace(/rate_limits:\n {2}limits:\n.*\n.*\n/, '');
  const text = `${base}  - id: a\n    match: { path: /a }\n    upstream: u\n    rate_limit:\n      - { name: c, key: [consumer], rate: "1/s" }\n  - id: b\n    match: { path: /b }\n    upstream: u\n    rate_limit:\n      - { name: i, key: [ip], rate: "1/s" }\n`;
  const f = audit(text);
  assert.equal(only(f, 'limits.no-ip-pre-auth')[0]!.message.includes("'a'"), true);
  const pc = only(f, 'limits.no-per-consumer');
  assert.deepEqual(
    pc.map((x) => [x.message.includes("'b'"), x.severity]),
    [[true, 'low']],
  );
});

test('limits in monitor mode are not-enforced findings', () => {
  const text = SECURE.replace('rate_limits:\n', 'rate_limits:\n  mode: monitor\n');
  assert.equal(only(audit(text), 'limits.not-enforced')[0]!.line, lineOf(text, 'mode: monitor'));
});

test('secrets.inline: literal secrets are found (their value never printed), references are not', () => {
  const text = weaken(
    '  api_keys:\n    secret: pepper-pepper-pepper-pepper-pepper-1234\nconsumers:\n  - id: c\n    credentials:\n      signature_keys:\n        - { key_id: k, secret: "${env:POSTURE_TEST_AUDIT_KEY}" }',
    '      idp:',
  ).replace('admin:\n  token: ${env:POSTURE_TEST_ADMIN_TOKEN}', 'admin:\n  token: literal-admin-token-1234567');
  const f = only(audit(text), 'secrets.inline');
  assert.deepEqual(
    f.map((x) => x.keyPath),
    ['admin.token', 'auth.api_keys.secret'],
  );
  assert.equal(f[1]!.line, lineOf(text, 'secret: pepper'));
  for (const x of f) assert.ok(!x.message.includes('pepper-pepper') && !x.message.includes('literal-admin'), x.message);
});

test('secrets.inline: an API key or a PEM private key anywhere is a finding', () => {
  const key = `pc_billing_${'A'.repeat(43)}`;
  const text = SECURE.replace('  jwt:\n', `  jwt:\n    cookie: ${key}\n`).replace(
    '  - port: 8080\n',
    '  - port: 8080\n    name: "-----BEGIN PRIVATE KEY-----"\n',
  );
  const f = only(audit(text), 'secrets.inline');
  assert.deepEqual(
    f.map((x) => [x.keyPath, x.line]),
    [
      ['listeners[0].name', lineOf(text, 'BEGIN PRIVATE KEY')],
      ['auth.jwt.cookie', lineOf(text, 'cookie:')],
    ],
  );
  assert.ok(f.every((x) => !x.message.includes(key) && !x.message.includes('BEGIN')));
});

test('proxies.too-broad: /0 is high, /8 medium, a /24 or one address nothing', () => {
  const text = weaken('trusted_proxies: [0.0.0.0/0, "::/0", 10.0.0.0/8, 192.168.1.0/24, 192.168.1.7]');
  const f = only(audit(text), 'proxies.too-broad');
  assert.deepEqual(f.map((x) => [x.keyPath, x.severity]).sort(), [
    ['trusted_proxies[0]', 'high'],
    ['trusted_proxies[1]', 'high'],
    ['trusted_proxies[2]', 'medium'],
  ]);
});

test('admin: loopback without a token is low; a non-loopback address is medium, high with /metrics public', () => {
  const noToken = SECURE.replace('admin:\n  token: ${env:POSTURE_TEST_ADMIN_TOKEN}\n', '');
  assert.equal(only(audit(noToken), 'admin.no-token')[0]!.severity, 'low');
  const exposed = SECURE.replace('admin:\n', 'admin:\n  address: 0.0.0.0\n');
  assert.equal(only(audit(exposed), 'admin.exposed')[0]!.severity, 'medium');
  const metrics = exposed.replace('admin:\n', 'admin:\n  public_paths: [/healthz, /metrics]\n');
  const f = only(audit(metrics), 'admin.exposed')[0]!;
  assert.equal(f.severity, 'high');
  assert.equal(f.line, lineOf(metrics, 'address: 0.0.0.0'));
});

test('audit.off is reported when the audit log is not enabled', () => {
  const text = SECURE.replace('  enabled: true\n', '  enabled: false\n');
  assert.equal(only(audit(text), 'audit.off')[0]!.line, lineOf(text, 'enabled: false'));
});

test('cache.shared-across-principals: an authenticated route cached by tenant only', () => {
  const text = weaken('tenants: [{ id: t }]', '  u: { targets').concat('  - id: c\n    match: { path: /c }\n    upstream: u\n    cache: { key: [tenant] }\n');
  const f = only(audit(text), 'cache.shared-across-principals')[0]!;
  assert.equal(f.line, lineOf(text, 'cache: { key: [tenant] }'));
  assert.ok(!audit(text.replace('key: [tenant]', 'key: [tenant, consumer]')).some((x) => x.id === 'cache.shared-across-principals'));
});

test('signature.no-replay only when signatures are in use', () => {
  const text = SECURE.replace('auth:\n  jwt:\n', 'auth:\n  signature:\n    nonce: { required: false }\n  jwt:\n');
  assert.ok(!audit(text).some((x) => x.id === 'signature.no-replay'), 'no signature keys, no route asks for one');
  const used = text.concat('  - id: s\n    match: { path: /s }\n    upstream: u\n    auth: { any_of: [{ signature: {} }] }\n');
  assert.equal(only(audit(used), 'signature.no-replay')[0]!.line, lineOf(used, 'nonce:'));
});

const generated = (extra: Record<string, unknown>): RouteConfig => ({
  id: 'items.getItem',
  match: { path: '/items/{id}', methods: ['GET'] },
  upstream: 'u',
  protocol: 'http',
  grpc: { max_message_bytes: 4194304, timeout_ms: 300000, web: true },
  preserve_host: false,
  validate: { api: 'items', operation: 'getItem', mode: 'enforce', response: 'off' },
  ...extra,
});

test('a route generated from an OpenAPI document points at its apis entry: spec, an override or the API validate key', () => {
  const text = `${SECURE.replace('routes:\n', 'apis:\n  - id: items\n    spec: openapi.yaml\n    upstream: u\n    overrides:\n      getItem:\n        auth: none\nroutes:\n')}`;
  const f = audit(text, { generated: [generated({ auth: 'none' })], objects: true });
  assert.equal(only(f, 'auth.unmarked-public').find((x) => x.message.includes('getItem'))!.line, lineOf(text, '        auth: none'));
  assert.equal(only(f, 'validate.response-off')[0]!.line, lineOf(text, 'spec: openapi.yaml'));
  const withValidate = text.replace('    upstream: u\n    overrides:', '    upstream: u\n    validate: { response: "off" }\n    overrides:');
  assert.equal(only(audit(withValidate, { generated: [generated({})], objects: true }), 'validate.response-off')[0]!.line, lineOf(withValidate, 'validate: {'));
  // response validation on: no finding; no objects returned: no finding
  assert.ok(
    !audit(text, { generated: [generated({ validate: { api: 'items', operation: 'getItem', response: 'filter' } })], objects: true }).some(
      (x) => x.id === 'validate.response-off',
    ),
  );
  assert.ok(!audit(text, { generated: [generated({})], objects: false }).some((x) => x.id === 'validate.response-off'));
});

test('describesObjects: objects, arrays of objects and compositions of them; not scalars or arrays of scalars', () => {
  assert.ok(describesObjects({ type: 'object' }));
  assert.ok(describesObjects({ properties: { a: {} } }));
  assert.ok(describesObjects({ type: 'array', items: { type: 'object' } }));
  assert.ok(describesObjects({ allOf: [{ type: 'string' }, { type: ['object', 'null'] }] }));
  assert.ok(!describesObjects({ type: 'array', items: { type: 'string' } }));
  assert.ok(!describesObjects({ type: 'string' }));
  assert.ok(returnsObjects({ responses: { '200': { content: { 'application/json': { schema: { type: 'object' } } } } } }));
  assert.ok(!returnsObjects({ responses: { '404': { content: { 'application/json': { schema: { type: 'object' } } } } } }));
  assert.ok(!returnsObjects({ responses: { '200': { content: { 'text/plain': { schema: { type: 'object' } } } } } }));
});

test('failsAt: a finding at or above the threshold fails; the summary marks API items by findings and rules', () => {
  const text = weaken('    address: 0.0.0.0', '  - port: 8080');
  const loaded = parseConfig(text, 'c.yaml', STAGES);
  const report = auditConfig({ file: 'c.yaml', config: loaded.config, writtenRoutes: 1, source: new SourceMap(text), returnsObjects: () => false });
  assert.equal(failsAt(report, 'high'), true);
  assert.equal(failsAt(report, 'critical'), false);
  assert.equal(report.summary.counts.high, 1);
  const status = Object.fromEntries(report.summary.owasp.map((o) => [o.id, o.status]));
  assert.equal(status['API8:2023'], 'findings');
  assert.equal(status['API1:2023'], 'covered');
  assert.equal(status['API7:2023'], 'not-assessed');
});
