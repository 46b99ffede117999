import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Services } from '../core/services.js';
import { AlertEngine, ruleScope, type AlertExchange } from './alerts.js';
import type { AlertRule, AlertsConfig } from './alerts/schema.js';
import { Metrics } from './metrics.js';

const silent = { fatal() {}, error() {}, warn() {}, info() {}, debug() {}, trace() {}, child: () => silent } as unknown as Services['logger'];

function engine(rules: AlertRule[]): AlertEngine {
  const services = {
    logger: silent,
    metrics: new Metrics(),
    audit() {},
    keep: <T>(_k: string, make: () => T) => make(),
    clock: () => 0,
  } as unknown as Services;
  const e = new AlertEngine(services);
  const cfg: AlertsConfig = {
    enabled: true,
    evaluate_interval_ms: 1000,
    max_series: 100,
    rules,
    faults: { enabled: false, severity: 'warning', resolve_after_ms: 60000, cooldown_ms: 60000 },
    sinks: { log: false, webhooks: [] },
  };
  e.configure(cfg);
  return e;
}

const rule = (over: Partial<AlertRule>): AlertRule => ({
  name: 'r',
  metric: 'waf_blocks',
  by: 'global',
  window_ms: 60000,
  threshold: 2,
  min_requests: 0,
  for_ms: 0,
  cooldown_ms: 0,
  severity: 'warning',
  ...over,
});

const block = (tenant: string | null): AlertExchange => ({
  status: 403,
  decision: 'denied',
  code: 'PC_ERR_WAF_BLOCKED',
  routeId: 'r1',
  consumer: null,
  tenant,
  latencyMs: 1,
});

test("a rule with a tenant counts only that tenant's traffic, and its alert carries the tenant", () => {
  const e = engine([rule({ name: 'acme_waf', tenant: 'acme' }), rule({ name: 'all_waf' })]);
  e.observeExchange(block('globex'), 1000);
  e.observeExchange(block('globex'), 1000);
  e.observeExchange(block(null), 1000);
  e.observeExchange(block('acme'), 1000);
  e.evaluate(2000);
  assert.deepEqual(
    e.active().map((a) => [a.name, a.value, a.scope.tenant ?? null]),
    [['all_waf', 4, null]],
    'one acme block is under the acme rule threshold; the global rule counts all four',
  );
  e.observeExchange(block('acme'), 2500);
  e.evaluate(3000);
  const acme = e.active().find((a) => a.name === 'acme_waf');
  assert.deepEqual(acme && [acme.value, acme.scope], [2, { by: 'global', key: '*', tenant: 'acme' }]);
  assert.deepEqual(
    e.history().map((n) => [n.name, n.scope.tenant ?? null]),
    [
      ['all_waf', null],
      ['acme_waf', 'acme'],
    ],
  );
});

test('a per-tenant rule scopes each series to its tenant, except the pooled one', () => {
  assert.deepEqual(ruleScope({ by: 'tenant' }, 'acme'), { by: 'tenant', key: 'acme', tenant: 'acme' });
  assert.deepEqual(ruleScope({ by: 'tenant' }, '(other)'), { by: 'tenant', key: '(other)' });
  assert.deepEqual(ruleScope({ by: 'route', tenant: 'acme' }, 'r1'), { by: 'route', key: 'r1', tenant: 'acme' });
  assert.deepEqual(ruleScope({ by: 'route' }, 'r1'), { by: 'route', key: 'r1' });
});
