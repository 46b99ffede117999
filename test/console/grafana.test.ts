/**
 * examples/grafana/portcullis.json: it parses, has the `tenant` variable its per-tenant panels
 * use, and every metric it queries is one a running gateway exposes on /metrics: the quickstart
 * (auth, rate limits, WAF, cache) with two tenants configured and traffic of both (the
 * `portcullis_tenant_*` families appear only with tenants, src/observe/tenant-metrics.ts), each
 * per-tenant family with samples of a configured tenant.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { quickstart, QUICKSTART } from '../helpers/quickstart.js';
import { devToken } from '../../src/stages/auth/dev-token.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

test('the Grafana dashboard queries only series a gateway with tenants exposes, with a tenant variable', async () => {
  const dash = JSON.parse(readFileSync(join(ROOT, 'examples', 'grafana', 'portcullis.json'), 'utf8')) as {
    panels: Panel[];
    templating: { list: { name: string; definition?: string }[] };
  };
  const vars = dash.templating.list.map((v) => v.name);
  assert.deepEqual(vars, ['datasource', 'tenant']);
  const tenantVar = dash.templating.list.find((v) => v.name === 'tenant');
  assert.match(tenantVar?.definition ?? '', /^label_values\(portcullis_[a-z_]+, tenant\)$/);

  const { gw, close } = await quickstart((doc) => doc.set('tenants', [{ id: 'acme' }, { id: 'globex' }]));
  let exposed: Set<string>;
  let text: string;
  try {
    const keyFile = join(QUICKSTART, 'dev-jwt.json');
    for (const tenant of ['acme', 'globex']) {
      const authorization = `Bearer ${devToken({ file: keyFile, sub: `${tenant}-app`, scopes: ['items:read'], ttlS: 600, tenant, now: Date.now() })}`;
      // served, then blocked by the WAF: requests, latency and refusals of the tenant
      for (const q of ['', `?q=${encodeURIComponent("1' UNION SELECT password FROM users--")}`]) {
        const r = await request(`${gw.url}/api/items${q}`, { headers: { authorization } });
        await r.body.dump();
        assert.equal(r.statusCode, q === '' ? 200 : 403, `${tenant} ${q}`);
      }
    }
    const r = await request(`${gw.adminUrl}/metrics`);
    text = await r.body.text();
    assert.equal(r.statusCode, 200);
    exposed = new Set();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [, name, type] = m as unknown as [string, string, string];
      exposed.add(name);
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exposed.add(name + s);
    }
  } finally {
    await close();
  }
  assert.ok(exposed.size > 20, `metrics exposed: ${exposed.size}`);

  // the variable's metric too
  const queried = new Set<string>(/portcullis_[a-z0-9_]+/.exec(tenantVar?.definition ?? '') ?? []);
  let tenantPanels = 0;
  for (const p of dash.panels) {
    if (p.type === 'row') continue;
    assert.ok((p.targets ?? []).length > 0, `${p.title} has a query`);
    for (const t of p.targets ?? []) {
      for (const m of t.expr.matchAll(/\bportcullis_[a-z0-9_]+/g)) queried.add(m[0]);
      if (t.expr.includes('$tenant')) tenantPanels++;
    }
  }
  const unknown = [...queried].filter((n) => !exposed.has(n));
  assert.deepEqual(unknown, [], 'every queried metric is exposed by the gateway');
  assert.ok(tenantPanels >= 5, `per-tenant panels: ${tenantPanels}`);
  // each per-tenant family the dashboard queries has samples of both configured tenants
  const tenantFamilies = [...queried].filter((n) => n.startsWith('portcullis_tenant_'));
  assert.ok(tenantFamilies.length >= 5, tenantFamilies.join(', '));
  for (const n of tenantFamilies)
    for (const tenant of ['acme', 'globex']) assert.match(text, new RegExp(`^${n}\\{[^}]*tenant="${tenant}"`, 'm'), `${n} has ${tenant}'s samples`);
});
