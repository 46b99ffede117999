/**
 * Alerting: rules over rolling windows of the traffic (4xx/5xx/auth-failure rates, WAF blocks,
 * rate-limit rejections, p95 latency), per route, consumer, tenant or global, with a `for`
 * duration, pending -> firing -> resolved states and a cooldown; gateway faults (upstream
 * unhealthy, Redis unreachable, config reload rejected); abuse-detector notifications. Sinks: the
 * log, the audit log, and signed webhooks.
 *
 * Feed: `alertsFor(services).observe(ctx)` for every finished exchange (src/stages/abuse's
 * observeExchange does it), `raiseFault(kind, details)` / `clearFault(kind, details)` from the core.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Services } from '../core/services.js';
import type { AlertRule, AlertsConfig } from './alerts/schema.js';
import { INACTIVE, step, type AlertState } from './alerts/state.js';
import { RollingSeries } from './alerts/window.js';
import { WebhookSink } from './alerts/webhook.js';
import type { ExchangeObserver } from '../core/stage.js';

export type { AlertsConfig, AlertRule } from './alerts/schema.js';

/** What alert rules read from one finished exchange. */
export interface AlertExchange {
  readonly status: number;
  readonly decision: 'allowed' | 'denied' | 'responded';
  readonly code: string | null;
  readonly routeId: string | null;
  readonly consumer: string | null;
  readonly tenant: string | null;
  readonly latencyMs: number;
}

const LIMIT_CODES = new Set(['PC_ERR_RATE_LIMITED', 'PC_ERR_QUOTA_EXCEEDED', 'PC_ERR_CONCURRENCY_LIMITED', 'PC_ERR_THROTTLED']);

function isAuthFailure(x: AlertExchange): boolean {
  return x.code !== null ? x.code.startsWith('PC_ERR_AUTH_') && x.code !== 'PC_ERR_AUTH_UNAVAILABLE' : x.status === 401;
}

/** 1 when the exchange counts toward the rule's metric. Pure. */
export function matches(rule: Pick<AlertRule, 'metric'>, x: AlertExchange): number {
  switch (rule.metric) {
    case '4xx_rate':
      return x.status >= 400 && x.status < 500 ? 1 : 0;
    case '5xx_rate':
      return x.status >= 500 ? 1 : 0;
    case 'auth_failure_rate':
    case 'auth_failures':
      return isAuthFailure(x) ? 1 : 0;
    case 'waf_blocks':
      return x.code === 'PC_ERR_WAF_BLOCKED' ? 1 : 0;
    case 'rate_limited':
      return x.code !== null && LIMIT_CODES.has(x.code) ? 1 : 0;
    case 'denials':
      return x.decision === 'denied' ? 1 : 0;
    case 'requests':
    case 'p95_latency_ms':
      return 1;
  }
}

/** The rule's value over a window. Pure. */
export function ruleValue(rule: Pick<AlertRule, 'metric'>, totals: { total: number; matched: number }, p95: number): number {
  switch (rule.metric) {
    case '4xx_rate':
    case '5xx_rate':
    case 'auth_failure_rate':
      return totals.total === 0 ? 0 : totals.matched / totals.total;
    case 'requests':
      return totals.total;
    case 'p95_latency_ms':
      return p95;
    default:
      return totals.matched;
  }
}

/** What an alert is about: `by` and its `key`, and the tenant whose traffic it counts, if one (a `tenant` rule, or `by: tenant`). */
export interface AlertScopeOut {
  readonly by: string;
  readonly key: string;
  readonly tenant?: string;
}

/** The scope of a rule's series. Pure. */
export function ruleScope(rule: Pick<AlertRule, 'by' | 'tenant'>, key: string): AlertScopeOut {
  const tenant = rule.tenant ?? (rule.by === 'tenant' && key !== OTHER ? key : undefined);
  return tenant === undefined ? { by: rule.by, key } : { by: rule.by, key, tenant };
}

/** A notification as sent to sinks (and the webhook's JSON body). */
export interface Notification {
  readonly id: string;
  readonly kind: 'rule' | 'fault' | 'abuse';
  readonly status: 'firing' | 'resolved';
  readonly name: string;
  readonly severity: string;
  readonly scope: AlertScopeOut;
  readonly metric: string | null;
  readonly value: number | null;
  readonly threshold: number | null;
  readonly started_at: string;
  readonly at: string;
  readonly gateway: string;
  readonly summary: string;
  readonly details?: Record<string, unknown>;
}

