/**
 * Limits on a three-master Redis Cluster (issue 28), through real gateways. A private cluster of
 * this file (its command statistics are read, and one test stops a master): limit keys spread over
 * every master, one client at full speed is held to burst + rate x elapsed from one and from three
 * instances, a flood is refused from the local over-limit cache, and with one master down only the
 * clients whose keys live on it follow `on_store_failure`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { Redis } from 'ioredis';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { MODULES } from './support.js';
import { startPrivateCluster, type PrivateCluster } from './redis-server.js';

const agent = new Agent({ connections: 128 });
let cluster: PrivateCluster;
let up: TestUpstream;
let admins: Redis[] = [];
const gateways: TestGateway[] = [];

before(async () => {
  cluster = await startPrivateCluster();
  up = await startUpstream((_req, res) => res.end('ok'));
  admins = cluster.ports.map((port) => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 }).on('error', () => undefined));
});
after(async () => {
  for (const g of gateways) await g.close();
  await agent.close();
  await up.close();
  for (const a of admins) a.disconnect();
  await cluster.stop();
});

async function gateway(limits: string, prefix: string): Promise<TestGateway> {
  const g = await startGateway(
    `version: 1
listeners: [{ port: 0 }]
trusted_proxies: [127.0.0.1/32]
access_log: { enabled: false }
upstreams:
  api: { targets: [{ url: "${up.url}" }] }
state:
  store: redis
  redis:
    cluster_nodes: [${cluster.nodes.map((n) => `"${n}"`).join(', ')}]
    key_prefix: "${prefix}"
    command_timeout_ms: 1000
    reconnect_max_delay_ms: 200
routes:
${limits}
`,
    { modules: MODULES },
  );
  gateways.push(g);
  return g;
}

async function status(url: string, ip: string): Promise<number> {
  const r = await request(url, { dispatcher: agent, headers: { 'x-forwarded-for': ip } });
  await r.body.dump();
  return r.statusCode;
}

/** Limit-script calls (EVALSHA + EVAL) per master since the last RESETSTAT. */
async function scriptCalls(): Promise<number[]> {
  return Promise.all(
    admins.map(async (a) => {
      const info = await a.info('commandstats');
      const n = (c: string): number => Number(new RegExp(`cmdstat_${c}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
      return n('evalsha') + n('eval');
    }),
  );
}

async function resetStats(): Promise<void> {
  await Promise.all(admins.map((a) => a.config('RESETSTAT')));
}

/** Keys under `prefix` on each master. */
async function keysPerMaster(prefix: string): Promise<number[]> {
  return Promise.all(admins.map(async (a) => (await a.keys(`${prefix}*`)).length));
}

/** The index of the master serving the slot of hash tag `tag`. */
async function masterOf(tag: string): Promise<number> {
  const a = admins[0]!;
  const slot = Number(await a.cluster('KEYSLOT', tag));
  const ranges = (await a.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
  const r = ranges.find(([lo, hi]) => slot >= lo && slot <= hi);
  assert.ok(r, `slot ${slot} is served`);
  return cluster.ports.indexOf(Number(r[2][1]));
}

const share = (xs: number[]): number[] => {
  const total = xs.reduce((a, b) => a + b, 0);
  return xs.map((x) => x / total);
};

test('300 clients on a three-master cluster: each master holds 20-47% of the limit keys and serves 20-47% of the limit scripts', async (t) => {
  const prefix = `sp${randomBytes(3).toString('hex')}:`;
  const g = await gateway(
    `  - id: spread
    match: { prefix: /spread }
    upstream: api
    rate_limit:
      - { name: per-ip, key: [ip], rate: 10/s, burst: 10 }
      - { name: per-ip-daily, key: [ip], quota: { requests: 1000, per: day } }`,
    prefix,
  );
  await resetStats();
  const ips = Array.from({ length: 300 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.7`);
  for (let round = 0; round < 2; round++) {
    const statuses = await Promise.all(ips.map((ip) => status(`${g.url}/spread`, ip)));
    assert.ok(
      statuses.every((s) => s === 200),
      `statuses ${[...new Set(statuses)]}`,
    );
  }
  const keys = await keysPerMaster(prefix);
  const calls = await scriptCalls();
  // two keys per client (bucket and quota), one script per request: both keys share the client's slot
  assert.equal(
    keys.reduce((a, b) => a + b, 0),
    600,
  );
  assert.equal(
    calls.reduce((a, b) => a + b, 0),
    600,
  );
  t.diagnostic(`keys per master ${keys.join(' / ')}, scripts per master ${calls.join(' / ')}`);
  for (const s of [...share(keys), ...share(calls)]) assert.ok(s >= 0.2 && s <= 0.47, `shares ${share(keys)} ${share(calls)}`);
});

/** One client at full speed for `ms`: `conc` requests always in flight, spread over the gateways. */
async function fullSpeed(gws: TestGateway[], path: string, ip: string, ms: number, conc: number): Promise<{ admitted: number; sent: number; elapsed: number }> {
  let admitted = 0;
  let sent = 0;
  let first = 0;
  let last = 0;
  const start = Date.now();
  const worker = async (w: number): Promise<void> => {
    let i = w;
    while (Date.now() - start < ms) {
      const g = gws[i++ % gws.length]!;
      const before = Date.now();
      sent++;
      const s = await status(`${g.url}${path}`, ip);
      if (s === 200) {
        admitted++;
        if (first === 0) first = before;
        last = Date.now();
      } else assert.equal(s, 429);
    }
  };
  await Promise.all(Array.from({ length: conc }, (_, w) => worker(w)));
  return { admitted, sent, elapsed: last - first };
}

for (const n of [1, 3]) {
  test(`one client at full speed through ${n} instance${n > 1 ? 's' : ''} on the cluster is admitted burst + rate x elapsed within 2%`, async (t) => {
    const prefix = `fs${n}${randomBytes(3).toString('hex')}:`;
    const routes = `  - id: fast
    match: { prefix: /fast }
    upstream: api
    rate_limit:
      - { name: per-ip, key: [ip], rate: 50/s, burst: 50 }
      - { name: per-route, key: [route], rate: 100000/s, burst: 100000 }`;
    const gws = await Promise.all(Array.from({ length: n }, () => gateway(routes, prefix)));
    const r = await fullSpeed(gws, '/fast', '10.9.9.9', 6000, 16);
    const expected = 50 + (50 * r.elapsed) / 1000;
    t.diagnostic(`${n} instance(s): admitted ${r.admitted} of ${r.sent} over ${r.elapsed} ms, expected ${expected.toFixed(1)}`);
    assert.ok(r.sent > r.admitted * 3, `the client went faster than its limit (${r.sent} sent)`);
    assert.ok(Math.abs(r.admitted - expected) <= expected * 0.02, `admitted ${r.admitted}, expected ${expected.toFixed(1)} ± 2%`);
  });
}

test('a one-client flood at 100x its limit reaches Redis at most 2x the rate + once per retry window', async (t) => {
  const prefix = `fl${randomBytes(3).toString('hex')}:`;
  const g = await gateway(
    `  - id: flood
    match: { prefix: /flood }
    upstream: api
    rate_limit:
      - { name: per-ip, key: [ip], rate: 2/s, burst: 2 }`,
    prefix,
  );
  // past the burst first: the steady state is measured
  await fullSpeed([g], '/flood', '10.8.8.8', 1500, 16);
  await resetStats();
  const seconds = 5;
  const r = await fullSpeed([g], '/flood', '10.8.8.8', seconds * 1000, 16);
  const calls = (await scriptCalls()).reduce((a, b) => a + b, 0);
  const perSecond = calls / seconds;
  // rate 2/s: a refusal's retry_ms is at most one interval (500 ms), so at most 2 windows a second
  const bound = 2 * 2 + 1000 / 500;
  t.diagnostic(
    `flood: ${r.sent} requests in ${seconds} s (${(r.sent / seconds).toFixed(0)}/s), ${r.admitted} admitted, ${calls} limit scripts (${perSecond}/s, bound ${bound}/s)`,
  );
  assert.ok(r.sent / seconds >= 100 * 2, `the flood reached 100x the limit (${r.sent / seconds}/s)`);
  assert.ok(perSecond <= bound, `${perSecond} scripts/s > ${bound}`);
  assert.ok(Math.abs(r.admitted - 10) <= 1, `admitted ${r.admitted} in 5 s at 2/s`);
  const metrics = await g.gateway.services.metrics.render();
  assert.match(metrics, /portcullis_ratelimit_local_refusals_total [1-9]/);
});

test('with one master stopped, only clients whose keys live on it follow on_store_failure; the others stay exact', async () => {
  const prefix = `mo${randomBytes(3).toString('hex')}:`;
  const g = await gateway(
    `  - id: closed
    match: { prefix: /closed }
    upstream: api
    rate_limit:
      - { name: c, key: [ip], rate: 5/min, burst: 5, on_store_failure: closed }
  - id: open
    match: { prefix: /open }
    upstream: api
    rate_limit:
      - { name: o, key: [ip], rate: 3/min, burst: 3, on_store_failure: open }`,
    prefix,
  );
  // one client whose slot is on master 2 (stopped), one on each of the others
  const on: Record<number, string> = {};
  for (let i = 1; Object.keys(on).length < 3 && i < 1000; i++) {
    const ip = `10.7.${i >> 8}.${i & 255}`;
    const m = await masterOf(`ip=${ip}`);
    on[m] ??= ip;
  }
  const down = on[2]!;
  const others = [on[0]!, on[1]!];
  await cluster.stopNode(2);
  // the down master's clients: closed limits refuse with 503, open limits are counted locally (3 of 5)
  for (let i = 0; i < 3; i++) assert.equal(await status(`${g.url}/closed`, down), 503);
  const openDown = [];
  for (let i = 0; i < 5; i++) openDown.push(await status(`${g.url}/open`, down));
  assert.deepEqual(openDown, [200, 200, 200, 429, 429]);
  // clients on the masters that are up: exactly their limits, from Redis
  for (const ip of others) {
    const closed = [];
    for (let i = 0; i < 7; i++) closed.push(await status(`${g.url}/closed`, ip));
    assert.deepEqual(closed, [200, 200, 200, 200, 200, 429, 429]);
    const open = [];
    for (let i = 0; i < 5; i++) open.push(await status(`${g.url}/open`, ip));
    assert.deepEqual(open, [200, 200, 200, 429, 429]);
  }
  const keys = await Promise.all([0, 1].map((m) => admins[m]!.keys(`${prefix}*`)));
  assert.equal(keys.flat().length, 4, `their state is in Redis: ${keys.flat().join(' ')}`);
});
