/**
 * The abuse engine on a simulated clock: the real engine and the real memory store, with time
 * driven by the test, so that a minute of traffic takes milliseconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { AbuseEngine, compileSettings, type AbuseAlert, type FinishedExchange } from '../../src/stages/abuse/engine.js';
import type { AbuseConfig, IpListsConfig } from '../../src/stages/abuse/schema.js';
import { MemoryStore } from '../../src/store/memory.js';
import { Metrics } from '../../src/observe/metrics.js';
import { parseConfig } from '../../src/config/load.js';
import { STAGES } from '../../src/stages/index.js';
import type { Services } from '../../src/core/services.js';

const BASE = `
version: 1
listeners: [{ port: 0 }]
upstreams: { app: { targets: [{ url: 'http://127.0.0.1:1' }] } }
routes: [{ id: items, match: { path: '/items/{id}' }, upstream: app }]
`;

function harness(extra = '') {
  const clock = { now: Date.UTC(2026, 0, 1) };
  const kept = new Map<string, unknown>();
  const audits: string[] = [];
  const services: Services = {
    logger: pino({ level: 'silent' }),
    metrics: new Metrics(),
    store: new MemoryStore({ maxEntries: 200000, clock: () => clock.now }),
    audit: (event) => void audits.push(event),
    keep<T>(key: string, make: () => T): T {
      if (!kept.has(key)) kept.set(key, make());
      return kept.get(key) as T;
    },
    clock: () => clock.now,
  };
  const cfg = parseConfig(BASE + extra, 'sim.yaml', STAGES).config;
  const engine = new AbuseEngine(services);
  engine.configure(compileSettings(cfg.abuse as AbuseConfig, cfg.ip_lists as IpListsConfig));
  const alerts: AbuseAlert[] = [];
  engine.alertSink = (a) => void alerts.push(a);
  const ex = (ip: string, over: Partial<FinishedExchange> = {}): FinishedExchange => ({
    status: 200,
    decision: 'allowed',
    code: null,
    routeId: 'items',
    params: { id: '1' },
    path: '/items/1',
    ip,
    consumer: null,
    tenant: null,
    requestId: 'r',
    method: 'GET',
    stage: null,
    ...over,
  });
  /** sends `rps` exchanges per second for `seconds`, checking the client before each */
  async function run(ip: string, rps: number, seconds: number, make: (i: number) => Partial<FinishedExchange>): Promise<{ refused: number }> {
    let refused = 0;
    const total = rps * seconds;
    for (let i = 0; i < total; i++) {
      clock.now += 1000 / rps;
      const d = await engine.checkIp(engine.settings!, ip, clock.now, () => {});
      if (d) {
        refused++;
        continue;
      }
      await engine.observe(ex(ip, make(i)), clock.now);
    }
    return { refused };
  }
  return { clock, engine, alerts, audits, run, services };
}

test('a client sending a steady high rate of valid requests for 60 s is never banned, throttled or alerted on', async () => {
  const h = harness();
  const r = await h.run('10.0.0.1', 200, 60, (i) => ({ params: { id: String(i % 50) }, path: `/items/${i % 50}` }));
  assert.equal(r.refused, 0);
  assert.deepEqual(await h.engine.list(h.clock.now), []);
  assert.deepEqual(h.alerts, []);
});

test("the same harness detects a tenfold jump over the client's own baseline (rate anomaly alerts)", async () => {
  const h = harness();
  await h.run('10.0.0.2', 40, 70, () => ({}));
  assert.deepEqual(h.alerts, []);
  await h.run('10.0.0.2', 400, 5, () => ({}));
  assert.ok(
    (h.alerts as AbuseAlert[]).some((a) => a.detector === 'rate_anomaly' && a.action === 'alert' && a.client === '10.0.0.2'),
    JSON.stringify(h.alerts),
  );
  // rate_anomaly's default action is an alert: the client is not refused
  assert.deepEqual(await h.engine.list(h.clock.now), []);
});

test('the same harness bans a scanner and throttles an id enumerator', async () => {
  const h = harness();
  const scan = await h.run('10.0.0.3', 20, 10, (i) => ({
    status: 404,
    decision: 'denied',
    code: 'PC_ERR_ROUTE_NOT_FOUND',
    routeId: null,
    params: {},
    path: `/x/${i}`,
  }));
  assert.ok(scan.refused > 150, `refused ${scan.refused}`);
  const enumerate = await h.run('10.0.0.4', 50, 10, (i) => ({ params: { id: String(i) }, path: `/items/${i}` }));
  assert.ok(enumerate.refused > 0, 'the enumerator is throttled');
  const kinds = (await h.engine.list(h.clock.now)).map((v) => `${v.kind}:${v.client}:${v.source}`).sort();
  assert.deepEqual(kinds, ['ban:10.0.0.3:scanning', 'throttle:10.0.0.4:enumeration']);
  assert.ok(h.audits.includes('ban_placed') && h.audits.includes('throttle_placed'));
});

test('an allow-listed client doing all of the above is never acted on', async () => {
  const h = harness('abuse:\n  allow:\n    ips: [10.9.0.0/16]\n');
  const ip = '10.9.1.1';
  await h.run(ip, 50, 10, (i) => ({ status: 401, decision: 'denied', code: 'PC_ERR_AUTH_INVALID', path: `/login/${i}` }));
  await h.run(ip, 20, 10, (i) => ({ status: 404, decision: 'denied', code: 'PC_ERR_ROUTE_NOT_FOUND', routeId: null, params: {}, path: `/x/${i}` }));
  await h.run(ip, 50, 10, (i) => ({ params: { id: String(i) } }));
  await h.run(ip, 20, 10, () => ({ status: 403, decision: 'denied', code: 'PC_ERR_WAF_BLOCKED' }));
  await h.run(ip, 40, 70, () => ({}));
  const r = await h.run(ip, 400, 5, () => ({}));
  assert.equal(r.refused, 0);
  assert.deepEqual(await h.engine.list(h.clock.now), []);
  assert.deepEqual(h.alerts, []);
});