/** An alert that is pending or firing now (admin API). */
export interface ActiveAlert {
  readonly kind: 'rule' | 'fault' | 'abuse';
  readonly name: string;
  readonly status: 'pending' | 'firing';
  readonly severity: string;
  readonly scope: AlertScopeOut;
  readonly value: number | null;
  readonly threshold: number | null;
  readonly since: string;
  readonly details?: Record<string, unknown>;
}

interface SeriesEntry {
  readonly series: RollingSeries;
  state: AlertState;
  value: number;
}

interface RuleRuntime {
  readonly rule: AlertRule;
  readonly sig: string;
  readonly routes: ReadonlySet<string> | null;
  readonly series: Map<string, SeriesEntry>;
}

interface FaultEntry {
  readonly kind: string;
  readonly key: string;
  details: Record<string, unknown>;
  readonly firstAt: number;
  lastAt: number;
  notified: boolean;
  /** abuse notifications expire at this time instead of resolve_after_ms */
  readonly until: number | null;
  readonly source: 'fault' | 'abuse';
  readonly severity: string;
}

const OTHER = '(other)';
const RECENT_MAX = 200;
const FAULTS_MAX = 1000;
const GATEWAY = hostname();

export class AlertEngine {
  config: AlertsConfig | null = null;
  private rules: RuleRuntime[] = [];
  private sinks: WebhookSink[] = [];
  private sinkSig = '';
  private readonly faults = new Map<string, FaultEntry>();
  private readonly recent: Notification[] = [];
  private timer: NodeJS.Timeout | null = null;
  private users = 0;
  private readonly counters;

  constructor(private readonly services: Services) {
    const m = services.metrics;
    this.counters = {
      sent: m.counter<'webhook' | 'result'>(
        'portcullis_alert_webhook_deliveries_total',
        'Alert webhook deliveries by webhook and result (delivered, rejected, failed).',
        ['webhook', 'result'],
      ),
      dropped: m.counter<'webhook'>('portcullis_alert_webhook_dropped_total', 'Alert notifications dropped because the webhook queue was full.', ['webhook']),
      notifications: m.counter<'name' | 'status'>('portcullis_alert_notifications_total', 'Alert notifications by alert name and status (firing, resolved).', [
        'name',
        'status',
      ]),
    };
  }

  configure(cfg: AlertsConfig): void {
    this.config = cfg;
    const old = new Map(this.rules.map((r) => [r.rule.name, r]));
    this.rules = cfg.rules.map((rule) => {
      const sig = JSON.stringify(rule);
      const prev = old.get(rule.name);
      if (prev && prev.sig === sig) return prev;
      return { rule, sig, routes: rule.routes ? new Set(rule.routes) : null, series: new Map() };
    });
    const sinkSig = JSON.stringify(cfg.sinks.webhooks);
    if (sinkSig !== this.sinkSig) {
      for (const s of this.sinks) s.close();
      this.sinks = cfg.sinks.webhooks.map((w) => new WebhookSink(w, this.services.logger, this.counters));
      this.sinkSig = sinkSig;
    }
    if (this.timer) this.startTimer();
  }

  acquire(): void {
    this.users++;
    live.add(this);
    if (!this.timer) this.startTimer();
  }

