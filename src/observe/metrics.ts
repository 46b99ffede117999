import client from 'prom-client';
import type { Metrics as KernelMetrics } from '../core/services.js';
import { FastCounter, FastHistogram, register } from './fast-metrics.js';
import { TenantMetrics } from './tenant-metrics.js';

/** Seconds; from 1 ms (a proxied request on loopback) to 10 s (a slow upstream). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels<L extends string> = Partial<Record<L, string | number>>;

/**
 * Prometheus metrics (prom-client). Names are snake_case with the `portcullis_` prefix.
 * Core metrics are fields; stages get theirs through counter()/gauge()/histogram(), which are
 * idempotent so that a reload re-creating a stage reuses the same series.
 */
export class Metrics implements KernelMetrics {
  readonly registry: client.Registry;
  readonly requests: FastCounter;
  readonly denials: client.Counter<'stage' | 'code'>;
  readonly latency: FastHistogram;
  readonly upstreamLatency: FastHistogram;
  readonly inFlight: client.Gauge;
  readonly upstreamHealthy: client.Gauge<'upstream' | 'target'>;
  readonly upstreamEjections: client.Counter<'upstream' | 'target' | 'reason'>;
  readonly upstreamRetries: client.Counter<'upstream'>;
  readonly upstreamErrors: client.Counter<'upstream' | 'code'>;
  readonly reloads: client.Counter<'result'>;
  readonly monitored: client.Counter<'stage' | 'code'>;
  /** the portcullis_tenant_* series (tenant-metrics.ts) */
  readonly tenants: TenantMetrics;
  private readonly custom = new Map<string, client.Metric<string>>();
  private readonly fast = new Map<string, FastHistogram>();
  /** requests being processed; exposed as portcullis_requests_in_flight */
  inFlightCount = 0;
  /** Records one finished exchange (the hot path of the observe phase). */
  exchange(route: string, status: number, decision: string, listener: string, seconds: number, tenant: string | null, code: string | null): void {
    this.requests.inc4(route, statusClass(status), decision, listener);
    this.latency.observe(route, seconds);
    this.tenants.record(tenant, status, seconds, code);
  }

  setTenants(ids: readonly string[]): void {
    this.tenants.configure(ids);
  }

  constructor() {
    this.registry = new client.Registry();
    const r = [this.registry];
    client.collectDefaultMetrics({ register: this.registry, prefix: 'portcullis_process_' });
    this.requests = new FastCounter('portcullis_requests_total', 'Requests by route, status class and decision.', [
      'route',
      'status_class',
      'decision',
      'listener',
    ]);
    register(this.registry, this.requests);
    this.denials = new client.Counter({
      name: 'portcullis_denials_total',
      help: 'Requests refused by a stage, by stage and error code.',
      labelNames: ['stage', 'code'],
      registers: r,
    });
    this.monitored = new client.Counter({
      name: 'portcullis_monitor_denials_total',
      help: 'Denials a stage in monitor mode would have made.',
      labelNames: ['stage', 'code'],
      registers: r,
    });
    this.latency = new FastHistogram(
      'portcullis_request_duration_seconds',
      'Time from request arrival to the end of the response, by route.',
      'route',
      LATENCY_BUCKETS,
    );
    register(this.registry, this.latency);
    this.upstreamLatency = new FastHistogram(
      'portcullis_upstream_duration_seconds',
      'Time to the upstream response headers, by upstream.',
      'upstream',
      LATENCY_BUCKETS,
    );
    register(this.registry, this.upstreamLatency);
    this.tenants = new TenantMetrics(LATENCY_BUCKETS);
    for (const f of this.tenants.families()) register(this.registry, f);
    // a plain counter read at scrape time (an unlabelled prom-client inc/dec still hashes labels)
    const self = this;
    this.inFlight = new client.Gauge({
      name: 'portcullis_requests_in_flight',
      help: 'Requests being processed.',
      registers: r,
      collect() {
        this.set(self.inFlightCount);
      },
    });
    this.upstreamHealthy = new client.Gauge({
      name: 'portcullis_upstream_target_healthy',
      help: '1 when the target is in rotation, 0 when ejected or failing health checks.',
      labelNames: ['upstream', 'target'],
      registers: r,
    });
    this.upstreamEjections = new client.Counter({
      name: 'portcullis_upstream_ejections_total',
      help: 'Targets taken out of rotation, by reason (health_check, passive).',
      labelNames: ['upstream', 'target', 'reason'],
      registers: r,
    });
    this.upstreamRetries = new client.Counter({
      name: 'portcullis_upstream_retries_total',
      help: 'Retried upstream attempts.',
      labelNames: ['upstream'],
      registers: r,
    });
    this.upstreamErrors = new client.Counter({
      name: 'portcullis_upstream_errors_total',
      help: 'Failed upstream exchanges by error code.',
      labelNames: ['upstream', 'code'],
      registers: r,
    });
    this.reloads = new client.Counter({
      name: 'portcullis_config_reloads_total',
      help: 'Config loads and reloads by result (success, failure).',
      labelNames: ['result'],
      registers: r,
    });
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): client.Counter<L> {
    return this.getOrMake(name, () => new client.Counter<L>({ name, help, labelNames, registers: [this.registry] }));
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): client.Gauge<L> {
    return this.getOrMake(name, () => new client.Gauge<L>({ name, help, labelNames, registers: [this.registry] }));
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]): client.Histogram<L> {
    return this.getOrMake(name, () => new client.Histogram<L>({ name, help, labelNames, registers: [this.registry], ...(buckets ? { buckets } : {}) }));
  }

  /** A histogram with one label, updated without label hashing (fast-metrics.ts); for per-request series of stages. */
  fastHistogram(name: string, help: string, labelName: string, buckets: readonly number[]): FastHistogram {
    let h = this.fast.get(name);
    if (!h) {
      h = new FastHistogram(name, help, labelName, buckets);
      register(this.registry, h);
      this.fast.set(name, h);
    }
    return h;
  }

  private getOrMake<M extends client.Metric<string>>(name: string, make: () => M): M {
    let m = this.custom.get(name);
    if (!m) {
      m = make();
      this.custom.set(name, m);
    }
    return m as M;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }
}

export type { Labels };

function statusClass(s: number): string {
  return s < 200 ? '1xx' : s < 300 ? '2xx' : s < 400 ? '3xx' : s < 500 ? '4xx' : '5xx';
}
