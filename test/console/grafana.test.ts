/**
 * examples/grafana/portcullis.json: it parses, has the `tenant` variable its per-tenant panels
 * use, and every metric it queries is one a running gateway (the quickstart: auth, rate limits,
 * WAF, cache) exposes on /metrics, or one of the per-tenant families named in
 * examples/grafana/README.md, which the per-tenant monitoring work adds (TENANT_SERIES below: to
 * check once that work is merged, and then to drop from this list).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { quickstart } from '../helpers/quickstart.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const TENANT_SERIES = new Set([
  'portcullis_tenant_requests_total',
  'portcullis_tenant_denials_total',
  'portcullis_tenant_request_duration_seconds_bucket',
  'portcullis_tenant_ratelimit_denials_total',
  'portcullis_tenant_waf_blocked_total',
]);

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

test('the Grafana dashboard queries only series the gateway exposes (or the documented per-tenant ones), with a tenant variable', async () => {
  const dash = JSON.parse(readFileSync(join(ROOT, 'examples', 'grafana', 'portcullis.json'), 'utf8')) as {
    panels: Panel[];
    templating: { list: { name: string; definition?: string }[] };
  };
  const vars = dash.templating.list.map((v) => v.name);
  assert.deepEqual(vars, ['datasource', 'tenant']);
  const tenantVar = dash.templating.list.find((v) => v.name === 'tenant');
  assert.match(tenantVar?.definition ?? '', /^label_values\(portcullis_[a-z_]+, tenant\)$/);

  const { gw, close } = await quickstart();
  let exposed: Set<string>;
  try {
    const r = await request(`${gw.adminUrl}/metrics`);
    const text = await r.body.text();
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

  const queried = new Set<string>();
  let tenantPanels = 0;
  for (const p of dash.panels) {
    if (p.type === 'row') continue;
    assert.ok((p.targets ?? []).length > 0, `${p.title} has a query`);
    for (const t of p.targets ?? []) {
      for (const m of t.expr.matchAll(/\bportcullis_[a-z0-9_]+/g)) queried.add(m[0]);
      if (t.expr.includes('$tenant')) tenantPanels++;
    }
  }
  const unknown = [...queried].filter((n) => !exposed.has(n) && !TENANT_SERIES.has(n));
  assert.deepEqual(unknown, [], 'every queried metric is exposed by the gateway or listed as a per-tenant series');
  assert.ok(tenantPanels >= 5, `per-tenant panels: ${tenantPanels}`);
  // the allowlist holds per-tenant families only, and the dashboard uses each of them
  for (const n of TENANT_SERIES) {
    assert.ok(n.startsWith('portcullis_tenant_'), n);
    assert.ok(queried.has(n), `${n} is queried`);
  }
});