test('a monitor-mode detector only reports what it would have done', async () => {
  const h = harness('abuse:\n  detectors:\n    scanning: { mode: monitor }\n    errors_4xx: { mode: monitor }\n');
  const r = await h.run('10.0.0.5', 20, 10, (i) => ({
    status: 404,
    decision: 'denied',
    code: 'PC_ERR_ROUTE_NOT_FOUND',
    routeId: null,
    params: {},
    path: `/x/${i}`,
  }));
  assert.equal(r.refused, 0);
  assert.deepEqual(await h.engine.list(h.clock.now), []);
  assert.ok(h.alerts.some((a) => a.detector === 'scanning' && a.mode === 'monitor' && a.action === 'ban'));
  assert.ok(h.alerts.some((a) => a.detector === 'errors_4xx' && a.mode === 'monitor' && a.action === 'throttle'));
});

test('IPv6 clients rotating addresses inside one /64 are banned together', async () => {
  const h = harness();
  let n = 0;
  for (let i = 0; i < 60; i++) {
    h.clock.now += 100;
    const ip = `2001:db8:1:2::${(i + 1).toString(16)}`;
    if (await h.engine.checkIp(h.engine.settings!, ip, h.clock.now, () => {})) {
      n++;
      continue;
    }
    await h.engine.observe(
      {
        status: 404,
        decision: 'denied',
        code: 'PC_ERR_ROUTE_NOT_FOUND',
        routeId: null,
        params: {},
        path: `/p${i}`,
        ip,
        consumer: null,
        tenant: null,
        requestId: 'r',
        method: 'GET',
        stage: null,
      },
      h.clock.now,
    );
  }
  assert.ok(n >= 25, `refused ${n}`);
  assert.deepEqual(
    (await h.engine.list(h.clock.now)).map((v) => v.client),
    ['2001:db8:1:2::/64'],
  );
  assert.equal(await h.engine.checkIp(h.engine.settings!, '2001:db8:1:3::1', h.clock.now, () => {}), undefined, 'another /64 is not affected');
});

test('a client whose requests mostly fail with 4xx is throttled to the tighter limit, and one that mostly succeeds is not', async () => {
  const h = harness();
  // 9 of 10 requests are 403s on a valid route (not auth failures, not 404s)
  const bad = await h.run('10.0.0.6', 10, 10, (i) => (i % 10 === 0 ? {} : { status: 403, decision: 'denied', code: 'PC_ERR_FORBIDDEN' }));
  assert.deepEqual(
    (await h.engine.list(h.clock.now)).map((v) => `${v.kind}:${v.source}`),
    ['throttle:errors_4xx'],
  );
  assert.ok(bad.refused > 0);
  // throttled: `throttle.limit` (5) requests per second pass, the rest get PC_ERR_THROTTLED
  const decisions = [];
  for (let i = 0; i < 10; i++) decisions.push(await h.engine.checkIp(h.engine.settings!, '10.0.0.6', h.clock.now, () => {}));
  assert.equal(decisions.filter((d) => d === undefined).length <= 5, true);
  assert.equal(decisions.filter((d) => (d !== undefined && 'code' in d ? d.code : null) === 'PC_ERR_THROTTLED').length >= 5, true);

  const good = await h.run('10.0.0.7', 10, 10, (i) => (i % 10 === 0 ? { status: 403, decision: 'denied', code: 'PC_ERR_FORBIDDEN' } : {}));
  assert.equal(good.refused, 0);
});

test("instances sharing a store follow each other's bans and lifts through the journal", async () => {
  const h = harness();
  const other = new AbuseEngine(h.services);
  other.configure(h.engine.settings!);
  await other.sync(h.clock.now); // first sync: full load (empty)
  await h.run('10.0.0.8', 20, 5, (i) => ({ status: 404, decision: 'denied', code: 'PC_ERR_ROUTE_NOT_FOUND', routeId: null, params: {}, path: `/x/${i}` }));
  assert.equal(other.activeVerdict('ban', '10.0.0.8', h.clock.now), null, 'not seen before a sync');
  await other.sync(h.clock.now);
  assert.equal(other.activeVerdict('ban', '10.0.0.8', h.clock.now)?.source, 'scanning');
  assert.equal((await other.checkIp(other.settings!, '10.0.0.8', h.clock.now, () => {}))?.code, 'PC_ERR_CLIENT_BANNED');
  assert.equal(await h.engine.lift('10.0.0.8', 'test', h.clock.now), true);
  await other.sync(h.clock.now);
  assert.equal(other.activeVerdict('ban', '10.0.0.8', h.clock.now), null, 'the lift is applied');
  // a manual ban placed on the other instance reaches the first one
  await other.place(
    { kind: 'ban', client: '10.0.0.9', until: h.clock.now + 60000, since: h.clock.now, reason: 'manual', source: 'manual', offence: 0, by: 'test' },
    h.clock.now,
  );
  await h.engine.sync(h.clock.now);
  assert.equal((await h.engine.checkIp(h.engine.settings!, '10.0.0.9', h.clock.now, () => {}))?.code, 'PC_ERR_CLIENT_BANNED');
});
