import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { MODULES, startClockGateway } from './support.js';
import { sendRequest } from '../helpers/protocol.js';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown> | null;
}

/** In the suite's HTTP version (PC_TEST_PROTOCOL), on shared connections (HTTP/2: streams of one session). */
async function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Res> {
  const r = await sendRequest(url, { headers, method, shared: true });
  const text = r.text();
  let body: Record<string, unknown> | null = null;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = null;
  }
  return { status: r.status, headers: r.headers, body };
}

let up: TestUpstream;
before(async () => {
  up = await startUpstream();
});
after(() => up.close());

const gateways: TestGateway[] = [];
after(async () => {
  for (const g of gateways) await g.close();
});

async function gateway(yaml: string): Promise<TestGateway> {
  const g = await startGateway(yaml, { modules: MODULES, vars: { UP: up.url } });
  gateways.push(g);
  return g;
}

const BASE = `
version: 1
listeners: [{ port: 0 }]
upstreams:
  api: { targets: [{ url: "{{UP}}" }] }
`;

test('200 simultaneous requests at 25/s burst 50 get exactly 50 answers from the upstream and 150 refusals with Retry-After', async () => {
  // the gateway's clock stands still: the 200 requests are simultaneous however long this busy machine takes to serve them
  const g = await startClockGateway(
    `${BASE.replace('{{UP}}', up.url)}
routes:
  - id: limited
    match: { prefix: /limited }
    upstream: api
    rate_limit:
      - { name: per-ip, key: [ip], rate: 25/s, burst: 50 }
`,
    Date.now(),
  );
  try {
    const before = up.count();
    const rs = await Promise.all(Array.from({ length: 200 }, () => get(`${g.url}/limited`)));
    const ok = rs.filter((r) => r.status === 200);
    const limited = rs.filter((r) => r.status === 429);
    assert.equal(ok.length, 50);
    assert.equal(limited.length, 150);
    assert.equal(up.count() - before, 50);
    for (const r of limited) {
      assert.equal(r.body?.code, 'PC_ERR_RATE_LIMITED');
      assert.match(String(r.headers['content-type']), /application\/problem\+json/);
      assert.equal(r.headers['retry-after'], '1');
      assert.equal(r.headers['ratelimit'], '"per-ip";r=0;t=2');
    }
    assert.equal(ok[0]!.headers['ratelimit-policy'], '"per-ip";q=50;w=2');
    assert.deepEqual(
      ok.map((r) => r.headers['ratelimit']).sort(),
      Array.from({ length: 50 }, (_, r) => `"per-ip";r=${r};t=${Math.ceil(((50 - r) * 40) / 1000)}`).sort(),
    );
    // one second later the bucket has 25 tokens again
    g.now += 1000;
    const next = await Promise.all(Array.from({ length: 100 }, () => get(`${g.url}/limited`)));
    assert.equal(next.filter((r) => r.status === 200).length, 25);
  } finally {
    await g.close();
  }
});

test('under a constant overload for 10 s, 50 + 25 x 10 requests are allowed within 2%', async () => {
  // the 10 s are counted from the first request the gateway let through (seen by the upstream),
  // so that slow connection setup on a busy machine does not shorten the overload
  let firstAt: number | null = null;
  const timed = await startUpstream((_req, res) => {
    firstAt ??= Date.now();
    res.end('ok');
  });
  const g = await startGateway(
    `${BASE.replace('{{UP}}', '{{TIMED}}')}
routes:
  - id: overload
    match: { prefix: /overload }
    upstream: api
    rate_limit:
      - { name: per-route, key: [route], rate: 25/s, burst: 50 }
`,
    { modules: MODULES, vars: { TIMED: timed.url } },
  );
  gateways.push(g);
  try {
    const pending: Promise<Res>[] = [];
    // about 100 requests/s, four times the rate
    const giveUp = Date.now() + 30000;
    while ((firstAt === null || Date.now() - firstAt < 10000) && Date.now() < giveUp) {
      for (let i = 0; i < 2; i++) pending.push(get(`${g.url}/overload`));
      await new Promise((r) => setTimeout(r, 20));
    }
    const rs = await Promise.all(pending);
    const allowed = rs.filter((r) => r.status === 200).length;
    assert.ok(rs.every((r) => r.status === 200 || r.status === 429));
    assert.ok(Math.abs(allowed - 300) <= 6, `allowed ${allowed} of ${rs.length}`);
  } finally {
    await timed.close();
  }
});

