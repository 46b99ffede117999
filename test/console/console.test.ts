/**
 * Issue 21, part 4: the live console in a real browser (Debian's chromium driven by
 * playwright-core) against the quickstart gateway with an admin token and real traffic: the page
 * updates from its live stream, bans a client and lifts the ban, opens a refusal by request id and
 * shows its stage and code; a tenant token opens the page on its tenant's view; the browser logs
 * no error and asks nothing of any host but the admin listener on 127.0.0.1. It also takes the
 * screenshot of the README (docs/console.png when UPDATE_CONSOLE_SCREENSHOT=1, else a temporary
 * file).
 *
 * Outside CI the test is skipped when /usr/bin/chromium is missing; in CI (CI=true) it fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { chromium, type Page } from 'playwright-core';
import { quickstart, QUICKSTART } from '../helpers/quickstart.js';
import { ABUSE_ADMIN_HANDLERS } from '../../src/admin/bans.js';
import { CONSOLE_ADMIN_HANDLERS, CSP } from '../../src/admin/console/handlers.js';
import { devToken } from '../../src/stages/auth/dev-token.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'console-admin-token-0123456789';
const ACME_TOKEN = 'console-acme-token-0123456789';
const ROOT = join(import.meta.dirname, '..', '..', '..');
const missing = !existsSync(CHROMIUM);
const skip = missing && process.env['CI'] !== 'true' ? `${CHROMIUM} is missing (apt-get install chromium); the browser test needs it` : false;

/** Polls the page until `check` holds, within a correctness bound (not a speed measurement). */
async function until<T>(what: string, probe: () => Promise<T>, check: (v: T) => boolean, boundMs: number): Promise<T> {
  const deadline = Date.now() + boundMs;
  let last: T = await probe();
  while (!check(last)) {
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(last)} after ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
    last = await probe();
  }
  return last;
}

const text = async (page: Page, selector: string): Promise<string> => ((await page.locator(selector).textContent()) ?? '').trim();

