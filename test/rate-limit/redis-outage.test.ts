import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { Redis } from 'ioredis';
import { startGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { MODULES } from './support.js';
import { startPrivateRedis } from './redis-server.js';

const agent = new Agent({ connections: 64 });
after(() => agent.close());

async function status(url: string): Promise<{ status: number; code: string | null }> {
  const r = await request(url, { dispatcher: agent });
  const text = await r.body.text();
  let code: string | null = null;
  try {
    code = (JSON.parse(text) as { code?: string }).code ?? null;
  } catch {
    code = null;
  }
  return { status: r.statusCode, code };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('Redis stopped during load: fail-open limits serve under local limits, fail-closed limits answer 503, and Redis is used again within 5 s of its return', async () => {
  const redis = await startPrivateRedis();
  const up = await startUpstream();
  const prefix = `pcout:${randomBytes(4).toString('hex')}:`;
  const g = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
upstreams:
  api: { targets: [{ url: "${up.url}" }] }
state:
  store: redis
  redis: { url: "${redis.url}", key_prefix: "${prefix}", command_timeout_ms: 2000, reconnect_max_delay_ms: 500 }
routes:
  - id: open
    match: { prefix: /open }
    upstream: api
    rate_limit:
      - { name: o, key: [route], rate: 10/s, burst: 5, on_store_failure: open }
  - id: closed
    match: { prefix: /closed }
    upstream: api
    rate_limit:
      - { name: c, key: [route], rate: 1000/s, burst: 1000, on_store_failure: closed }
`,
    { modules: MODULES },
  );
  const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  try {
    const store = g.gateway.services.store;
    assert.equal(store.kind, 'redis');
    const deadline = Date.now() + 5000;
    while (!store.healthy() && Date.now() < deadline) await sleep(20);
    assert.equal(store.healthy(), true);

    // load: up to 100 requests/s on each route (the open route's limit is 10/s)
    type Sample = { phase: string; t: number; route: string; status: number; code: string | null };
    const samples: Sample[] = [];
    let phase = 'up';
    let running = true;
    const load = (async () => {
      const inflight: Promise<void>[] = [];
      while (running) {
        for (const route of ['open', 'closed']) {
          const p = phase;
          const t = Date.now();
          inflight.push(
            status(`${g.url}/${route}`).then(
              (r) => void samples.push({ phase: p, t, route, ...r }),
              () => void samples.push({ phase: p, t, route, status: 0, code: null }),
            ),
          );
        }
        await sleep(10);
      }
      await Promise.all(inflight);
    })();

    await sleep(2000);
    phase = 'down';
    const stopAt = Date.now();
    await redis.stop();
    await sleep(2000);
    phase = 'restarting';
    const startAt = Date.now();
    await redis.start();
    const back = Date.now();
    // the closed route answers 200 again once the gateway uses Redis
    let recoveredAfter = -1;
    while (Date.now() - back < 8000) {
      const r = await status(`${g.url}/closed`);
      if (r.status === 200) {
        recoveredAfter = Date.now() - back;
        break;
      }
      await sleep(50);
    }
    phase = 'back';
    await sleep(500);
    running = false;
    await load;

    // requests sent within 300 ms of a switch may have been decided on either side of it
    const settled = (s: Sample): boolean => (s.phase === 'up' ? s.t < stopAt - 300 : s.phase === 'down' ? s.t > stopAt + 300 && s.t < startAt : true);
    const of = (ph: string, route: string) => samples.filter((s) => s.phase === ph && s.route === route && settled(s));
    // while Redis was up: the closed route always passed; the open route was limited through Redis
    assert.ok(
      of('up', 'closed').length > 10 && of('up', 'closed').every((s) => s.status === 200),
      JSON.stringify({ stopAt, bad: of('up', 'closed').filter((s) => s.status !== 200), first: samples[0]?.t }),
    );
    assert.ok(of('up', 'open').some((s) => s.status === 429));
    // Redis down: nothing crashed (every request got an answer), open keeps serving under local limits
    const downOpen = of('down', 'open');
    const downClosed = of('down', 'closed');
    assert.ok(downOpen.length > 20 && downClosed.length > 20, `${downOpen.length} ${downClosed.length}`);
    assert.ok(
      samples.every((s) => s.status !== 0 && s.status !== 500),
      'every request was answered without an internal error',
    );
    assert.ok(
      downOpen.every((s) => s.status === 200 || s.status === 429),
      JSON.stringify(downOpen.filter((s) => s.status !== 200 && s.status !== 429)),
    );
    const openAllowed = downOpen.filter((s) => s.status === 200).length;
    assert.ok(openAllowed > 0, 'fail-open limits keep serving');
    assert.ok(
      downOpen.some((s) => s.status === 429),
      'local limits still refuse the overload',
    );
    assert.ok(openAllowed <= 5 + 10 * 2.5, `local limit held: ${openAllowed} allowed in about 2 s`);
    // fail-closed: 503 PC_ERR_LIMIT_UNAVAILABLE
    const closed503 = downClosed.filter((s) => s.status === 503);
    assert.equal(closed503.length, downClosed.length);
    assert.ok(closed503.every((s) => s.code === 'PC_ERR_LIMIT_UNAVAILABLE'));
    // back within 5 s, and the decisions go through Redis again
    assert.ok(recoveredAfter >= 0 && recoveredAfter <= 5000, `recovered after ${recoveredAfter} ms`);
    assert.ok(of('back', 'closed').every((s) => s.status === 200));
    await admin.connect();
    await admin.config('RESETSTAT');
    for (let i = 0; i < 5; i++) assert.equal((await status(`${g.url}/closed`)).status, 200);
    const info = await admin.info('commandstats');
    assert.equal(Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1]), 5, info);
    assert.ok((await admin.keys(`${prefix}{*}:b:*`)).length > 0);
    // the degradation was counted and logged
    const metrics = await g.gateway.services.metrics.render();
    assert.match(metrics, /portcullis_ratelimit_store_fallbacks_total\{policy="open"\} [1-9]/);
    assert.match(metrics, /portcullis_ratelimit_store_fallbacks_total\{policy="closed"\} [1-9]/);
    assert.match(metrics, /portcullis_state_store_up\{store="redis"\} 1/);
    const events = g.eventLines().map((l) => String(l.msg));
    assert.ok(
      events.some((m) => m.includes('state store connection lost')),
      events.join('\n'),
    );
    assert.ok(events.some((m) => m.includes('enforcing rate limits locally')));
  } finally {
    admin.disconnect();
    await g.close();
    await up.close();
    await redis.stop();
  }
});