test('the 1,001st request of a 1,000/day quota gets 429 with Retry-After pointing at the next UTC midnight', async () => {
  const g = await gateway(`${BASE}
routes:
  - id: quota
    match: { prefix: /quota }
    upstream: api
    rate_limit:
      - { name: daily, key: [consumer], quota: { requests: 1000, per: day } }
`);
  let ok = 0;
  for (let batch = 0; batch < 10; batch++) {
    const rs = await Promise.all(Array.from({ length: 100 }, () => get(`${g.url}/quota`, { 'x-test-consumer': 'alice' })));
    ok += rs.filter((r) => r.status === 200).length;
  }
  assert.equal(ok, 1000);
  const r = await get(`${g.url}/quota`, { 'x-test-consumer': 'alice' });
  const now = Date.now();
  assert.equal(r.status, 429);
  assert.equal(r.body?.code, 'PC_ERR_QUOTA_EXCEEDED');
  const d = new Date(now);
  const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  const want = Math.ceil((midnight - now) / 1000);
  assert.ok(Math.abs(Number(r.headers['retry-after']) - want) <= 2, `retry-after ${String(r.headers['retry-after'])}, want ${want}`);
  assert.match(String(r.headers['ratelimit-policy']), /^"daily";q=1000;w=86400$/);
  // another consumer has its own quota
  assert.equal((await get(`${g.url}/quota`, { 'x-test-consumer': 'bob' })).status, 200);
});

test('a concurrency limit of 5 with a slow upstream lets exactly 5 through at once and frees slots when they finish', async () => {
  const held: (() => void)[] = [];
  const slow = await startUpstream((_req, res) => {
    held.push(() => res.end('done'));
  });
  try {
    const g = await startGateway(
      `${BASE.replace('{{UP}}', '{{SLOW}}')}
routes:
  - id: slow
    match: { prefix: /slow }
    upstream: api
    rate_limit:
      - { name: in-flight, key: [route], concurrency: 5 }
`,
      { modules: MODULES, vars: { SLOW: slow.url } },
    );
    gateways.push(g);
    const pending = Array.from({ length: 12 }, () => get(`${g.url}/slow`));
    const deadline = Date.now() + 5000;
    while (held.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // the other 7 are refused at once, while 5 are still waiting on the upstream
    const refusedEarly = await Promise.race([
      Promise.all(pending.map((p) => p.then((r) => r.status))),
      new Promise<null>((r) => setTimeout(() => r(null), 300)),
    ]);
    assert.equal(refusedEarly, null, 'the admitted requests are still in flight');
    assert.equal(held.length, 5);
    assert.equal(slow.count(), 5);
    for (const release of held.splice(0)) release();
    const rs = await Promise.all(pending);
    assert.equal(rs.filter((r) => r.status === 200).length, 5);
    const refused = rs.filter((r) => r.status === 429);
    assert.equal(refused.length, 7);
    assert.equal(refused[0]!.body?.code, 'PC_ERR_CONCURRENCY_LIMITED');
    assert.ok(Number(refused[0]!.headers['retry-after']) >= 1);
    // slots were released when the exchanges ended
    const next = get(`${g.url}/slow`);
    while (held.length < 1) await new Promise((r) => setTimeout(r, 10));
    held.shift()!();
    assert.equal((await next).status, 200);
  } finally {
    for (const release of held) release();
    await slow.close();
  }
});

test('plans, tenants and consumers get their own limits, and a request refused by one limit consumes nothing from the others', async () => {
  const g = await gateway(`${BASE}
rate_limits:
  plans:
    free: [{ name: plan, key: [consumer], rate: 1/min, burst: 2 }]
    pro: [{ name: plan, key: [consumer], rate: 1/min, burst: 5 }]
  tenants:
    acme: [{ name: tenant-total, key: [tenant], rate: 1/min, burst: 6 }]
routes:
  - id: plans
    match: { prefix: /plans }
    upstream: api
    rate_limit:
      - { name: route-total, key: [route], rate: 1/min, burst: 100 }
`);
  const call = (consumer: string, plan: string, tenant?: string) =>
    get(`${g.url}/plans`, { 'x-test-consumer': consumer, 'x-test-plan': plan, ...(tenant ? { 'x-test-tenant': tenant } : {}) });
  const statuses = async (n: number, f: () => Promise<Res>) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await f()).status);
    return out;
  };
  assert.deepEqual(await statuses(4, () => call('f1', 'free')), [200, 200, 429, 429]);
  assert.deepEqual(await statuses(6, () => call('p1', 'pro')), [200, 200, 200, 200, 200, 429]);
  // tenant acme: 6 in total across its consumers, each consumer also bound by its plan
  assert.deepEqual(await statuses(3, () => call('a1', 'pro', 'acme')), [200, 200, 200]);
  assert.deepEqual(await statuses(4, () => call('a2', 'pro', 'acme')), [200, 200, 200, 429]);
  const r = await call('a3', 'free', 'acme');
  assert.equal(r.status, 429);
  // route-total counted only the 2 + 5 + 3 + 3 allowed requests: 87 left after the next one
  const last = await call('f2', 'free');
  assert.equal(last.status, 200);
  assert.match(String(last.headers['ratelimit']), /"route-total";r=86;t=\d+/);
  assert.equal(last.headers['ratelimit-policy'], '"route-total";q=100;w=6000, "plan";q=2;w=120');
});