  release(): void {
    this.users = Math.max(0, this.users - 1);
    if (this.users > 0) return;
    live.delete(this);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const s of this.sinks) s.close();
    this.sinks = [];
    this.sinkSig = '';
  }

  private startTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => this.evaluate(this.services.clock()), this.config?.evaluate_interval_ms ?? 1000);
    this.timer.unref();
  }

  observeExchange(x: AlertExchange, now: number): void {
    const cfg = this.config;
    if (!cfg || !cfg.enabled) return;
    for (const rt of this.rules) {
      if (rt.routes && (x.routeId === null || !rt.routes.has(x.routeId))) continue;
      const r = rt.rule;
      if (r.tenant !== undefined && x.tenant !== r.tenant) continue;
      let key: string | null;
      switch (r.by) {
        case 'global':
          key = '*';
          break;
        case 'route':
          key = x.routeId ?? '(unrouted)';
          break;
        case 'consumer':
          key = x.consumer;
          break;
        case 'tenant':
          key = x.tenant;
          break;
      }
      if (key === null) continue;
      let e = rt.series.get(key);
      if (!e) {
        if (rt.series.size >= cfg.max_series) {
          key = OTHER;
          e = rt.series.get(OTHER);
        }
        if (!e) {
          e = { series: new RollingSeries(r.window_ms, r.metric === 'p95_latency_ms'), state: INACTIVE, value: 0 };
          rt.series.set(key, e);
        }
      }
      e.series.add(now, { matched: matches(r, x), latencyMs: x.latencyMs });
    }
  }

  /** Evaluates every rule and fault at `now`; sends notifications. */
  evaluate(now: number): void {
    const cfg = this.config;
    if (!cfg || !cfg.enabled) return;
    for (const rt of this.rules) {
      const r = rt.rule;
      for (const [key, e] of rt.series) {
        const totals = e.series.totals(now);
        const p95 = r.metric === 'p95_latency_ms' ? e.series.quantile(now, 0.95) : 0;
        const value = ruleValue(r, totals, p95);
        const holds = totals.total >= r.min_requests && totals.total > 0 && value >= r.threshold;
        e.value = value;
        const prevSince = e.state.since;
        const { state, event } = step(e.state, holds, now, r);
        e.state = state;
        if (event) {
          this.notify(
            {
              kind: 'rule',
              status: event === 'fire' ? 'firing' : 'resolved',
              name: r.name,
              severity: r.severity,
              scope: ruleScope(r, key),
              metric: r.metric,
              value: round(value),
              threshold: r.threshold,
              started_at: new Date(event === 'fire' ? state.since : prevSince).toISOString(),
              summary:
                event === 'fire'
                  ? `${r.name}: ${r.metric} ${round(value)} >= ${r.threshold} over ${r.window_ms / 1000}s (${r.by} ${key})`
                  : `${r.name} resolved (${r.by} ${key}): ${r.metric} ${round(value)}`,
            },
            now,
          );
        }
        if (state.status === 'inactive' && totals.total === 0 && now - e.series.lastSeen > r.window_ms) rt.series.delete(key);
      }
    }
    for (const [id, f] of this.faults) {
      const expired = f.until !== null ? now >= f.until : now - f.lastAt >= cfg.faults.resolve_after_ms;
      if (expired) this.resolveFault(id, f, now);
    }
    if (cfg.faults.enabled) void this.watchFaults(now);
  }

  private reloadFailures = -1;
  /** lines lost so far per log (access, audit), as last seen; -1 before the first look */
  private readonly linesLost: Record<'access' | 'audit', number> = { access: -1, audit: -1 };
  private watching = false;

  /**
   * Gateway faults read from the gateway's own state, so that they alert even when nobody calls
   * raiseFault: the state store's health, upstream targets out of rotation
   * (portcullis_upstream_target_healthy), rejected reloads (portcullis_config_reloads_total).
   * Raised again on every evaluation while they last; cleared when they end.
   */
  private async watchFaults(now: number): Promise<void> {
    if (this.watching) return;
    this.watching = true;
    try {
      const store = this.services.store;
      if (store.healthy()) this.clearFault('store_unreachable', { store: store.kind }, now);
      else this.raiseFault('store_unreachable', { store: store.kind }, now);
      const m = this.services.metrics;
      for (const v of (await m.upstreamHealthy.get()).values) {
        const d = { upstream: String(v.labels.upstream ?? ''), target: String(v.labels.target ?? '') };
        if (v.value === 0) this.raiseFault('upstream_unhealthy', d, now);
        else this.clearFault('upstream_unhealthy', d, now);
      }
      const failures = (await m.reloads.get()).values.filter((v) => v.labels.result === 'failure').reduce((n, v) => n + v.value, 0);
      if (this.reloadFailures >= 0 && failures > this.reloadFailures) this.raiseFault('config_reload_rejected', {}, now);
      this.reloadFailures = failures;
      // log lines lost (disk full, I/O errors, a sink too slow): raised while the count grows, resolved `resolve_after_ms` after
      for (const [log, series] of LOST_LINE_SERIES) {
        const lost = (await m.counter(series[0], series[1]).get()).values.reduce((n, v) => n + v.value, 0);
        if (this.linesLost[log] >= 0 && lost > this.linesLost[log]) this.raiseFault('log_lines_lost', { log, lost }, now);
        this.linesLost[log] = lost;
      }
    } catch (e) {
      this.services.logger.debug({ err: (e as Error).message }, 'alerts: fault watch failed');
    } finally {
      this.watching = false;
    }
  }

  /** A gateway fault: fires at once (notified unless inside the cooldown); resolves when cleared or not raised again. */
  raiseFault(kind: string, details: Record<string, unknown>, now = this.services.clock()): void {
    const cfg = this.config;
    if (!cfg || !cfg.enabled || !cfg.faults.enabled) return;
    const key = faultKey(kind, details);
    const id = `fault:${kind}:${key}`;
    const f = this.faults.get(id);
    if (f) {
      f.lastAt = now;
      f.details = details;
      return;
    }
    if (this.faults.size >= FAULTS_MAX) return;
    const last = this.lastNotified.get(id);
    const notified = last === undefined || now - last >= cfg.faults.cooldown_ms;
    const entry: FaultEntry = { kind, key, details, firstAt: now, lastAt: now, notified, until: null, source: 'fault', severity: cfg.faults.severity };
    this.faults.set(id, entry);
    if (notified) {
      if (this.lastNotified.size >= FAULTS_MAX) this.lastNotified.clear();
      this.lastNotified.set(id, now);
      this.notify(
        {
          kind: 'fault',
          status: 'firing',
          name: `fault.${kind}`,
          severity: cfg.faults.severity,
          scope: { by: 'fault', key },
          metric: null,
          value: null,
          threshold: null,
          started_at: new Date(now).toISOString(),
          summary: `gateway fault: ${kind} (${key})`,
          details,
        },
        now,
      );
    }
  }

  private readonly lastNotified = new Map<string, number>();

  clearFault(kind: string, details: Record<string, unknown>, now = this.services.clock()): void {
    const id = `fault:${kind}:${faultKey(kind, details)}`;
    const f = this.faults.get(id);
    if (f) this.resolveFault(id, f, now);
  }

  private resolveFault(id: string, f: FaultEntry, now: number): void {
    this.faults.delete(id);
    if (!f.notified) return;
    const name = f.source === 'fault' ? `fault.${f.kind}` : f.kind;
    this.notify(
      {
        kind: f.source,
        status: 'resolved',
        name,
        severity: f.severity,
        scope: { by: f.source === 'fault' ? 'fault' : 'client', key: f.key },
        metric: null,
        value: null,
        threshold: null,
        started_at: new Date(f.firstAt).toISOString(),
        summary: `${name} resolved (${f.key})`,
        details: f.details,
      },
      now,
    );
  }

  /** A notification from the abuse detectors (detector triggered, client banned or throttled). */
  notifyAbuse(
    a: { name: string; client: string; detector: string; action: string; value: number; until: number | null; mode: string },
    now = this.services.clock(),
  ): void {
    const cfg = this.config;
    if (!cfg || !cfg.enabled) return;
    const id = `abuse:${a.name}:${a.client}`;
    const details = {
      client: a.client,
      detector: a.detector,
      action: a.action,
      value: a.value,
      mode: a.mode,
      ...(a.until !== null ? { until: new Date(a.until).toISOString() } : {}),
    };
    const existing = this.faults.get(id);
    if (existing) {
      existing.lastAt = now;
      existing.details = details;
      return;
    }
    if (this.faults.size < FAULTS_MAX) {
      this.faults.set(id, {
        kind: a.name,
        key: a.client,
        details,
        firstAt: now,
        lastAt: now,
        notified: true,
        until: a.until ?? now + cfg.faults.resolve_after_ms,
        source: 'abuse',
        severity: a.action === 'ban' ? 'critical' : 'warning',
      });
    }
    this.notify(
      {
        kind: 'abuse',
        status: 'firing',
        name: a.name,
        severity: a.action === 'ban' ? 'critical' : 'warning',
        scope: { by: 'client', key: a.client },
        metric: a.detector,
        value: round(a.value),
        threshold: null,
        started_at: new Date(now).toISOString(),
        summary: `${a.name}: client ${a.client} (${a.detector}, ${a.action}${a.mode === 'monitor' ? ', monitor mode' : ''})`,
        details,
      },
      now,
    );
  }

  private notify(n: Omit<Notification, 'id' | 'at' | 'gateway'>, now: number): void {
    const full: Notification = { id: randomUUID(), at: new Date(now).toISOString(), gateway: GATEWAY, ...n };
    this.recent.push(full);
    if (this.recent.length > RECENT_MAX) this.recent.shift();
    this.counters.notifications.inc({ name: n.name, status: n.status });
    const cfg = this.config;
    if (cfg?.sinks.log !== false) {
      this.services.logger.warn(
        { event: `alert.${n.status}`, alert: n.name, kind: n.kind, severity: n.severity, scope: n.scope, value: n.value, threshold: n.threshold },
        n.summary,
      );
    }
    if (n.kind !== 'abuse') {
      // bans are audited by the abuse engine itself
      this.services.audit(n.status === 'firing' ? 'alert_fired' : 'alert_resolved', {
        name: n.name,
        kind: n.kind,
        severity: n.severity,
        scope: n.scope,
        value: n.value,
        threshold: n.threshold,
      });
    }
    for (const s of this.sinks) s.send(full as unknown as Record<string, unknown>);
  }

  /** Alerts pending or firing now. */
  active(now = this.services.clock()): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    for (const rt of this.rules) {
      for (const [key, e] of rt.series) {
        if (e.state.status === 'inactive') continue;
        out.push({
          kind: 'rule',
          name: rt.rule.name,
          status: e.state.status,
          severity: rt.rule.severity,
          scope: ruleScope(rt.rule, key),
          value: round(e.value),
          threshold: rt.rule.threshold,
          since: new Date(e.state.since).toISOString(),
        });
      }
    }
    for (const f of this.faults.values()) {
      if (f.until !== null && f.until <= now) continue;
      out.push({
        kind: f.source,
        name: f.source === 'fault' ? `fault.${f.kind}` : f.kind,
        status: 'firing',
        severity: f.severity,
        scope: { by: f.source === 'fault' ? 'fault' : 'client', key: f.key },
        value: null,
        threshold: null,
        since: new Date(f.firstAt).toISOString(),
        details: f.details,
      });
    }
    return out;
  }

  /** Recent notifications, oldest first. */
  history(): readonly Notification[] {
    return this.recent;
  }

  /** Webhook notifications still waiting for delivery (tests, shutdown). */
  pendingDeliveries(): number {
    return this.sinks.reduce((n, s) => n + s.pending, 0);
  }
}

