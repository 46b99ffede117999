/**
 * Issue 18, item 19: the admin listener. With `admin.token` set, every path but
 * `admin.public_paths` (the health probes by default) needs the token, metrics included; a
 * non-loopback admin address without a token is refused at start, at reload and by `validate`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import pino from 'pino';
import { startGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { Gateway } from '../../src/gateway.js';
import { ConfigErrors } from '../../src/config/errors.js';
import { ABUSE_ADMIN_HANDLERS } from '../../src/admin/bans.js';

const TOKEN = 'admin-access-token-0123456789';
const BIN = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'portcullis.js');

const config = (admin: string): string => `
version: 1
listeners: [{ port: 0 }]
admin: ${admin}
access_log: { enabled: false }
upstreams: { u: { targets: [{ url: 'http://127.0.0.1:9' }] } }
routes: [{ id: r, match: { prefix: / }, upstream: u, auth: none }]
`;

async function call(
  url: string,
  opts: { method?: 'GET' | 'HEAD' | 'POST' | 'DELETE'; token?: string; body?: string } = {},
): Promise<{ status: number; body: string; auth: string | undefined }> {
  const headers: Record<string, string> = opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const r = await request(url, { method: opts.method ?? 'GET', headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
  const body = await r.body.text();
  const auth = r.headers['www-authenticate'];
  return { status: r.statusCode, body, auth: typeof auth === 'string' ? auth : undefined };
}

test('with admin.token set, metrics and every admin path answer 401 without the token, while the health probes answer anyone', async () => {
  const gw = await startGateway(config(`{ port: 0, token: ${TOKEN} }`), { adminHandlers: ABUSE_ADMIN_HANDLERS });
  const a = gw.adminUrl as string;
  try {
    for (const [path, method] of [
      ['/metrics', 'GET'],
      ['/metrics?x=1', 'GET'],
      ['/admin/bans', 'GET'],
      ['/admin/alerts', 'GET'],
      ['/admin/events', 'GET'],
      ['/admin/bans', 'POST'],
      ['/no-such-path', 'GET'],
      ['/healthz/', 'GET'],
      ['/HEALTHZ', 'GET'],
      ['/%68ealthz', 'GET'],
      ['/healthz', 'POST'],
    ] as const) {
      for (const token of [undefined, 'wrong-token-0123456789', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
        const r = await call(`${a}${path}`, { method, ...(token !== undefined ? { token } : {}) });
        assert.equal(r.status, 401, `${method} ${path} with ${token ?? 'no token'}: ${r.body}`);
        assert.equal(r.auth, 'Bearer realm="portcullis-admin"');
        assert.match(r.body, /PC_ERR_AUTH_REQUIRED/);
      }
    }
    const m = await call(`${a}/metrics`, { token: TOKEN });
    assert.equal(m.status, 200);
    assert.match(m.body, /portcullis_/);
    assert.equal((await call(`${a}/admin/bans`, { token: TOKEN })).status, 200);
    assert.equal((await call(`${a}/no-such-path`, { token: TOKEN })).status, 404, 'the 404 only shows with the token');
    for (const path of ['/healthz', '/readyz']) {
      assert.equal((await call(`${a}${path}`)).status, 200, path);
      assert.equal((await call(`${a}${path}`, { method: 'HEAD' })).status, 200, `HEAD ${path}`);
      assert.equal((await call(`${a}${path}`, { token: 'wrong-token-0123456789' })).status, 200, `${path}: a public path ignores credentials`);
    }
  } finally {
    await gw.close();
  }
});

test('admin.public_paths decides which probes answer without the token: listing /metrics serves it to anyone', async () => {
  const gw = await startGateway(config(`{ port: 0, token: ${TOKEN}, public_paths: [/healthz, /metrics] }`));
  const a = gw.adminUrl as string;
  try {
    assert.equal((await call(`${a}/metrics`)).status, 200);
    assert.equal((await call(`${a}/healthz`)).status, 200);
    assert.equal((await call(`${a}/readyz`)).status, 401, 'not listed: it needs the token');
    assert.equal((await call(`${a}/readyz`, { token: TOKEN })).status, 200);
  } finally {
    await gw.close();
  }
});

test('admin.public_paths accepts only the probes and metrics, never an admin API path', async () => {
  await assert.rejects(startGateway(config(`{ port: 0, token: ${TOKEN}, public_paths: [/admin/bans] }`)), (e: unknown) => {
    assert.ok(e instanceof ConfigErrors, String(e));
    assert.match(e.message, /admin\.public_paths\[0\]/);
    return true;
  });
});

test('without a token the loopback admin listener serves reads and refuses writes', async () => {
  const gw = await startGateway(config('{ port: 0 }'), { adminHandlers: ABUSE_ADMIN_HANDLERS });
  const a = gw.adminUrl as string;
  try {
    assert.equal((await call(`${a}/metrics`)).status, 200);
    assert.equal((await call(`${a}/admin/bans`)).status, 200);
    const w = await call(`${a}/admin/bans`, { method: 'POST', body: JSON.stringify({ client: '10.1.2.3', duration_ms: 60000 }) });
    assert.equal(w.status, 403);
  } finally {
    await gw.close();
  }
});

test('a non-loopback admin address without a token is refused at start, naming the file, line and key', async () => {
  for (const address of ['0.0.0.0', '::', '192.0.2.10', '::ffff:10.1.2.3']) {
    const text = config(`\n  port: 0\n  address: '${address}'`);
    const line = text.split('\n').findIndex((l) => l.includes('address:')) + 1;
    let refused: unknown = null;
    const started = await startGateway(text).catch((e: unknown) => {
      refused = e;
      return null;
    });
    if (started !== null) {
      await started.close();
      assert.fail(`the gateway started with its admin listener on ${address} and no token`);
    }
    assert.ok(refused instanceof ConfigErrors, String(refused));
    assert.match(refused.message, new RegExp(`portcullis\\.yaml:${line}:\\d+: .*not a loopback address.*admin\\.token.*\\(admin\\.address\\)`), address);
  }
  for (const address of ['127.0.0.1', '127.8.9.10', '::1', 'localhost']) {
    const gw = await startGateway(config(`{ port: 0, address: '${address}' }`));
    await gw.close();
  }
});

test('a reload that leaves a non-loopback admin address without a token is refused and the running token stays required', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-admin-'));
  const file = join(dir, 'p.yaml');
  const withToken = config(`{ port: 0, address: 0.0.0.0, token: ${TOKEN} }`);
  writeFileSync(file, withToken);
  const up = await startUpstream();
  // bound on loopback for the test (no test binds a public address); the config says 0.0.0.0
  const gw = await Gateway.start({
    file,
    logger: pino({ level: 'silent' }),
    watch: false,
    portOverride: () => 0,
    adminPortOverride: 0,
    adminAddressOverride: '127.0.0.1',
  });
  const a = `http://127.0.0.1:${gw.adminPort()}`;
  try {
    assert.equal((await call(`${a}/metrics`)).status, 401);
    writeFileSync(file, config('{ port: 0, address: 0.0.0.0 }'));
    assert.equal(await gw.reload(), false, 'the reload is refused');
    assert.equal(gw.config.admin.token, TOKEN);
    assert.equal((await call(`${a}/metrics`)).status, 401, 'the token is still required');
    assert.equal((await call(`${a}/metrics`, { token: TOKEN })).status, 200);
    // a reload that changes the token: the new one is required from then on
    writeFileSync(file, config(`{ port: 0, address: 0.0.0.0, token: ${TOKEN}-next }`));
    assert.equal(await gw.reload(), true);
    assert.equal((await call(`${a}/metrics`, { token: TOKEN })).status, 401);
    assert.equal((await call(`${a}/metrics`, { token: `${TOKEN}-next` })).status, 200);
  } finally {
    await gw.stop(0);
    await up.close();
  }
});

test('portcullis validate refuses a non-loopback admin address without a token and accepts it with one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-admin-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, config('\n  address: 0.0.0.0'));
  const r = spawnSync(process.execPath, [BIN, 'validate', '-c', bad], { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${bad.replace(/[.]/g, '\\.')}:5:\\d+: .*not a loopback address.*\\(admin\\.address\\)`));
  const good = join(dir, 'good.yaml');
  writeFileSync(good, config(`\n  address: 0.0.0.0\n  token: \${env:PC_TEST_ADMIN_TOKEN}`));
  const ok = spawnSync(process.execPath, [BIN, 'validate', '-c', good], {
    encoding: 'utf8',
    timeout: 30000,
    env: { ...process.env, PC_TEST_ADMIN_TOKEN: TOKEN },
  });
  assert.equal(ok.status, 0, ok.stderr);
});