test('header, claim and method keys count separately; a missing part falls back to the client IP', async () => {
  const g = await gateway(`${BASE}
routes:
  - id: keys
    match: { prefix: /keys }
    upstream: api
    rate_limit:
      - { name: by-header, key: ['header:x-api-client', method], rate: 1/min, burst: 1 }
      - { name: by-claim, key: ['claim:org'], rate: 1/min, burst: 2, methods: [POST] }
`);
  assert.equal((await get(`${g.url}/keys`, { 'x-api-client': 'a' })).status, 200);
  assert.equal((await get(`${g.url}/keys`, { 'x-api-client': 'a' })).status, 429);
  assert.equal((await get(`${g.url}/keys`, { 'x-api-client': 'b' })).status, 200);
  assert.equal((await get(`${g.url}/keys`, { 'x-api-client': 'a' }, 'POST')).status, 200);
  // no header: keyed by client IP instead
  assert.equal((await get(`${g.url}/keys`)).status, 200);
  assert.equal((await get(`${g.url}/keys`)).status, 429);
  const org = (o: string, c: string) => ({ 'x-api-client': c, 'x-test-consumer': 'u', 'x-test-claims': JSON.stringify({ org: o }) });
  assert.equal((await get(`${g.url}/keys`, org('o1', 'c1'), 'POST')).status, 200);
  assert.equal((await get(`${g.url}/keys`, org('o1', 'c2'), 'POST')).status, 200);
  const third = await get(`${g.url}/keys`, org('o1', 'c3'), 'POST');
  assert.equal(third.status, 429);
  assert.equal(third.headers['ratelimit-policy'], '"by-header";q=1;w=60, "by-claim";q=2;w=120');
  assert.equal((await get(`${g.url}/keys`, org('o2', 'c4'), 'POST')).status, 200);
  // by-claim applies to POST only
  assert.equal((await get(`${g.url}/keys`, org('o1', 'c5'))).status, 200);
});

test('global limits apply to every route except one that says off, and a monitor limit only logs', async () => {
  const g = await gateway(`${BASE}
rate_limits:
  limits:
    - { name: global-ip, key: [ip], rate: 1/min, burst: 2 }
    - { name: watch, key: [ip], rate: 1/min, burst: 1, mode: monitor }
routes:
  - id: a
    match: { prefix: /a }
    upstream: api
  - id: b
    match: { prefix: /b }
    upstream: api
  - id: free
    match: { prefix: /free }
    upstream: api
    rate_limit: off
`);
  assert.equal((await get(`${g.url}/a`)).status, 200);
  const second = await get(`${g.url}/b`);
  assert.equal(second.status, 200, 'the monitor limit refused nothing');
  assert.equal((await get(`${g.url}/a`)).status, 429, 'the global per-IP limit is shared by routes a and b');
  for (let i = 0; i < 5; i++) assert.equal((await get(`${g.url}/free`)).status, 200);
  assert.equal(second.headers['ratelimit-policy'], '"global-ip";q=2;w=120');
  const { waitForLogLines } = await import('../helpers/gateway.js');
  const lines = await waitForLogLines(g, 8);
  assert.ok(JSON.stringify(lines).includes('limit watch'), 'the monitor refusal is in the access log');
});

