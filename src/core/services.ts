/**
 * The long-lived services the kernel and the stages use, as interfaces: a logger, metrics, the
 * state store and the audit trail. The implementations (pino, prom-client, the stores) live
 * above the kernel (src/observe/, src/store/) and are wired by src/gateway.ts.
 */
import type { StateStore } from './state.js';

/** A structured logging call: an object of fields and an optional message (pino's shape). */
export interface LogFn {
  (fields: Record<string, unknown>, message?: string): void;
  (message: string): void;
}

/** A structured logger (pino satisfies it). Secrets are never passed to it. */
export interface Logger {
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
  child(bindings: Record<string, unknown>): Logger;
  /** writes what is buffered (pino's asynchronous destinations); on shutdown */
  flush?(): void;
}

/** Label values of a metric series. */
export type MetricLabels<L extends string> = Partial<Record<L, string | number>>;

/** The current values of a metric's series (what alert rules read). */
export interface MetricValues<L extends string> {
  readonly values: readonly { readonly labels: MetricLabels<L>; readonly value: number }[];
}

export interface CounterMetric<L extends string = string> {
  inc(labels: MetricLabels<L>, value?: number): void;
  inc(value?: number): void;
  /** the series of these labels, bound (incremented without a labels object) */
  labels(labels: MetricLabels<L>): { inc(value?: number): void };
  get(): Promise<MetricValues<L>>;
}

export interface GaugeMetric<L extends string = string> {
  set(labels: MetricLabels<L>, value: number): void;
  set(value: number): void;
  inc(labels: MetricLabels<L>, value?: number): void;
  inc(value?: number): void;
  dec(labels: MetricLabels<L>, value?: number): void;
  dec(value?: number): void;
  /** the series of these labels, bound */
  labels(labels: MetricLabels<L>): { set(value: number): void; inc(value?: number): void; dec(value?: number): void };
  get(): Promise<MetricValues<L>>;
}

export interface HistogramMetric<L extends string = string> {
  observe(labels: MetricLabels<L>, value: number): void;
  observe(value: number): void;
}

/** A histogram with one label, observed on the request path without a labels object. */
export interface LabelHistogram {
  observe(label: string, value: number): void;
}

/** The metrics registry (Prometheus): the series the kernel writes, and factories for the stages'. */
export interface Metrics {
  /** requests being processed */
  inFlightCount: number;
  /**
   * one finished exchange: requests by route, status class, decision and listener; latency by
   * route; the same by tenant (`tenant`: the principal's, null without one; `code`: the refusal's)
   */
  exchange(route: string, status: number, decision: string, listener: string, seconds: number, tenant: string | null, code: string | null): void;
  /** the tenants of the running config: the only tenant labels besides `(other)` and `(none)` */
  setTenants(ids: readonly string[]): void;
  readonly denials: CounterMetric<'stage' | 'code'>;
  readonly monitored: CounterMetric<'stage' | 'code'>;
  readonly upstreamLatency: LabelHistogram;
  readonly upstreamHealthy: GaugeMetric<'upstream' | 'target'>;
  readonly upstreamEjections: CounterMetric<'upstream' | 'target' | 'reason'>;
  readonly upstreamRetries: CounterMetric<'upstream'>;
  readonly upstreamErrors: CounterMetric<'upstream' | 'code'>;
  readonly reloads: CounterMetric<'result'>;
  /** the series of that name, made on first use (the same on every later call and reload) */
  counter<L extends string>(name: string, help: string, labelNames?: readonly L[]): CounterMetric<L>;
  gauge<L extends string>(name: string, help: string, labelNames?: readonly L[]): GaugeMetric<L>;
  histogram<L extends string>(name: string, help: string, labelNames?: readonly L[], buckets?: number[]): HistogramMetric<L>;
  fastHistogram(name: string, help: string, labelName: string, buckets: readonly number[]): LabelHistogram;
  /** the Prometheus text exposition of every series, and its content type */
  render(): Promise<string>;
  readonly contentType: string;
}

/**
 * Long-lived services shared by every snapshot: they survive config reloads
 * (JWKS caches, stores, counters), so that a reload does not reset limits or bans.
 */
export interface Services {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** the state store (memory or redis), chosen by the `state` config section */
  store: StateStore;
  /** events of the security audit trail (config reloads, bans, admin actions); no-op until configured */
  audit(event: string, data: Record<string, unknown>): void;
  /**
   * With `audit.fail_closed`: writes `event` to the audit trail before an action is taken and
   * returns whether it was written; the caller does not act on false (admin write actions, config
   * reloads). Without it: true, nothing written. Absent: as without it.
   */
  auditBefore?(event: string, data: Record<string, unknown>): boolean;
  /**
   * The audit log file `audit` writes, with its checkpoint file and key, for readers of the trail
   * (GET /admin/report); null or absent when none is written. Opened once per process: a reload
   * does not move it.
   */
  readonly auditFile?: { readonly path: string; readonly checkpoints: { readonly path: string; readonly key: Buffer } | null } | null;
  /**
   * Objects that must outlive one snapshot (a JWKS fetcher per provider, a health checker per
   * upstream): created on first use, reused by later snapshots with the same key.
   */
  keep<T>(key: string, make: () => T): T;
  /**
   * The wall clock (Date.now in a gateway), replaceable in tests: request arrival (`ctx.now`), token
   * validity, bans, audit and log timestamps. A step of the system clock moves it.
   */
  clock(): number;
  /**
   * A clock on the wall-clock scale that a step of the system clock does not move: the wall time
   * at process start plus the monotonic time since (`steadyNow`). For durations kept in state:
   * rate-limit buckets, quotas and concurrency leases. Absent: `clock`.
   */
  steadyClock?(): number;
  /** Releases what these services opened (the audit log writes its last checkpoint); on shutdown. */
  close?(): void;
}
