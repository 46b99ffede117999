/** Config of alerting: top-level `alerts` (rules, sinks, gateway faults). */
import type { JsonSchema } from '../../core/json-schema.js';

export type AlertMetric =
  | '4xx_rate'
  | '5xx_rate'
  | 'auth_failure_rate'
  | 'auth_failures'
  | 'waf_blocks'
  | 'rate_limited'
  | 'denials'
  | 'requests'
  | 'p95_latency_ms';

export const ALERT_METRICS: readonly AlertMetric[] = [
  '4xx_rate',
  '5xx_rate',
  'auth_failure_rate',
  'auth_failures',
  'waf_blocks',
  'rate_limited',
  'denials',
  'requests',
  'p95_latency_ms',
];

export type AlertScope = 'global' | 'route' | 'consumer' | 'tenant';

export interface AlertRule {
  name: string;
  metric: AlertMetric;
  by: AlertScope;
  window_ms: number;
  threshold: number;
  min_requests: number;
  for_ms: number;
  cooldown_ms: number;
  severity: 'info' | 'warning' | 'critical';
  routes?: string[];
  tenant?: string;
}

export interface WebhookConfig {
  name?: string;
  url: string;
  secret: string;
  timeout_ms: number;
  max_attempts: number;
  backoff_ms: number;
  queue_size: number;
}

export interface AlertsConfig {
  enabled: boolean;
  evaluate_interval_ms: number;
  max_series: number;
  rules: AlertRule[];
  faults: { enabled: boolean; severity: 'info' | 'warning' | 'critical'; resolve_after_ms: number; cooldown_ms: number };
  sinks: { log: boolean; webhooks: WebhookConfig[] };
}

export const DEFAULT_RULES: AlertRule[] = [
  {
    name: 'high_5xx_rate',
    metric: '5xx_rate',
    by: 'route',
    window_ms: 60000,
    threshold: 0.05,
    min_requests: 20,
    for_ms: 0,
    cooldown_ms: 300000,
    severity: 'critical',
  },
  {
    name: 'auth_failure_spike',
    metric: 'auth_failures',
    by: 'global',
    window_ms: 60000,
    threshold: 50,
    min_requests: 0,
    for_ms: 0,
    cooldown_ms: 300000,
    severity: 'warning',
  },
  {
    name: 'waf_blocks',
    metric: 'waf_blocks',
    by: 'global',
    window_ms: 60000,
    threshold: 1,
    min_requests: 0,
    for_ms: 0,
    cooldown_ms: 300000,
    severity: 'warning',
  },
  {
    name: 'rate_limit_rejections',
    metric: 'rate_limited',
    by: 'route',
    window_ms: 60000,
    threshold: 100,
    min_requests: 0,
    for_ms: 0,
    cooldown_ms: 300000,
    severity: 'info',
  },
  {
    name: 'high_p95_latency',
    metric: 'p95_latency_ms',
    by: 'route',
    window_ms: 300000,
    threshold: 2000,
    min_requests: 50,
    for_ms: 60000,
    cooldown_ms: 600000,
    severity: 'warning',
  },
];

const rule: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'metric', 'threshold'],
  description: 'An alert rule: fires when `metric` over the last `window_ms` is at or above `threshold` for `for_ms`.',
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$', description: 'Rule name, used in notifications and the admin API.' },
    metric: {
      enum: ALERT_METRICS,
      description:
        'What is measured over the window: `4xx_rate`, `5xx_rate`, `auth_failure_rate` (shares of requests, 0..1); `auth_failures`, `waf_blocks`, `rate_limited` (429 from limits), `denials` (any local refusal), `requests` (counts); `p95_latency_ms` (95th percentile of request duration).',
    },
    by: {
      enum: ['global', 'route', 'consumer', 'tenant'],
      default: 'global',
      description: 'Evaluate separately per route, consumer or tenant, or once for all traffic.',
    },
    window_ms: { type: 'integer', minimum: 1000, maximum: 3600000, default: 60000, description: 'Rolling window the metric is computed over.' },
    threshold: { type: 'number', minimum: 0, description: 'Value at or above which the condition holds.' },
    min_requests: {
      type: 'integer',
      minimum: 0,
      default: 0,
      description: 'Requests needed in the window before the condition can hold (avoids alerts on tiny samples).',
    },
    for_ms: { type: 'integer', minimum: 0, default: 0, description: 'How long the condition must hold before the alert fires (pending until then).' },
    cooldown_ms: {
      type: 'integer',
      minimum: 0,
      default: 300000,
      description: 'After a notification, the same alert (rule and scope) is not notified again before this time.',
    },
    severity: { enum: ['info', 'warning', 'critical'], default: 'warning', description: 'Severity carried by notifications.' },
    routes: { type: 'array', items: { type: 'string' }, maxItems: 1000, description: 'Only count exchanges of these route ids (all when absent).' },
    tenant: {
      type: 'string',
      pattern: '^[A-Za-z0-9_.:@-]{1,128}$',
      description:
        "Only count exchanges of this tenant's principals (an id in `tenants`; all traffic when absent). Its alerts carry `scope.tenant`, so that the tenant's admin token sees them at /admin/alerts.",
    },
  },
};