test('adaptive limits shrink the rate while the upstream is slow, publish the factor, and recover', async () => {
  let delay = 300;
  const slow = await startUpstream((_req, res) => void setTimeout(() => res.end('ok'), delay));
  const T = Date.now();
  const g = await startClockGateway(
    `version: 1
listeners: [{ port: 0 }]
upstreams:
  api: { targets: [{ url: "${slow.url}" }] }
rate_limits:
  adaptive:
    api: { p95_latency_ms: 150, window_ms: 1000, min_samples: 5, decrease: 0.5, increase: 0.25 }
routes:
  - id: adaptive
    match: { prefix: /adaptive }
    upstream: api
    rate_limit:
      - { name: r, key: [route], rate: 100/s, burst: 100 }
`,
    T,
  );
  const factor = async (): Promise<number> => {
    const text = await g.gateway.services.metrics.render();
    return Number(/portcullis_ratelimit_adaptive_factor\{upstream="api"\} ([\d.]+)/.exec(text)?.[1]);
  };
  try {
    const ten = () => Promise.all(Array.from({ length: 10 }, () => get(`${g.url}/adaptive`)));
    await ten();
    assert.equal(await factor(), 1);
    g.now += 1000;
    const r = await get(`${g.url}/adaptive`);
    assert.equal(await factor(), 0.5);
    assert.equal(r.headers['ratelimit-policy'], '"r";q=50;w=1');
    await ten();
    // the upstream recovers: the factor grows back by 0.25 per healthy window
    delay = 0;
    g.now += 1000;
    await get(`${g.url}/adaptive`);
    assert.equal(await factor(), 0.25);
    for (let w = 0; w < 3; w++) {
      await ten();
      g.now += 1000;
    }
    await get(`${g.url}/adaptive`);
    assert.equal(await factor(), 1);
  } finally {
    await g.close();
    await slow.close();
  }
});

test('a config reload keeps the counters: a spent bucket stays spent', async () => {
  const yaml = (extra: string) => `${BASE}
routes:
  - id: reload
    match: { prefix: /reload }
    upstream: api
    rate_limit:
      - { name: small, key: [route], rate: 1/min, burst: 2 }
${extra}`;
  const g = await gateway(yaml(''));
  assert.equal((await get(`${g.url}/reload`)).status, 200);
  assert.equal((await get(`${g.url}/reload`)).status, 200);
  assert.equal((await get(`${g.url}/reload`)).status, 429);
  assert.equal(await g.reload(yaml(`  - id: other\n    match: { prefix: /other }\n    upstream: api\n`)), true);
  assert.equal((await get(`${g.url}/other`)).status, 200);
  assert.equal((await get(`${g.url}/reload`)).status, 429);
});

test('a per-IP limit runs before authentication and a per-consumer limit after it; both show in the headers', async () => {
  const g = await gateway(`${BASE}
rate_limits:
  limits:
    - { name: per-ip, key: [ip], rate: 1/min, burst: 5 }
routes:
  - id: phases
    match: { prefix: /phases }
    upstream: api
    rate_limit:
      - { name: per-consumer, key: [consumer], rate: 1/min, burst: 1 }
`);
  const first = await get(`${g.url}/phases`, { 'x-test-consumer': 'c1' });
  assert.equal(first.status, 200);
  assert.equal(first.headers['ratelimit-policy'], '"per-ip";q=5;w=300, "per-consumer";q=1;w=60');
  assert.match(String(first.headers['ratelimit']), /^"per-ip";r=4;t=\d+, "per-consumer";r=0;t=\d+$/);
  // refused by the consumer limit: the per-IP token was already spent before authentication
  const second = await get(`${g.url}/phases`, { 'x-test-consumer': 'c1' });
  assert.equal(second.status, 429);
  assert.match(String(second.headers['ratelimit']), /^"per-ip";r=3;t=\d+, "per-consumer";r=0;t=\d+$/);
  const stages = (await import('../helpers/gateway.js')).waitForLogLines;
  const lines = await stages(g, 2);
  const refused = lines.find((l) => l.status === 429) as { decision: { stage: string; code: string } } | undefined;
  assert.deepEqual(refused?.decision && { stage: refused.decision.stage, code: refused.decision.code }, { stage: 'limit.rate', code: 'PC_ERR_RATE_LIMITED' });
});

test('the per-IP key is the client IP after trusted proxies: X-Forwarded-For counts only from a trusted peer', async () => {
  const routes = `
routes:
  - id: xff
    match: { prefix: /xff }
    upstream: api
    rate_limit:
      - { name: per-ip, key: [ip], rate: 1/min, burst: 1 }
`;
  const trusted = await gateway(`${BASE}trusted_proxies: [127.0.0.1/32]\n${routes}`);
  assert.equal((await get(`${trusted.url}/xff`, { 'x-forwarded-for': '203.0.113.7' })).status, 200);
  assert.equal((await get(`${trusted.url}/xff`, { 'x-forwarded-for': '203.0.113.7' })).status, 429);
  assert.equal((await get(`${trusted.url}/xff`, { 'x-forwarded-for': '203.0.113.8' })).status, 200, 'another client behind the proxy has its own bucket');
  const untrusted = await gateway(`${BASE}${routes}`);
  assert.equal((await get(`${untrusted.url}/xff`, { 'x-forwarded-for': '203.0.113.7' })).status, 200);
  assert.equal((await get(`${untrusted.url}/xff`, { 'x-forwarded-for': '198.51.100.1' })).status, 429, 'a spoofed header does not buy a new bucket');
});
