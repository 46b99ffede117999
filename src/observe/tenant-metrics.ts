/**
 * Per-tenant Prometheus series: requests by status class, refusals by code, rate-limit refusals,
 * WAF blocks and latency, each labelled `tenant`. Their own families (`portcullis_tenant_*`), not
 * a new label on `portcullis_requests_total`: a label there would multiply its series (route ×
 * status × decision × listener × tenant) and change what existing queries aggregate over.
 *
 * Cardinality is bounded: the tenants named in the config (at most MAX_TENANTS over the process's
 * life), `(other)` for every other tenant a principal names (a JWT claim can say anything), and
 * `(none)` for requests without a tenant (anonymous, or a principal of no tenant). The parentheses
 * cannot collide with a tenant id (`^[A-Za-z0-9_.:@-]+$`), as the route label `(none)`.
 *
 * The request path costs one Map lookup of a slot made when the config was loaded, and a few
 * additions (as fast-metrics.ts); the series are built at scrape time.
 */
import type { CanonicalConfig } from '../core/config.js';
import { histogramSamples, observeInto, type HistCounts, type MetricJson, type MetricValue } from './fast-metrics.js';

export const TENANT_OTHER = '(other)';
export const TENANT_NONE = '(none)';
/** Most configured tenants with their own series; further ones are pooled under `(other)`. */
export const MAX_TENANTS = 1000;

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** The codes counted as `portcullis_tenant_rate_limited_total` (the alert metric `rate_limited` reads the same). */
export const LIMIT_CODES: ReadonlySet<string> = new Set(['PC_ERR_RATE_LIMITED', 'PC_ERR_QUOTA_EXCEEDED', 'PC_ERR_CONCURRENCY_LIMITED', 'PC_ERR_THROTTLED']);
export const WAF_CODE = 'PC_ERR_WAF_BLOCKED';

interface Slot extends HistCounts {
  readonly tenant: string;
  readonly status: Float64Array;
  /** refusals by error code (codes come from the catalogue: bounded) */
  readonly denials: Map<string, number>;
}

/** A metric the registry reads at scrape time (the interface fast-metrics.ts series implement). */
export interface ScrapedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  get(): Promise<MetricJson>;
  reset(): void;
}

/** The ids of the config's top-level `tenants` (the auth stage validates them). */
export function configuredTenants(config: CanonicalConfig): string[] {
  const list = config['tenants'];
  return Array.isArray(list) ? list.map((t) => (t as { id: string }).id) : [];
}

export class TenantMetrics {
  private readonly bounds: readonly number[];
  /** tenant id → its slot, for the tenants of the running config */
  private slots = new Map<string, Slot>();
  /** every slot ever made, exposed (a tenant removed by a reload keeps its counters) */
  private readonly all: Slot[] = [];
  private readonly other: Slot;
  private readonly none: Slot;

  constructor(buckets: readonly number[]) {
    this.bounds = buckets;
    this.none = this.slot(TENANT_NONE);
    this.other = this.slot(TENANT_OTHER);
  }

  /** The tenants of a config (called when a snapshot is compiled). */
  configure(tenantIds: readonly string[]): void {
    const byName = new Map(this.all.map((s) => [s.tenant, s]));
    const next = new Map<string, Slot>();
    for (const id of tenantIds) {
      let s = byName.get(id);
      if (s === undefined) {
        if (this.all.length - 2 >= MAX_TENANTS) continue; // pooled under (other)
        s = this.slot(id);
        byName.set(id, s);
      }
      next.set(id, s);
    }
    this.slots = next;
  }

  /** The label a request's tenant is counted under. */
  labelOf(tenant: string | null): string {
    return tenant === null ? TENANT_NONE : (this.slots.get(tenant) ?? this.other).tenant;
  }

  /** Records one finished exchange: `code` is the refusal's error code (null when not refused). */
  record(tenant: string | null, status: number, seconds: number, code: string | null): void {
    const s = tenant === null ? this.none : (this.slots.get(tenant) ?? this.other);
    const c = status < 200 ? 0 : status < 300 ? 1 : status < 400 ? 2 : status < 500 ? 3 : 4;
    (s.status as Float64Array)[c] = (s.status[c] as number) + 1;
    observeInto(s, this.bounds, seconds);
    if (code !== null) s.denials.set(code, (s.denials.get(code) ?? 0) + 1);
  }