const webhook: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'secret'],
  description: 'A webhook receiving alert notifications: a JSON POST signed with HMAC-SHA256 of the body in `X-Portcullis-Signature: sha256=<hex>`.',
  properties: {
    name: { type: 'string', description: 'Name used in logs and metrics (defaults to the URL host).' },
    url: { type: 'string', pattern: '^https?://', format: 'http-url', description: 'Receiver URL (http or https).' },
    secret: { type: 'string', minLength: 16, description: 'HMAC key (at least 16 characters); use `${env:NAME}` or `${file:PATH}`. Never logged.' },
    timeout_ms: { type: 'integer', minimum: 100, maximum: 60000, default: 5000, description: 'Time allowed for one delivery attempt.' },
    max_attempts: {
      type: 'integer',
      minimum: 1,
      maximum: 20,
      default: 5,
      description: 'Delivery attempts per notification (network errors, 408, 429 and 5xx are retried).',
    },
    backoff_ms: { type: 'integer', minimum: 10, maximum: 600000, default: 1000, description: 'First retry delay; doubled on each retry, with jitter.' },
    queue_size: {
      type: 'integer',
      minimum: 1,
      maximum: 100000,
      default: 1000,
      description: 'Notifications waiting for delivery; the oldest is dropped when full (counted in portcullis_alert_webhook_dropped_total).',
    },
  },
};

export const alertsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'Alerting: rules over rolling windows of the traffic (per route, consumer or tenant), gateway faults, and the sinks notified.',
  properties: {
    enabled: { type: 'boolean', default: true, description: 'Evaluate rules and send notifications.' },
    evaluate_interval_ms: { type: 'integer', minimum: 100, maximum: 60000, default: 1000, description: 'How often rules are evaluated.' },
    max_series: {
      type: 'integer',
      minimum: 1,
      maximum: 100000,
      default: 1000,
      description: 'Most scopes (routes, consumers, tenants) tracked per rule; further ones are pooled under `(other)`. Bounds memory.',
    },
    rules: {
      type: 'array',
      items: rule,
      maxItems: 200,
      default: DEFAULT_RULES,
      description: 'Alert rules. The default set alerts on 5xx rate per route, auth-failure spikes, any WAF block, rate-limit rejections and p95 latency.',
    },
    faults: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: "Alerts on the gateway's own faults: upstream unhealthy, state store (Redis) unreachable, config reload rejected.",
      properties: {
        enabled: { type: 'boolean', default: true, description: 'Alert on gateway faults.' },
        severity: { enum: ['info', 'warning', 'critical'], default: 'critical', description: 'Severity of fault alerts.' },
        resolve_after_ms: { type: 'integer', minimum: 1000, default: 60000, description: 'A fault not raised again (nor cleared) for this long is resolved.' },
        cooldown_ms: { type: 'integer', minimum: 0, default: 300000, description: 'The same fault is notified at most once per this time.' },
      },
    },
    sinks: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Where notifications go.',
      properties: {
        log: { type: 'boolean', default: true, description: 'Write notifications to the gateway log (warn level).' },
        webhooks: { type: 'array', items: webhook, maxItems: 20, default: [], description: 'Webhook receivers.' },
      },
    },
  },
};
