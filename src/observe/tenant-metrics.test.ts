import { test } from 'node:test';
import assert from 'node:assert/strict';
import client from 'prom-client';
import { register } from './fast-metrics.js';
import { labelValue, MAX_TENANTS, TENANT_NONE, TENANT_OTHER, TenantMetrics, tenantExposition } from './tenant-metrics.js';

async function exposition(t: TenantMetrics): Promise<string> {
  const reg = new client.Registry();
  for (const f of t.families()) register(reg, f);
  return reg.metrics();
}

test('requests are counted under their configured tenant, any other tenant under (other), none under (none)', async () => {
  const t = new TenantMetrics([0.1, 1]);
  t.configure(['acme', 'globex']);
  t.record('acme', 200, 0.05, null);
  t.record('acme', 429, 0.01, 'PC_ERR_RATE_LIMITED');
  t.record('acme', 403, 0.01, 'PC_ERR_WAF_BLOCKED');
  t.record('globex', 503, 2, null);
  t.record('initech', 200, 0.5, null);
  t.record('umbrella', 401, 0.5, 'PC_ERR_AUTH_INVALID');
  t.record(null, 200, 0.05, null);
  const text = await exposition(t);
  assert.match(text, /portcullis_tenant_requests_total\{tenant="acme",status_class="2xx"\} 1/);
  assert.match(text, /portcullis_tenant_requests_total\{tenant="acme",status_class="4xx"\} 2/);
  assert.match(text, /portcullis_tenant_requests_total\{tenant="globex",status_class="5xx"\} 1/);
  assert.match(text, /portcullis_tenant_requests_total\{tenant="\(other\)",status_class="2xx"\} 1/);
  assert.match(text, /portcullis_tenant_requests_total\{tenant="\(other\)",status_class="4xx"\} 1/);
  assert.match(text, /portcullis_tenant_requests_total\{tenant="\(none\)",status_class="2xx"\} 1/);
  assert.match(text, /portcullis_tenant_denials_total\{tenant="acme",code="PC_ERR_RATE_LIMITED"\} 1/);
  assert.match(text, /portcullis_tenant_rate_limited_total\{tenant="acme"\} 1/);
  assert.match(text, /portcullis_tenant_waf_blocks_total\{tenant="acme"\} 1/);
  assert.match(text, /portcullis_tenant_waf_blocks_total\{tenant="globex"\} 0/);
  assert.match(text, /portcullis_tenant_request_duration_seconds_bucket\{le="0\.1",tenant="acme"\} 3/);
  assert.match(text, /portcullis_tenant_request_duration_seconds_bucket\{le="\+Inf",tenant="globex"\} 1/);
  assert.match(text, /portcullis_tenant_request_duration_seconds_count\{tenant="\(other\)"\} 2/);
  assert.doesNotMatch(text, /initech|umbrella/);
});

test('the tenant labels stay bounded: unknown tenants pool under (other), configured ones beyond the cap too', async () => {
  const t = new TenantMetrics([1]);
  t.configure(['a']);
  for (let i = 0; i < 500; i++) t.record(`unknown-${i}`, 200, 0.1, null);
  const tenants = new Set([...(await exposition(t)).matchAll(/tenant="([^"]*)"/g)].map((m) => m[1]));
  assert.deepEqual([...tenants].sort(), [TENANT_OTHER]);
  const big = new TenantMetrics([1]);
  big.configure(Array.from({ length: MAX_TENANTS + 10 }, (_, i) => `t${i}`));
  assert.equal(big.labelOf(`t${MAX_TENANTS - 1}`), `t${MAX_TENANTS - 1}`);
  assert.equal(big.labelOf(`t${MAX_TENANTS}`), TENANT_OTHER, 'a configured tenant beyond the cap is pooled');
  assert.equal(big.labelOf(null), TENANT_NONE);
});

test('a reload keeps the counters of the tenants that stay and stops counting a removed one under its name', async () => {
  const t = new TenantMetrics([1]);
  t.configure(['a', 'b']);
  t.record('a', 200, 0.1, null);
  t.record('b', 200, 0.1, null);
  t.configure(['a']);
  t.record('a', 200, 0.1, null);
  t.record('b', 200, 0.1, null);
  const text = await exposition(t);
  assert.match(text, /portcullis_tenant_requests_total\{tenant="a",status_class="2xx"\} 2/);
  assert.match(text, /portcullis_tenant_requests_total\{tenant="b",status_class="2xx"\} 1/);
  assert.match(text, /portcullis_tenant_requests_total\{tenant="\(other\)",status_class="2xx"\} 1/);
});

test("a tenant's exposition keeps only the samples labelled with that tenant, with their families' HELP and TYPE", () => {
  const text = [
    '# HELP portcullis_requests_total Requests.',
    '# TYPE portcullis_requests_total counter',
    'portcullis_requests_total{route="r",status_class="2xx"} 5',
    '',
    '# HELP portcullis_tenant_requests_total Requests by tenant.',
    '# TYPE portcullis_tenant_requests_total counter',
    'portcullis_tenant_requests_total{tenant="acme",status_class="2xx"} 3',
    'portcullis_tenant_requests_total{tenant="globex",status_class="2xx"} 4',
    'portcullis_tenant_requests_total{tenant="acme2",status_class="2xx"} 4',
    'portcullis_tenant_requests_total{mytenant="acme",status_class="2xx"} 4',
    'portcullis_x_total{note="tenant=\\"acme\\"",tenant="globex"} 1',
    '# HELP portcullis_up Up.',
    '# TYPE portcullis_up gauge',
    'portcullis_up 1',
  ].join('\n');
  assert.equal(
    tenantExposition(text, 'acme'),
    [
      '# HELP portcullis_tenant_requests_total Requests by tenant.',
      '# TYPE portcullis_tenant_requests_total counter',
      'portcullis_tenant_requests_total{tenant="acme",status_class="2xx"} 3',
      '',
    ].join('\n'),
  );
  assert.equal(tenantExposition(text, 'nobody'), '');
});

test('label values are read with their escapes', () => {
  assert.equal(labelValue('m{a="x\\"y",tenant="t"} 1', 'tenant'), 't');
  assert.equal(labelValue('m{a="x\\"y",tenant="t"} 1', 'a'), 'x"y');
  assert.equal(labelValue('m{a="x\\\\",b="y"} 1', 'a'), 'x\\');
  assert.equal(labelValue('m 1', 'tenant'), null);
  assert.equal(labelValue('m{tenant="unterminated} 1', 'tenant'), null);
  assert.equal(labelValue('m{broken} 1', 'tenant'), null);
});
