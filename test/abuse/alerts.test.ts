/**
 * Alerting through a running gateway: a 5xx burst from a real upstream fires an alert that a real
 * webhook receiver gets, signed; the alert resolves after the burst.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { request } from 'undici';
import { startGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { ABUSE_ADMIN_HANDLERS } from '../../src/admin/bans.js';
import { raiseFault, clearFault } from '../../src/observe/alerts.js';

interface Delivery {
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  body: { status: string; name: string; scope: { by: string; key: string }; value: number; kind: string };
}

async function receiver(failFirst: number): Promise<{ url: string; deliveries: Delivery[]; attempts: () => number; close: () => Promise<void> }> {
  const deliveries: Delivery[] = [];
  let attempts = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // only webhook deliveries (a stray health check from another test may reuse this port)
      if (req.method !== 'POST' || req.url !== '/hook') {
        res.writeHead(404).end();
        return;
      }
      attempts++;
      if (attempts <= failFirst) {
        res.writeHead(503).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      deliveries.push({ headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')) as Delivery['body'] });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    deliveries,
    attempts: () => attempts,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

function validSignature(secret: string, d: Delivery): boolean {
  const got = String(d.headers['x-portcullis-signature'] ?? '');
  const want = `sha256=${createHmac('sha256', secret).update(d.raw).digest('hex')}`;
  return got.length === want.length && timingSafeEqual(Buffer.from(got), Buffer.from(want));
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const SECRET = 'webhook-secret-0123456789abcdef';

test('a 5xx burst fires an alert that the webhook receives signed, and the alert resolves after the burst', async () => {
  let failing = true;
  const up = await startUpstream((_req, res) => {
    res.writeHead(failing ? 500 : 200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  const hook = await receiver(1); // the first delivery attempt fails: it is retried
  const gw = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
admin: { port: 0, token: admin-token-0123456789 }
upstreams: { app: { targets: [{ url: '{{UP}}' }] } }
routes: [{ id: orders, match: { prefix: /orders }, upstream: app, auth: none }]
abuse:
  detectors:
    errors_5xx: { mode: 'off' }
alerts:
  evaluate_interval_ms: 100
  rules:
    - name: burst_5xx
      metric: 5xx_rate
      by: route
      window_ms: 2000
      threshold: 0.5
      min_requests: 5
      cooldown_ms: 0
      severity: critical
  sinks:
    webhooks:
      - url: '{{HOOK}}'
        secret: {{SECRET}}
        backoff_ms: 50
`,
    { vars: { UP: up.url, HOOK: hook.url, SECRET }, adminHandlers: ABUSE_ADMIN_HANDLERS },
  );
  try {
    for (let i = 0; i < 10; i++) {
      const r = await request(`${gw.url}/orders/${i}`);
      await r.body.dump();
      assert.equal(r.statusCode, 500);
    }
    const fired = await until('the firing notification', () => hook.deliveries.find((d) => d.body.status === 'firing'));
    assert.equal(fired.body.name, 'burst_5xx');
    assert.deepEqual(fired.body.scope, { by: 'route', key: 'orders' });
    assert.equal(fired.body.kind, 'rule');
    assert.ok(validSignature(SECRET, fired), 'the signature is HMAC-SHA256 of the body with the shared secret');
    assert.ok(!validSignature('another-secret-0123456789', fired));
    assert.ok(hook.attempts() >= 2, 'the refused first attempt was retried');

    const active = await request(`${gw.adminUrl}/admin/alerts`, { headers: { authorization: 'Bearer admin-token-0123456789' } });
    const body = (await active.body.json()) as { active: { name: string; status: string }[] };
    assert.ok(
      body.active.some((a) => a.name === 'burst_5xx' && a.status === 'firing'),
      JSON.stringify(body),
    );

    // the burst ends: healthy traffic, then the window slides past the errors
    failing = false;
    for (let i = 0; i < 5; i++) {
      const r = await request(`${gw.url}/orders/ok${i}`);
      await r.body.dump();
    }
    const resolved = await until('the resolved notification', () => hook.deliveries.find((d) => d.body.status === 'resolved'));
    assert.equal(resolved.body.name, 'burst_5xx');
    assert.ok(validSignature(SECRET, resolved));
    assert.equal(hook.deliveries.filter((d) => d.body.name === 'burst_5xx' && d.body.status === 'firing').length, 1, 'one firing notification for one burst');
  } finally {
    await gw.close();
    await up.close();
    await hook.close();
  }
});

test('gateway faults raise an alert that resolves when cleared', async () => {
  const up = await startUpstream();
  const hook = await receiver(0);
  const gw = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
upstreams: { app: { targets: [{ url: '{{UP}}' }] } }
routes: [{ id: r, match: { prefix: / }, upstream: app, auth: none }]
alerts:
  evaluate_interval_ms: 100
  sinks:
    webhooks: [{ url: '{{HOOK}}', secret: {{SECRET}} }]
`,
    { vars: { UP: up.url, HOOK: hook.url, SECRET }, adminHandlers: ABUSE_ADMIN_HANDLERS },
  );
  try {
    raiseFault('store_unreachable', { store: 'redis' }, gw.gateway.services);
    raiseFault('store_unreachable', { store: 'redis' }, gw.gateway.services); // repeated: one alert
    const fired = await until('fault firing', () => hook.deliveries.find((d) => d.body.name === 'fault.store_unreachable' && d.body.status === 'firing'));
    assert.equal(fired.body.kind, 'fault');
    const r = await request(`${gw.adminUrl}/admin/alerts`);
    const listed = (await r.body.json()) as { active: { name: string }[] };
    assert.ok(
      listed.active.some((a) => a.name === 'fault.store_unreachable'),
      'readable without a token when none is configured',
    );
    clearFault('store_unreachable', { store: 'redis' }, gw.gateway.services);
    await until('fault resolved', () => hook.deliveries.find((d) => d.body.name === 'fault.store_unreachable' && d.body.status === 'resolved'));
    assert.equal(hook.deliveries.filter((d) => d.body.status === 'firing').length, 1);
  } finally {
    await gw.close();
    await up.close();
    await hook.close();
  }
});

test('an upstream out of rotation and a rejected reload raise fault alerts without any wiring', async () => {
  const hook = await receiver(0);
  const gw = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
upstreams:
  dead:
    targets: [{ url: 'http://127.0.0.1:9' }]
    health_check: { path: /healthz, interval_ms: 100, timeout_ms: 100, unhealthy_threshold: 1 }
routes: [{ id: r, match: { prefix: / }, upstream: dead, auth: none }]
alerts:
  evaluate_interval_ms: 100
  sinks:
    webhooks: [{ url: '{{HOOK}}', secret: {{SECRET}} }]
`,
    { vars: { HOOK: hook.url, SECRET }, adminHandlers: ABUSE_ADMIN_HANDLERS },
  );
  try {
    const up = await until('upstream fault', () => hook.deliveries.find((d) => d.body.name === 'fault.upstream_unhealthy'));
    assert.equal(up.body.status, 'firing');
    assert.deepEqual(up.body.scope, { by: 'fault', key: 'http://127.0.0.1:9' });
    assert.equal(await gw.reload('version: 1\nnot: [valid'), false);
    const rejected = await until('reload fault', () => hook.deliveries.find((d) => d.body.name === 'fault.config_reload_rejected'));
    assert.equal(rejected.body.status, 'firing');
  } finally {
    await gw.close();
    await hook.close();
  }
});

test('a per-tenant p95 latency rule goes pending, fires after its for duration, and only for the slow tenant', async () => {
  const pino = (await import('pino')).default;
  const { Metrics } = await import('../../src/observe/metrics.js');
  const { MemoryStore } = await import('../../src/store/memory.js');
  const { AlertEngine } = await import('../../src/observe/alerts.js');
  let now = Date.UTC(2026, 0, 1);
  const audits: string[] = [];
  const engine = new AlertEngine({
    logger: pino({ level: 'silent' }),
    metrics: new Metrics(),
    store: new MemoryStore({ maxEntries: 1000 }),
    audit: (e) => void audits.push(e),
    keep: <T>(_k: string, make: () => T): T => make(),
    clock: () => now,
  });
  engine.configure({
    enabled: true,
    evaluate_interval_ms: 1000,
    max_series: 10,
    rules: [
      {
        name: 'slow_tenant',
        metric: 'p95_latency_ms',
        by: 'tenant',
        window_ms: 10000,
        threshold: 500,
        min_requests: 10,
        for_ms: 3000,
        cooldown_ms: 60000,
        severity: 'warning',
      },
    ],
    faults: { enabled: false, severity: 'critical', resolve_after_ms: 60000, cooldown_ms: 0 },
    sinks: { log: false, webhooks: [] },
  });
  const feed = (tenant: string | null, latencyMs: number): void =>
    engine.observeExchange({ status: 200, decision: 'allowed', code: null, routeId: 'r', consumer: null, tenant, latencyMs }, now);
  const states: string[] = [];
  for (let s = 0; s < 6; s++) {
    for (let i = 0; i < 20; i++) {
      feed('acme', 900);
      feed('globex', 20);
      feed(null, 5000); // no tenant: not counted by a per-tenant rule
    }
    now += 1000;
    engine.evaluate(now);
    states.push(
      engine
        .active(now)
        .map((a) => `${a.scope.key}:${a.status}`)
        .join(',') || '-',
    );
  }
  assert.deepEqual(states, ['acme:pending', 'acme:pending', 'acme:pending', 'acme:firing', 'acme:firing', 'acme:firing']);
  assert.deepEqual(
    engine.history().map((n) => `${n.name}:${n.status}:${n.scope.key}`),
    ['slow_tenant:firing:acme'],
  );
  assert.deepEqual(audits, ['alert_fired']);
  // the slow tenant recovers: resolved once the window has slid past
  for (let s = 0; s < 12; s++) {
    for (let i = 0; i < 20; i++) feed('acme', 20);
    now += 1000;
    engine.evaluate(now);
  }
  assert.deepEqual(engine.active(now), []);
  assert.deepEqual(
    engine.history().map((n) => n.status),
    ['firing', 'resolved'],
  );
});
