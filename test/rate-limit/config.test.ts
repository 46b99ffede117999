import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { rateLimitModule } from '../../src/stages/rate-limit/index.js';
import type { Services } from '../../src/core/services.js';
import { MODULES } from './support.js';
import { writeConfig } from './spawn.js';

const BASE = `version: 1
listeners: [{ port: 0 }]
upstreams:
  api: { targets: [{ url: "http://127.0.0.1:1" }] }
`;

/** Parses and runs the cross-key checks; returns the error message or null. */
function problems(yaml: string): string | null {
  const text = BASE + yaml + (yaml.includes('routes:') ? '' : 'routes: []\n');
  const file = writeConfig(text);
  try {
    const { config } = parseConfig(text, file, MODULES);
    rateLimitModule.check!(config, { file, baseDir: '/', services: null as unknown as Services });
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

test('valid limit definitions in every place are accepted', () => {
  assert.equal(
    problems(`rate_limits:
  limits:
    - { name: per-ip, key: [ip], rate: 100/s, burst: 200 }
    - { name: per-consumer, key: [consumer, method], rate: { requests: 10, per: second }, quota: { requests: 1000, per: month }, concurrency: 4, lease_ms: 60000 }
  plans:
    free: [{ name: plan, key: [consumer], rate: 1/s }]
    pro: [{ name: plan, key: [consumer], rate: 10/s }]
  default_plan: free
  tenants:
    acme: [{ name: t, key: [tenant], rate: 100/min, on_store_failure: closed }]
  adaptive:
    api: { p95_latency_ms: 500 }
routes:
  - id: r
    match: { prefix: / }
    upstream: api
    rate_limit: { limits: [{ name: per-ip, key: ['header:x-client', 'claim:org'], rate: 5/s, methods: [POST], mode: monitor }], global: false }
`),
    null,
  );
});

test('config mistakes are reported with the file, line and key path (table)', () => {
  const rows: [string, RegExp][] = [
    [
      `routes:
  - id: r
    match: { prefix: / }
    upstream: api
    rate_limit: [{ name: a, key: [ip], quota: { requests: 5, per: day }, burst: 5 }]
`,
      /:9:.*`burst` needs a `rate` \(routes\[0\]\.rate_limit\[0\]\.burst\)/,
    ],
    [`rate_limits: { limits: [{ name: a, key: [ip], rate: 1/s }, { name: a, key: [route], rate: 1/s }] }\n`, /duplicate limit name 'a'/],
    [`rate_limits: { limits: [{ name: a, key: [consumer], rate: 1/s, phase: pre-auth }] }\n`, /runs after authentication/],
    [`rate_limits: { plans: { free: [{ name: a, key: [ip], rate: 1/s, phase: pre-auth }] } }\n`, /runs after authentication/],
    [`rate_limits: { plans: { free: [] }, default_plan: gold }\n`, /unknown plan 'gold'/],
    [`rate_limits: { adaptive: { nope: {} } }\n`, /unknown upstream 'nope'/],
    [`rate_limits: { limits: [{ name: a, key: ['cookie:x'], rate: 1/s }] }\n`, /rate_limits\.limits\[0\]\.key\[0\]/],
    [`rate_limits: { limits: [{ name: a, key: [ip], rate: 25/day }] }\n`, /rate_limits\.limits\[0\]\.rate/],
    [`rate_limits: { limits: [{ name: a, key: [ip], rate: 1/s, brust: 5 }] }\n`, /unknown key 'brust'/],
    [`rate_limits: { limits: [{ name: a, key: [ip] }] }\n`, /missing required key 'rate'/],
    [`rate_limits: { limits: [{ name: a, key: [ip], rate: 1/s, on_store_failure: maybe }] }\n`, /on_store_failure/],
    [`state: { store: redis, redis: { url: "http://x" } }\n`, /state\.redis\.url/],
  ];
  for (const [yaml, want] of rows) {
    const msg = problems(yaml);
    assert.ok(msg !== null, `accepted: ${yaml}`);
    assert.match(msg, want, yaml);
  }
});
