/**
 * The compliance report over the logs of real traffic: a gateway with two tenants, the WAF, abuse
 * bans, the audit log and the access log in files; auth failures, WAF blocks, a ban placed and
 * lifted through the admin API, a reload and both tenants' requests; then the real CLI
 * (`bin/portcullis.js report`) in its three formats, whose counts are checked against the traffic sent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { bearer, jwt, nowS, rawRequest } from '../auth/support.js';
import type { Report } from '../../src/report/index.js';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

/**
 * Opens the HTML report in chromium with every request but the file itself refused: it renders
 * (its heading and charts are there), asks for nothing else and logs no error. Outside CI a
 * machine without chromium skips this part; in CI it fails (the console test's rule).
 */
async function openOffline(file: string): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    if (process.env['CI'] === 'true') assert.fail(`${CHROMIUM} is missing (apt-get install chromium)`);
    return;
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
  try {
    const context = await browser.newContext({ offline: true });
    const page = await context.newPage();
    const asked: string[] = [];
    const errors: string[] = [];
    await page.route('**/*', (route) => {
      asked.push(route.request().url());
      return route.request().url() === `file://${file}` ? route.continue() : route.abort();
    });
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`file://${file}`);
    assert.match(await page.title(), /report/i);
    assert.ok((await page.locator('svg').count()) > 0, 'the inline charts render');
    assert.ok((await page.locator('body').innerText()).includes('17 requests: 7 allowed, 10 refused'));
    assert.deepEqual(asked, [`file://${file}`], 'the report asks for nothing but itself');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
}

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const CLI = join(ROOT, 'bin', 'portcullis.js');
const ISS = 'https://issuer.test';
const ADMIN_TOKEN = 'report-admin-token-0123456789abcdef';

