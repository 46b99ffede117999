import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../helpers/net.js';
import { request, Agent } from 'undici';
import { startUpstream } from '../helpers/upstream.js';
import { tracked } from '../helpers/children.js';

test('workers: 2 serve one port, keep one global limit through the primary, aggregate metrics and stop gracefully', async () => {
  const up = await startUpstream();
  const port = await freePort();
  const admin = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-cluster-'));
  const file = join(dir, 'p.yaml');
  writeFileSync(
    file,
    `version: 1
workers: 2
listeners: [{ port: ${port} }]
admin: { port: ${admin} }
access_log: { enabled: false }
upstreams: { u: { targets: [{ url: "${up.url}" }] } }
rate_limits:
  limits:
    - { name: burst, key: [route], rate: "1/hour", burst: 50 }
routes: [{ id: r, match: { prefix: / }, upstream: u, auth: none }]
`,
  );
  const bin = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'portcullis.js');
  const child = tracked(spawn(process.execPath, [bin, 'start', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const agent = new Agent({ connections: 50 });
  try {
    const deadline = Date.now() + 30000;
    for (;;) {
      const r = await request(`http://127.0.0.1:${admin}/readyz`).catch(() => null);
      if (r) await r.body.dump();
      if (r?.statusCode === 200) break;
      assert.ok(Date.now() < deadline, `cluster did not become ready: ${err}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const statuses = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const r = await request(`http://127.0.0.1:${port}/x`, { dispatcher: agent });
        await r.body.dump();
        return r.statusCode;
      }),
    );
    assert.equal(statuses.filter((s) => s === 200).length, 50, 'exactly the burst is allowed across both workers');
    assert.equal(statuses.filter((s) => s === 429).length, 150);
    assert.doesNotMatch(err, /enforcing rate limits locally/, 'the primary answered every decision');
    // metrics are recorded when each exchange closes, just after the client has its response
    let metrics = '';
    for (let i = 0; i < 20; i++) {
      metrics = await (await request(`http://127.0.0.1:${admin}/metrics`)).body.text();
      const denied = [...metrics.matchAll(/portcullis_requests_total\{[^}]*decision="denied"[^}]*\} (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
      if (denied === 150) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.match(metrics, /portcullis_requests_total\{route="r",status_class="2xx",decision="allowed",listener="[^"]+"\} 50/);
    const denied = [...metrics.matchAll(/portcullis_requests_total\{[^}]*status_class="4xx",decision="denied"[^}]*\} (\d+)/g)].reduce(
      (a, m) => a + Number(m[1]),
      0,
    );
    assert.equal(denied, 150, 'denials of both workers are counted (rate limit, then the abuse throttle)');
    assert.equal((err.match(/"event":"started"/g) ?? []).length, 2, 'two workers started');
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    await agent.close();
    await up.close();
  }
});

test('the cluster primary requires the admin token on the aggregated metrics, scopes a tenant token, and follows a token changed by a reload', async () => {
  const port = await freePort();
  const admin = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-cluster-'));
  const file = join(dir, 'p.yaml');
  const cfg = (token: string): string => `version: 1
workers: 2
listeners: [{ port: ${port} }]
admin: { port: ${admin}, token: ${token}, tenant_tokens: [{ tenant: acme, token: ${tenantToken} }] }
access_log: { enabled: false }
upstreams: { u: { targets: [{ url: "http://127.0.0.1:9" }] } }
tenants: [{ id: acme }, { id: globex }]
routes: [{ id: r, match: { prefix: / }, upstream: u, auth: none }]
`;
  const tenantToken = 'cluster-acme-token-0123456789';
  const first = 'cluster-admin-token-0123456789';
  const next = 'cluster-admin-token-after-reload';
  writeFileSync(file, cfg(first));
  const bin = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'portcullis.js');
  const child = tracked(spawn(process.execPath, [bin, 'start', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const status = async (path: string, token?: string): Promise<number> => {
    const r = await request(`http://127.0.0.1:${admin}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    await r.body.dump();
    return r.statusCode;
  };
  try {
    const deadline = Date.now() + 30000;
    while ((await status('/readyz').catch(() => 0)) !== 200) {
      assert.ok(Date.now() < deadline, `cluster did not become ready: ${err}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(await status('/healthz'), 200, 'the probes need no token');
    assert.equal(await status('/metrics'), 401);
    assert.equal(await status('/metrics', 'wrong-token-0123456789'), 401);
    assert.equal(await status('/metrics', first), 200);
    assert.equal(await status('/admin/bans'), 401, 'forwarded paths are refused by the primary too');
    assert.equal(await status('/admin/bans', first), 200);
    // a tenant token: its own series of the aggregated metrics (none yet: no global ones), 403 for another tenant
    const text = async (path: string, token: string): Promise<string> =>
      (await request(`http://127.0.0.1:${admin}${path}`, { headers: { authorization: `Bearer ${token}` } })).body.text();
    assert.match(await text('/metrics', first), /^# TYPE portcullis_tenant_requests_total counter$/m);
    assert.equal(await status('/metrics', tenantToken), 200);
    assert.equal(await text('/metrics', tenantToken), '', 'no global series for a tenant token, and acme has no traffic');
    assert.equal(await status('/metrics?tenant=globex', tenantToken), 403);
    assert.equal(await status('/admin/bans?tenant=globex', tenantToken), 403, 'refused by the primary before forwarding');
    assert.equal(await status('/admin/bans', tenantToken), 200, 'forwarded, and scoped by the worker');

    writeFileSync(file, cfg(next));
    child.kill('SIGHUP');
    const reloaded = Date.now() + 15000;
    while ((await status('/metrics', next)) !== 200) {
      assert.ok(Date.now() < reloaded, `the primary did not take the reloaded token: ${err}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(await status('/metrics', first), 401, 'the old token no longer opens metrics');
    assert.equal(await status('/admin/bans', next), 200);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
  }
});