/** The counters of lost log lines, by log (name and help as their writers register them). */
const LOST_LINE_SERIES: readonly (readonly ['access' | 'audit', readonly [string, string]])[] = [
  ['access', ['portcullis_access_log_dropped_total', 'Access-log lines dropped because the log sink fell behind.']],
  ['audit', ['portcullis_audit_lines_lost_total', 'Audit entries that could not be written (disk full, I/O error).']],
];

function faultKey(kind: string, d: Record<string, unknown>): string {
  for (const k of ['key', 'target', 'upstream', 'store', 'file', 'log']) {
    const v = d[k];
    if (typeof v === 'string' || typeof v === 'number') return String(v).slice(0, 200);
  }
  return kind;
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

const live = new Set<AlertEngine>();

/** The alert engine of a gateway (created on first use, survives reloads). */
export function alertsFor(services: Services): AlertEngine {
  return services.keep('observe.alerts', () => new AlertEngine(services));
}

/**
 * A gateway fault, raised by the core: `upstream_unhealthy` ({ upstream, target }),
 * `store_unreachable` ({ store: 'redis' }), `config_reload_rejected` ({ file, error }).
 * Given `services`, only that gateway alerts; otherwise every running gateway of the process.
 */
export function raiseFault(kind: string, details: Record<string, unknown>, services?: Services): void {
  if (services) alertsFor(services).raiseFault(kind, details);
  else for (const e of live) e.raiseFault(kind, details);
}

/** The fault is over (upstream healthy again, store reachable). */
export function clearFault(kind: string, details: Record<string, unknown>, services?: Services): void {
  if (services) alertsFor(services).clearFault(kind, details);
  else for (const e of live) e.clearFault(kind, details);
}

/**
 * The alert rules of one config snapshot, as an observer of its finished exchanges (refused by
 * the HTTP parser or not): the engine (one per gateway, surviving reloads) takes the snapshot's
 * `alerts` section; `close` when the snapshot is retired.
 */
export function alertsObserver(services: Services, cfg: AlertsConfig): { readonly observe: ExchangeObserver | null; close(): void } {
  const engine = alertsFor(services);
  engine.configure(cfg);
  engine.acquire();
  let closed = false;
  const observe: ExchangeObserver = (r) => {
    const o = r.outcome;
    engine.observeExchange(
      { status: r.status, decision: o.decision, code: o.code, routeId: r.routeId, consumer: r.consumer, tenant: r.tenant, latencyMs: r.latencyMs },
      r.time,
    );
  };
  return {
    observe: cfg.enabled ? observe : null,
    close() {
      if (closed) return;
      closed = true;
      engine.release();
    },
  };
}
