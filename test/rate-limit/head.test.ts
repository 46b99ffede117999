/**
 * HEAD is GET to every method selector of the limits (issue 18, item 7): a GET route serves HEAD
 * and upstream frameworks run their GET handler for it, so a limit declared for GET counts HEAD,
 * and a `method` key part counts HEAD in GET's bucket. A limit that lists HEAD alone counts HEAD
 * only, in addition to the GET limits.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import type { TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { gatewaysClosedAfter, heldUpstream } from './tracked.js';

const agent = new Agent({ connections: 16 });
after(() => agent.close());

let up: TestUpstream;
before(async () => {
  up = await startUpstream();
});
after(() => up.close());

const start = gatewaysClosedAfter();

function gateway(routes: string, upstream?: string): Promise<TestGateway> {
  return start(
    `
version: 1
listeners: [{ port: 0 }]
upstreams:
  api: { targets: [{ url: "${upstream ?? up.url}" }] }
routes:
${routes}`,
  );
}

async function status(url: string, method: 'GET' | 'HEAD' | 'POST', headers: Record<string, string> = {}): Promise<number> {
  const r = await request(url, { dispatcher: agent, method, headers });
  await r.body.dump();
  return r.statusCode;
}

async function statuses(url: string, methods: ('GET' | 'HEAD' | 'POST')[], headers: Record<string, string> = {}): Promise<string> {
  const out: string[] = [];
  for (const m of methods) out.push(`${m} ${await status(url, m, headers)}`);
  return out.join(', ');
}

test('a HEAD flood is counted by a rate limit declared for GET, and never reaches the upstream past it', async () => {
  const g = await gateway(`
  - id: items
    match: { prefix: /items, methods: [GET] }
    upstream: api
    rate_limit:
      - { name: reads, key: [ip], rate: 1/min, burst: 3, methods: [GET] }
`);
  const before = up.count();
  const seen = await statuses(`${g.url}/items`, ['HEAD', 'HEAD', 'HEAD', 'HEAD', 'HEAD', 'GET']);
  assert.equal(seen, 'HEAD 200, HEAD 200, HEAD 200, HEAD 429, HEAD 429, GET 429');
  assert.equal(up.count() - before, 3);
});

test('HEAD and GET share the bucket of a limit keyed by method', async () => {
  const g = await gateway(`
  - id: keyed
    match: { prefix: /keyed, methods: [GET, POST] }
    upstream: api
    rate_limit:
      - { name: per-method, key: [ip, method], rate: 1/min, burst: 2 }
`);
  assert.equal(await statuses(`${g.url}/keyed`, ['GET', 'HEAD', 'HEAD', 'GET', 'POST']), 'GET 200, HEAD 200, HEAD 429, GET 429, POST 200');
});

test('a quota and a concurrency limit declared for GET count HEAD too', async () => {
  const g = await gateway(`
  - id: quota
    match: { prefix: /quota }
    upstream: api
    rate_limit:
      - { name: daily, key: [ip], quota: { requests: 2, per: day }, methods: [GET] }
`);
  assert.equal(await statuses(`${g.url}/quota`, ['HEAD', 'GET', 'HEAD', 'POST']), 'HEAD 200, GET 200, HEAD 429, POST 200');

  const slow = await heldUpstream();
  try {
    const c = await gateway(
      `
  - id: conc
    match: { prefix: /conc }
    upstream: api
    rate_limit:
      - { name: one-at-a-time, key: [ip], concurrency: 1, methods: [GET] }
`,
      slow.url,
    );
    const first = status(`${c.url}/conc`, 'GET');
    assert.equal(await slow.waitHeld(1), 1);
    assert.equal(await status(`${c.url}/conc`, 'HEAD'), 429, 'a HEAD takes a slot of the GET limit');
    slow.releaseAll();
    assert.equal(await first, 200);
  } finally {
    await slow.close();
  }
});

test('a limit that lists HEAD alone counts HEAD only, and the GET limit still counts every HEAD', async () => {
  const g = await gateway(`
  - id: both
    match: { prefix: /both }
    upstream: api
    rate_limit:
      - { name: reads, key: [ip], rate: 1/min, burst: 4, methods: [GET] }
      - { name: probes, key: [ip], rate: 1/min, burst: 1, methods: [HEAD] }
`);
  // HEAD 1 passes both limits; HEAD 2 is refused by `probes` (consuming nothing); GET 1-3 use up `reads`
  assert.equal(await statuses(`${g.url}/both`, ['HEAD', 'HEAD', 'GET', 'GET', 'GET', 'GET']), 'HEAD 200, HEAD 429, GET 200, GET 200, GET 200, GET 429');
});