const config = (dir: string, rateNote: string): string => `
version: 1
listeners: [{ port: 0 }]
admin: { port: 0, token: ${ADMIN_TOKEN} }
access_log: { path: ${join(dir, 'access.log')} }
audit: { enabled: true, path: ${join(dir, 'audit.jsonl')}, checkpoints: { key: "{{CPKEY}}" } }
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
auth:
  jwt:
    providers:
      main: { issuer: ${ISS}, audiences: [api], algorithms: [HS256], secret: "{{SECRET}}" }
consumers:
  - { id: alice, tenant: A, credentials: { jwt: [{ provider: main, sub: alice }] } }
  - { id: bob, tenant: B, credentials: { jwt: [{ provider: main, sub: bob }] } }
tenants:
  - { id: A, routes: [a-data] }
  - { id: B, routes: [b-data] }
waf: { mode: enforce }
abuse:
  detectors:
    auth_failures: { threshold: 1000, window_ms: 10000, action: ban }
routes:
  - { id: a-data, match: { prefix: /a }, upstream: up }
  - { id: b-data, match: { prefix: /b }, upstream: up }
# ${rateNote}
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((res) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('portcullis report over the logs of real traffic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-report-'));
  const secret = randomBytes(48).toString('base64url');
  let up: TestUpstream;
  let gw: TestGateway;
  const from = new Date(Date.now() - 60_000).toISOString();
  let to: string;
  let hashes: string[];
  let fileName: string;

  const token = (sub: string, key = secret): string =>
    jwt({ alg: 'HS256', typ: 'JWT' }, { iss: ISS, aud: 'api', sub, iat: nowS(), exp: nowS() + 300 }, Buffer.from(key));
  /** status and problem code (null for an upstream body) */
  const get = async (path: string, t?: string): Promise<{ status: number; code: string | null }> => {
    const r = await rawRequest(`${gw.url}${path}`, { headers: t ? bearer(t) : [] });
    const code = r.headers['content-type'] === 'application/problem+json' ? (r.json()['code'] as string) : null;
    return { status: r.status, code };
  };
  const admin = (method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<number> =>
    request(`${gw.adminUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-portcullis-actor': 'ops-alice', 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    }).then(async (r) => {
      await r.body.dump();
      return r.statusCode;
    });

  before(async () => {
    up = await startUpstream();
    gw = await startGateway(config(dir, 'first'), { vars: { UP: up.url, SECRET: secret, CPKEY: randomBytes(32).toString('hex') }, dir });
    fileName = gw.file;
    const first = readFileSync(fileName);
    // tenant traffic: 3 requests of A and 2 of B served
    for (let i = 0; i < 3; i++) assert.equal((await get('/a/items', token('alice'))).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await get('/b/items', token('bob'))).status, 200);
    // 3 auth failures without a token on A's route, 2 with a forged signature on B's
    for (let i = 0; i < 3; i++) assert.equal((await get('/a/items')).code, 'PC_ERR_AUTH_REQUIRED');
    for (let i = 0; i < 2; i++) assert.equal((await get('/b/items', token('bob', 'not-the-secret-0123456789'))).code, 'PC_ERR_AUTH_TOKEN_SIGNATURE');
    // 4 WAF blocks (SQL injection in the query) by tenant A's consumer
    for (let i = 0; i < 4; i++)
      assert.equal(
        (await get(`/a/items?q=${encodeURIComponent(`1' OR '1'='1' UNION SELECT password FROM users--${i}`)}`, token('alice'))).code,
        'PC_ERR_WAF_BLOCKED',
      );
    // a ban placed through the admin API: the client is refused, then the ban is lifted
    assert.equal(await admin('POST', '/admin/bans', { client: '127.0.0.1', duration_ms: 600_000, reason: 'report scenario' }), 201);
    assert.equal((await get('/a/items', token('alice'))).code, 'PC_ERR_CLIENT_BANNED');
    assert.equal(await admin('DELETE', '/admin/bans/127.0.0.1'), 200);
    assert.equal((await get('/b/items', token('bob'))).status, 200);
    // a reload with a changed file
    writeFileSync(fileName, readFileSync(fileName, 'utf8').replace('# first', '# second'));
    assert.equal(await gw.reload(), true);
    const second = readFileSync(fileName);
    hashes = [first, second].map((b) => createHash('sha256').update(b).digest('hex'));
    assert.equal((await get('/a/items', token('alice'))).status, 200);
    await gw.close();
    to = new Date(Date.now() + 60_000).toISOString();
  });

  after(async () => {
    await up.close();
  });

  const json = async (extra: string[] = []): Promise<Report> => {
    const r = await cli(['report', '-c', fileName, '--from', from, '--to', to, '--format', 'json', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Report;
  };
  const count = (rows: readonly { key: string; count: number }[], key: string): number | undefined => rows.find((x) => x.key === key)?.count;

  test('the JSON report counts every request, auth failure, WAF block, ban, admin action and reload sent', async () => {
    const r = await json();
    // 3 + 2 served, 5 auth failures, 4 WAF blocks, 1 banned, 1 after the lift, 1 after the reload
    assert.equal(r.traffic.requests, 17);
    assert.equal(r.traffic.refused, 10);
    assert.equal(r.authFailures.total, 5);
    assert.deepEqual(r.authFailures.byCode, [
      { key: 'PC_ERR_AUTH_REQUIRED', count: 3 },
      { key: 'PC_ERR_AUTH_TOKEN_SIGNATURE', count: 2 },
    ]);
    assert.deepEqual(r.authFailures.byRoute, [
      { key: 'a-data', count: 3 },
      { key: 'b-data', count: 2 },
    ]);
    assert.deepEqual(r.authFailures.byTenant, [
      { key: 'A', count: 3 },
      { key: 'B', count: 2 },
    ]);
    assert.equal(r.waf.total, 4);
    assert.deepEqual(r.waf.byCategory, [{ key: 'sqli', count: 4 }]);
    assert.equal(count(r.refusals.byCode, 'PC_ERR_WAF_BLOCKED'), 4);
    assert.equal(count(r.refusals.byCode, 'PC_ERR_CLIENT_BANNED'), 1);
    assert.equal(count(r.refusals.byStage, 'waf'), 4);
    assert.equal(r.bans.placed, 1);
    assert.equal(r.bans.lifted, 1);
    assert.deepEqual(
      r.bans.events.map((b) => [b.event, b.client, b.by]),
      [
        ['ban_placed', '127.0.0.1', 'ops-alice@127.0.0.1'],
        ['ban_lifted', '127.0.0.1', 'ops-alice@127.0.0.1'],
      ],
    );
    assert.equal(r.adminActions.total, 2);
    assert.deepEqual(
      r.adminActions.entries.map((a) => [a.event, a.by]),
      [
        ['admin_ban_added', 'ops-alice@127.0.0.1'],
        ['admin_ban_lifted', 'ops-alice@127.0.0.1'],
      ],
    );
    assert.deepEqual(
      r.configVersions.map((v) => [v.event, v.hash, v.trigger]),
      [
        ['config_loaded', hashes[0], 'start'],
        ['config_reloaded', hashes[1], 'call'],
      ],
    );
    assert.ok(r.configVersions.every((v) => typeof v.processUser === 'string' && v.processUser !== ''));
    assert.equal(r.auditChain.checked, true);
    assert.equal(r.auditChain.ok, true);
    assert.equal(r.auditChain.checkpoints?.status, 'ok', 'the keyed checkpoints, with the key from the config');
    const rows = Object.fromEntries(r.tenants.map((t) => [t.tenant, t]));
    assert.deepEqual(rows['A'], { tenant: 'A', requests: 11, refused: 7, authFailures: 3, wafBlocks: 4 });
    assert.deepEqual(rows['B'], { tenant: 'B', requests: 5, refused: 2, authFailures: 2, wafBlocks: 0 });
  });

  test('--tenant limits every section to that tenant', async () => {
    const b = await json(['--tenant', 'B']);
    assert.equal(b.tenant, 'B');
    assert.equal(b.traffic.requests, 5);
    assert.equal(b.authFailures.total, 2);
    assert.equal(b.waf.total, 0);
    assert.deepEqual(
      b.tenants.map((t) => t.tenant),
      ['B'],
    );
    const a = await json(['--tenant', 'A']);
    assert.equal(a.authFailures.total, 3);
    assert.equal(a.waf.total, 4);
    assert.equal(a.bans.placed, 1, "the ban of an address that sent A's traffic is in A's report");
  });

  test('the Markdown report states the same counts', async () => {
    const r = await cli(['report', '-c', fileName, '--from', from, '--to', to, '--format', 'markdown']);
    assert.equal(r.code, 0, r.stderr);
    const md = r.stdout;
    assert.match(md, /^17 requests: 7 allowed, 10 refused/m);
    assert.match(md, /^5 authentication failures\.$/m);
    assert.match(md, /^\| PC_ERR_AUTH_REQUIRED \| 3 \|$/m);
    assert.match(md, /^\| PC_ERR_AUTH_TOKEN_SIGNATURE \| 2 \|$/m);
    assert.match(md, /^4 requests blocked by the WAF/m);
    assert.match(md, /^\| sqli \| 4 \|$/m);
    assert.match(md, /^1 bans placed, 1 lifted/m);
    assert.match(md, /^2 actions through the admin API\.$/m);
    assert.match(md, /^\| admin_ban_added \| 1 \|$/m);
    assert.ok(md.includes(hashes[0]!) && md.includes(hashes[1]!), 'both configuration hashes');
    assert.match(md, /^INTACT: hash chain intact/m);
    assert.match(md, /^\| A \| 11 \| 7 \| 3 \| 4 \|$/m);
    assert.match(md, /^\| B \| 5 \| 2 \| 2 \| 0 \|$/m);
    assert.match(md, /\| Authentication failures \| CC6\.1, CC7\.2 \| 10\.2\.1\.4, 10\.2\.2 \| A\.8\.5, A\.8\.15, A\.8\.16 \|/);
  });

  test('the HTML report states the same counts and references nothing outside itself', async () => {
    const out = join(dir, 'report.html');
    const r = await cli(['report', '-c', fileName, '--from', from, '--to', to, '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">/);
    assert.ok(html.includes('17 requests: 7 allowed, 10 refused'));
    assert.ok(html.includes('<td>PC_ERR_AUTH_REQUIRED</td><td class="n">3</td>'));
    assert.ok(html.includes('<td>sqli</td><td class="n">4</td>'));
    assert.ok(html.includes('1 bans placed, 1 lifted'));
    assert.ok(html.includes('2 actions through the admin API.'));
    assert.ok(html.includes(hashes[1]!));
    assert.ok(html.includes('<td>A</td><td class="n">11</td><td class="n">7</td><td class="n">3</td><td class="n">4</td>'));
    assert.ok(html.includes('<svg'), 'inline charts');
    // nothing that a browser would fetch
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<link\b/i);
    assert.doesNotMatch(html, /<(img|iframe|object|embed|audio|video|source)\b/i);
    assert.doesNotMatch(html, /\b(src|href|srcset|action|formaction|poster|data)\s*=/i);
    assert.doesNotMatch(html, /url\s*\(/i);
    assert.doesNotMatch(html, /@import/i);
    assert.doesNotMatch(html, /(https?:)?\/\/[a-z0-9]/i);
    await openOffline(out);
  });

  test('usage errors exit 2 and an unreadable log exits 1', async () => {
    assert.equal((await cli(['report', '--from', to, '--to', from, '-c', fileName])).code, 2);
    assert.equal((await cli(['report', '--from', 'yesterday', '--to', to, '-c', fileName])).code, 2);
    assert.equal((await cli(['report', '--from', from, '--to', to, '--format', 'pdf', '-c', fileName])).code, 2);
    const missing = await cli(['report', '--from', from, '--to', to, '--access-log', join(dir, 'nope.log')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*nope\.log: ENOENT/);
  });
});
