/** Config of the cache stage: cross-key checks name the key; `portcullis validate` compiles a Redis cache without Redis. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { validateDeep } from '../../src/cli/validate-deep.js';
import { STAGES } from '../../src/stages/index.js';
import { cacheStage } from '../../src/stages/cache/index.js';

const config = (top: string, route = 'cache: on', auth = 'auth: none'): string => `
version: 1
listeners: [{ port: 0 }]
upstreams:
  up: { targets: [{ url: "http://127.0.0.1:1" }] }
${top}
routes:
  - { id: r, match: { prefix: /r }, upstream: up, ${auth}, ${route} }
`;

const check = (text: string): void => {
  const loaded = parseConfig(text, 'portcullis.yaml', STAGES);
  cacheStage.check?.(loaded.config, { file: 'portcullis.yaml', baseDir: '.', services: null as never });
};

test('cache.store redis without the state store on Redis is refused, naming the key', () => {
  assert.throws(() => check(config('cache: { store: redis }')), /portcullis\.yaml.*cache\.store 'redis' needs the state store on Redis.*\(cache\.store\)/);
  check(config('cache: { store: redis }\nstate: { store: redis, redis: { url: "redis://127.0.0.1:1" } }'));
});

test("an authenticated route's cache key without tenant or consumer is refused", () => {
  const auth = 'auth: { any_of: [{ api_key: {} }] }';
  assert.throws(() => check(config('', 'cache: { key: ["header:accept"] }', auth)), /routes\[0\]\.cache\.key|must include tenant or consumer/);
  check(config('', 'cache: { key: ["tenant", "header:accept"] }', auth));
  check(config('', 'cache: { key: ["header:accept"] }'));
});

test('portcullis validate compiles a config with a Redis cache on a memory state store, touching no Redis', async () => {
  const text = config('cache: { store: redis }\nstate: { store: redis, redis: { url: "redis://127.0.0.1:1", connect_timeout_ms: 200 } }');
  const r = await validateDeep(parseConfig(text, 'portcullis.yaml', STAGES), STAGES);
  assert.equal(r.routes, 1);
});