  /** The families, for the registry (src/observe/metrics.ts registers them). */
  families(): ScrapedMetric[] {
    const counter = (name: string, help: string, values: () => MetricValue[]): ScrapedMetric => ({
      name,
      help,
      type: 'counter',
      aggregator: 'sum',
      get: () => Promise.resolve({ name, help, type: 'counter', values: values(), aggregator: 'sum' }),
      reset: () => this.reset(),
    });
    const sumOf = (s: Slot, pick: (code: string) => boolean): number => {
      let n = 0;
      for (const [code, v] of s.denials) if (pick(code)) n += v;
      return n;
    };
    const latencyName = 'portcullis_tenant_request_duration_seconds';
    const latencyHelp = 'Time from request arrival to the end of the response, by tenant.';
    return [
      counter('portcullis_tenant_requests_total', 'Requests by tenant and status class.', () =>
        this.all.flatMap((s) =>
          STATUS_CLASSES.flatMap((sc, i) =>
            (s.status[i] as number) > 0 ? [{ value: s.status[i] as number, labels: { tenant: s.tenant, status_class: sc } }] : [],
          ),
        ),
      ),
      counter('portcullis_tenant_denials_total', 'Requests refused by a stage, by tenant and error code.', () =>
        this.all.flatMap((s) => [...s.denials].map(([code, value]) => ({ value, labels: { tenant: s.tenant, code } }))),
      ),
      counter('portcullis_tenant_rate_limited_total', 'Requests refused by rate limits, quotas, concurrency limits or throttles, by tenant.', () =>
        this.all.filter((s) => s.count > 0).map((s) => ({ value: sumOf(s, (c) => LIMIT_CODES.has(c)), labels: { tenant: s.tenant } })),
      ),
      counter('portcullis_tenant_waf_blocks_total', 'Requests blocked by the WAF (enforced), by tenant.', () =>
        this.all.filter((s) => s.count > 0).map((s) => ({ value: s.denials.get(WAF_CODE) ?? 0, labels: { tenant: s.tenant } })),
      ),
      {
        name: latencyName,
        help: latencyHelp,
        type: 'histogram',
        aggregator: 'sum',
        get: () => Promise.resolve({ name: latencyName, help: latencyHelp, type: 'histogram', values: this.histogram(latencyName), aggregator: 'sum' }),
        reset: () => this.reset(),
      },
    ];
  }

  private histogram(name: string): MetricValue[] {
    const values: MetricValue[] = [];
    for (const s of this.all) if (s.count > 0) histogramSamples(values, name, 'tenant', s.tenant, this.bounds, s);
    return values;
  }

  private reset(): void {
    for (const s of this.all) {
      s.status.fill(0);
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
      s.denials.clear();
    }
  }

  private slot(tenant: string): Slot {
    const s: Slot = {
      tenant,
      status: new Float64Array(STATUS_CLASSES.length),
      counts: new Float64Array(this.bounds.length),
      sum: 0,
      count: 0,
      denials: new Map(),
    };
    this.all.push(s);
    return s;
  }
}

/**
 * The samples of a Prometheus text exposition that carry `tenant="<tenant>"`, with the HELP and
 * TYPE lines of their families: what a tenant-scoped admin token reads at /metrics (the gateway's
 * and the cluster primary's aggregated text alike). Series without that label (global ones, other
 * tenants') are left out. Pure.
 */
export function tenantExposition(text: string, tenant: string): string {
  const out: string[] = [];
  let header: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      if (line.startsWith('# HELP ')) header = [];
      header.push(line);
      continue;
    }
    if (labelValue(line, 'tenant') !== tenant) continue;
    if (header.length > 0) {
      out.push(...header);
      header = [];
    }
    out.push(line);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** The value of label `name` in one sample line (`name{a="x",b="y"} 1`), or null. Reads escapes (\\, \", \n). */
export function labelValue(line: string, name: string): string | null {
  const open = line.indexOf('{');
  const space = line.indexOf(' ');
  if (open < 0 || (space >= 0 && space < open)) return null;
  let i = open + 1;
  while (i < line.length && line[i] !== '}') {
    const eq = line.indexOf('="', i);
    if (eq < 0) return null;
    const key = line.slice(i, eq).trim();
    let j = eq + 2;
    let value = '';
    for (; j < line.length && line[j] !== '"'; j++) {
      const ch = line[j] as string;
      if (ch === '\\' && j + 1 < line.length) {
        const n = line[++j];
        value += n === 'n' ? '\n' : (n as string);
      } else value += ch;
    }
    if (j >= line.length) return null;
    if (key === name) return value;
    i = j + 1;
    if (line[i] === ',') i++;
  }
  return null;
}