test('the live console in chromium: live numbers, a ban placed and lifted, a refusal opened by its request id, no error, no request off 127.0.0.1', {
  skip,
  timeout: 120_000,
}, async () => {
  assert.ok(!missing, `${CHROMIUM} is missing: CI installs it (.ci/run)`);
  const { gw, close } = await quickstart(
    (doc) => {
      doc.setIn(['admin', 'token'], TOKEN);
      // a tenant token opens the same page on its tenant's view
      doc.set('tenants', [{ id: 'acme' }, { id: 'globex' }]);
      doc.setIn(['admin', 'tenant_tokens'], [{ tenant: 'acme', token: ACME_TOKEN }]);
      // the test's requests come from 127.0.0.1 and name their client in X-Forwarded-For
      doc.set('trusted_proxies', ['127.0.0.1/32']);
    },
    [...ABUSE_ADMIN_HANDLERS, ...CONSOLE_ADMIN_HANDLERS],
  );
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
  try {
    const admin = gw.adminUrl as string;
    const keyFile = join(QUICKSTART, 'dev-jwt.json');
    const bearer = (tenant: string): string =>
      `Bearer ${devToken({ file: keyFile, sub: `${tenant}-app`, scopes: ['items:read', 'items:write'], ttlS: 600, tenant, now: Date.now() })}`;
    const call = async (path: string, client: string, opts: { auth?: string; method?: 'GET' | 'POST'; body?: string } = {}) => {
      const headers: Record<string, string> = { 'x-forwarded-for': client };
      if (opts.auth) headers['authorization'] = opts.auth;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      const r = await request(`${gw.url}${path}`, { method: opts.method ?? 'GET', headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
      const body = await r.body.text();
      const id = r.headers['x-request-id'];
      return { status: r.statusCode, body, id: typeof id === 'string' ? id : '' };
    };
    /** Served, refused without a token, invalid, blocked by the WAF, unrouted: a bit of everything. */
    const traffic = async (round: number): Promise<void> => {
      const acme = bearer('acme');
      const globex = bearer('globex');
      for (let i = 0; i < 6; i++) await call('/api/items', `198.51.100.${10 + i}`, { auth: i % 2 ? acme : globex });
      await call('/api/public/status', '198.51.100.20');
      await call('/api/items', '203.0.113.9');
      await call('/api/items', '203.0.113.9', { auth: acme, method: 'POST', body: '{"name": 42}' });
      if (round % 2 === 0) await call(`/api/public/status?q=${encodeURIComponent("1' UNION SELECT password FROM users--")}`, '203.0.113.66');
      await call('/wp-login.php', '203.0.113.66');
    };

    const errors: string[] = [];
    const urls: string[] = [];
    /** A new tab whose console errors, page errors and requests are recorded. */
    const watchedPage = async (): Promise<Page> => {
      const p = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
      p.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
      p.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      await p.route('**/*', (route) => {
        urls.push(route.request().url());
        return route.continue();
      });
      return p;
    };
    const page = await watchedPage();

    // the page and its files carry the strict CSP
    const head = await request(`${admin}/console`);
    await head.body.text();
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-security-policy'], CSP);

    await page.goto(`${admin}/console`);
    await page.locator('#token').fill(TOKEN);
    await page.locator('#token-submit').click();
    await page.locator('#main').waitFor({ state: 'visible' });
    await until(
      'the live stream connects',
      () => text(page, '#conn'),
      (t) => t === 'live',
      5000,
    );

    // numbers change within 2 s of traffic
    const before = Number(
      await until(
        'the first snapshot',
        () => text(page, '#kpi-total'),
        (t) => /^\d+$/.test(t),
        5000,
      ),
    );
    await traffic(0);
    const after = Number(
      await until(
        'the request count after traffic',
        () => text(page, '#kpi-total'),
        (t) => Number(t) >= before + 10,
        2000,
      ),
    );
    assert.ok(after >= before + 10, `requests since start: ${before} → ${after}`);
    await until(
      'refusals by stage and code',
      () => text(page, '#t-refusals tbody'),
      (t) => t.includes('PC_ERR_WAF_BLOCKED') && t.includes('auth'),
      2000,
    );
    await until(
      'WAF blocks by category',
      () => text(page, '#t-waf tbody'),
      (t) => t.includes('sqli'),
      2000,
    );
    await until(
      'top offending clients',
      () => text(page, '#t-clients tbody'),
      (t) => t.includes('203.0.113.66'),
      2000,
    );

    // a ban placed from the page refuses the client; lifted from the page, it is served again
    const victim = '192.0.2.77';
    assert.equal((await call('/api/public/status', victim)).status, 200);
    await page.locator('#ban-client').fill(victim);
    await page.locator('#ban-reason').fill('browser test');
    await page.locator('#ban-submit').click();
    await until(
      'the ban in the list',
      () => text(page, '#t-bans tbody'),
      (t) => t.includes(victim),
      3000,
    );
    const banned = await call('/api/public/status', victim);
    assert.ok(banned.status === 403 || banned.status === 429, `banned client answered ${banned.status}: ${banned.body}`);
    await page.locator('#t-bans tbody tr', { hasText: victim }).getByRole('button', { name: 'Lift' }).click();
    await until(
      'the ban gone from the list',
      () => text(page, '#t-bans tbody'),
      (t) => !t.includes(victim),
      3000,
    );
    assert.equal((await call('/api/public/status', victim)).status, 200, 'served again once the ban is lifted');

    // a WAF refusal found by its request id shows its stage, code, rule and field
    const blocked = await call(`/api/public/status?search=${encodeURIComponent('<script>alert(1)</script>')}`, '203.0.113.70');
    assert.equal(blocked.status, 403, blocked.body);
    assert.ok(blocked.id !== '');
    await page.locator('#search').fill(blocked.id);
    await page.locator('#search-submit').click();
    await page.locator('#decision').waitFor({ state: 'visible' });
    assert.equal(await text(page, '#d-id'), blocked.id);
    assert.equal(await text(page, '#d-stage'), 'waf');
    assert.equal(await text(page, '#d-code'), 'PC_ERR_WAF_BLOCKED');
    assert.match(await text(page, '#d-rules'), /xss/);
    assert.match(await text(page, '#d-fields-matched'), /xss-\d+ on (uri|query:search|args:search)/);
    // the page shows data as text: the script in the request is not markup
    assert.equal(await page.locator('#decision script').count(), 0);

    // more traffic for a screenshot with some shape (longer when the README's picture is made), then the picture
    const update = process.env['UPDATE_CONSOLE_SCREENSHOT'] === '1';
    for (let round = 1; round <= (update ? 40 : 6); round++) {
      await traffic(round);
      await new Promise((r) => setTimeout(r, 400));
    }
    await page.locator('#search').fill('');
    await page.locator('#search-submit').click();
    await until(
      'the charts drawn',
      () => page.locator('#chart-status path.area').count(),
      (n) => n === 4,
      3000,
    );
    await new Promise((r) => setTimeout(r, 1200));
    const shot = update ? join(ROOT, 'docs', 'console.png') : join(mkdtempSync(join(tmpdir(), 'pc-console-')), 'console.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.deepEqual([...readFileSync(shot).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG');

    // the tenant token's page: its tenant's label and fewer requests than the whole gateway
    assert.equal(await text(page, '#scope'), 'all tenants');
    const tenantPage = await watchedPage();
    await tenantPage.goto(`${admin}/console`);
    await tenantPage.locator('#token').fill(ACME_TOKEN);
    await tenantPage.locator('#token-submit').click();
    await tenantPage.locator('#main').waitFor({ state: 'visible' });
    assert.equal(await text(tenantPage, '#scope'), 'tenant: acme');
    const acmeTotal = Number(
      await until(
        "the tenant's request count",
        () => text(tenantPage, '#kpi-total'),
        (t) => Number(t) > 0,
        5000,
      ),
    );
    assert.ok(acmeTotal < Number(await text(page, '#kpi-total')), `acme ${acmeTotal} of the gateway's requests`);

    assert.deepEqual(errors, [], 'no console errors or page errors');
    assert.ok(urls.length >= 4, `requests seen: ${urls.length}`);
    const origin = new URL(admin).origin;
    const elsewhere = urls.filter((u) => !u.startsWith(`${origin}/`) || !/^http:\/\/127\.0\.0\.1:\d+\//.test(u));
    assert.deepEqual(elsewhere, [], 'every request goes to the admin listener on 127.0.0.1');
  } finally {
    await browser.close();
    await close();
  }
});
