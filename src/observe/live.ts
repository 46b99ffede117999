/**
 * What the live console shows (src/admin/console/): a bounded, in-memory view of the last minutes,
 * fed by the observe phase with every finished exchange.
 *
 *   - per second over the last LIVE_SECONDS: requests, status classes, a latency histogram (for
 *     p50/p95/p99), for all traffic and for each tenant (the first MAX_TENANTS seen, then `(other)`);
 *   - per minute over the last WINDOW_MINUTES: refusals by stage and code, WAF blocks by category,
 *     refusals by client (the top offenders), each map bounded (MAX_KEYS, the rest under `(other)`);
 *   - the last MAX_REFUSALS refusals with their full decision (stage, code, reason, the violations,
 *     the WAF rules, tags and fields, the other stages' annotations), found by request id.
 *
 * Cost per request: an allowed exchange updates a few typed-array cells (no allocation); a refusal
 * also builds its entry and bumps three map counters. Why not Prometheus: the console wants per-second
 * resolution and the decision of each refusal, which a metric cannot carry.
 */
import type { AccessRecord } from '../core/record.js';
import type { ProblemItem } from '../core/decision.js';
import type { Services } from '../core/services.js';
import type { ExchangeObserver } from '../core/stage.js';

/** Seconds of per-second history kept (and drawn). */
export const LIVE_SECONDS = 300;
/** Minutes over which refusals, WAF blocks and offenders are counted. */
export const WINDOW_MINUTES = 5;
/** Refusals kept with their decision. */
export const MAX_REFUSALS = 500;
/** Distinct keys per minute per counted map (stage+code, category, client); more are counted under `(other)`. */
export const MAX_KEYS = 1024;
/** Tenants with their own per-second series; later ones share `(other)`. */
export const MAX_TENANTS = 64;
export const OTHER = '(other)';

/** Upper bounds (ms) of the latency histogram's buckets; the last bucket is everything above. */
const LAT_BOUNDS = [0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
const LAT_BUCKETS = LAT_BOUNDS.length + 1;
/** per second: requests, 2xx, 3xx, 4xx, 5xx, refusals, then the latency buckets */
const C_REQ = 0;
const C_REFUSED = 5;
const C_LAT = 6;
const COLS = C_LAT + LAT_BUCKETS;
/** Most characters of a path, query or reason kept in a refusal. */
const MAX_TEXT = 512;
const MAX_ERRORS = 20;
/** Separates the tenant from the rest of a counted key ('' for no tenant). */
const SEP = '\u0000';

const inc = (a: Uint32Array, i: number): void => {
  a[i] = (a[i] as number) + 1;
};
const clip = (s: string | null, n = MAX_TEXT): string | null => (s !== null && s.length > n ? `${s.slice(0, n)}...` : s);

/** Per-second counters over the last LIVE_SECONDS, in one typed array (a ring indexed by second). */
export class SecondRing {
  private readonly stamp = new Float64Array(LIVE_SECONDS).fill(-1);
  private readonly cells = new Uint32Array(LIVE_SECONDS * COLS);
  /** requests since the ring was made */
  total = 0;

  add(sec: number, status: number, latencyMs: number, refused: boolean): void {
    const slot = sec % LIVE_SECONDS;
    const base = slot * COLS;
    const cells = this.cells;
    if (this.stamp[slot] !== sec) {
      this.stamp[slot] = sec;
      cells.fill(0, base, base + COLS);
    }
    this.total++;
    inc(cells, base + C_REQ);
    inc(cells, base + (status < 300 ? 1 : status < 400 ? 2 : status < 500 ? 3 : 4));
    if (refused) inc(cells, base + C_REFUSED);
    let b = 0;
    while (b < LAT_BOUNDS.length && latencyMs > (LAT_BOUNDS[b] as number)) b++;
    inc(cells, base + C_LAT + b);
  }

  /** Columns of the `seconds` seconds up to `nowSec` (oldest first), and the latency quantiles over the last `recent` of them. */
  series(nowSec: number, seconds: number, recent: number): LiveSeries {
    const n = Math.max(1, Math.min(LIVE_SECONDS, seconds));
    const out: LiveSeries = {
      start: nowSec - n + 1,
      requests: new Array<number>(n),
      s2xx: new Array<number>(n),
      s3xx: new Array<number>(n),
      s4xx: new Array<number>(n),
      s5xx: new Array<number>(n),
      refused: new Array<number>(n),
      p50: new Array<number | null>(n),
      p95: new Array<number | null>(n),
      p99: new Array<number | null>(n),
    };
    const hist = new Array<number>(LAT_BUCKETS).fill(0);
    const sum = new Array<number>(LAT_BUCKETS).fill(0);
    for (let i = 0; i < n; i++) {
      const sec = out.start + i;
      const slot = ((sec % LIVE_SECONDS) + LIVE_SECONDS) % LIVE_SECONDS;
      const live = this.stamp[slot] === sec;
      const base = slot * COLS;
      const at = (c: number): number => (live ? (this.cells[base + c] as number) : 0);
      out.requests[i] = at(C_REQ);
      out.s2xx[i] = at(1);
      out.s3xx[i] = at(2);
      out.s4xx[i] = at(3);
      out.s5xx[i] = at(4);
      out.refused[i] = at(C_REFUSED);
      for (let b = 0; b < LAT_BUCKETS; b++) hist[b] = at(C_LAT + b);
      out.p50[i] = quantile(hist, 0.5);
      out.p95[i] = quantile(hist, 0.95);
      out.p99[i] = quantile(hist, 0.99);
      if (i >= n - recent) for (let b = 0; b < LAT_BUCKETS; b++) sum[b] = (sum[b] as number) + (hist[b] as number);
    }
    out.window = { p50: quantile(sum, 0.5), p95: quantile(sum, 0.95), p99: quantile(sum, 0.99) };
    return out;
  }
}

/** The q-quantile (ms) of a latency histogram, interpolated within its bucket; null when empty. */
export function quantile(hist: readonly number[], q: number): number | null {
  let total = 0;
  for (const c of hist) total += c;
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let b = 0; b < hist.length; b++) {
    const c = hist[b] as number;
    if (c > 0 && seen + c >= rank) {
      const lo = b === 0 ? 0 : (LAT_BOUNDS[b - 1] as number);
      const hi = b < LAT_BOUNDS.length ? (LAT_BOUNDS[b] as number) : lo * 2;
      return Math.round((lo + (hi - lo) * Math.max(0, Math.min(1, (rank - seen) / c))) * 1000) / 1000;
    }
    seen += c;
  }
  return LAT_BOUNDS[LAT_BOUNDS.length - 1] as number;
}

/** Counts by key over the last WINDOW_MINUTES, one bounded map per minute. */
export class MinuteCounts {
  private readonly minutes: (Map<string, number> | null)[] = new Array(WINDOW_MINUTES).fill(null);
  private readonly stamps = new Float64Array(WINDOW_MINUTES).fill(-1);

  add(minute: number, key: string): void {
    const slot = minute % WINDOW_MINUTES;
    let m = this.minutes[slot] ?? null;
    if (m === null || this.stamps[slot] !== minute) {
      m = new Map();
      this.minutes[slot] = m;
      this.stamps[slot] = minute;
    }
    const n = m.get(key);
    if (n !== undefined) m.set(key, n + 1);
    else if (m.size < MAX_KEYS) m.set(key, 1);
    else {
      // the tenant part is kept, so that a tenant's view still adds up
      const cut = key.indexOf(SEP);
      const other = `${cut < 0 ? '' : key.slice(0, cut + 1)}${OTHER}`;
      m.set(other, (m.get(other) ?? 0) + 1);
    }
  }

  /** Totals over the window up to `minute`, of keys kept by `pick` (which maps a key to its shown name, or null). */
  totals(minute: number, pick: (key: string) => string | null): Map<string, number> {
    const out = new Map<string, number>();
    for (let i = 0; i < WINDOW_MINUTES; i++) {
      const m = this.minutes[i];
      const at = this.stamps[i] as number;
      if (!m || at > minute || at <= minute - WINDOW_MINUTES) continue;
      for (const [k, n] of m) {
        const name = pick(k);
        if (name !== null) out.set(name, (out.get(name) ?? 0) + n);
      }
    }
    return out;
  }
}

/** One refusal and its whole decision, as /admin/refusals/{id} shows it. */
export interface Refusal {
  readonly id: string;
  readonly time: string;
  readonly method: string | null;
  readonly host: string | null;
  readonly path: string | null;
  /** the query with secret parameters redacted */
  readonly query: string;
  readonly client: string;
  readonly tenant: string | null;
  readonly consumer: string | null;
  readonly route: string | null;
  readonly listener: string;
  readonly status: number;
  readonly stage: string | null;
  readonly code: string | null;
  readonly reason: string | null;
  /** the violations the refusal listed (validation: the field and why) */
  readonly errors: readonly ProblemItem[];
  /** the WAF's verdict when it took part: score, rule ids, tags, the fields that matched */
  readonly waf: Readonly<Record<string, unknown>> | null;
  /** what the other stages noted (auth method and reason, authorize) */
  readonly annotations: Readonly<Record<string, unknown>>;
  /** what stages in monitor mode would have done */
  readonly monitored: readonly { readonly stage: string; readonly code: string; readonly reason: string | null }[];
  readonly latency_ms: number;
}

/** The short form of a refusal, for lists. */
export type RefusalSummary = Pick<Refusal, 'id' | 'time' | 'method' | 'path' | 'client' | 'tenant' | 'status' | 'stage' | 'code'> & {
  readonly rules: readonly string[];
};

export interface LiveSeries {
  /** the first second (epoch seconds); one value per second from there */
  start: number;
  requests: number[];
  s2xx: number[];
  s3xx: number[];
  s4xx: number[];
  s5xx: number[];
  refused: number[];
  /** latency quantiles per second (ms), null for a second without requests */
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
  window?: { p50: number | null; p95: number | null; p99: number | null };
}

/** What the console draws, for all traffic (`tenant` null) or one tenant. */
export interface LiveSnapshot {
  readonly time: string;
  readonly tenant: string | null;
  readonly totals: {
    /** requests since the gateway started (for a tenant: since its first request) */
    readonly requests: number;
    /** per second over the last 10 s */
    readonly rps: number;
    readonly last_minute: {
      readonly requests: number;
      readonly s2xx: number;
      readonly s3xx: number;
      readonly s4xx: number;
      readonly s5xx: number;
      readonly refused: number;
    };
    readonly latency_ms: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null };
  };
  readonly series: LiveSeries;
  readonly refusals_by: readonly { readonly stage: string; readonly code: string; readonly count: number }[];
  readonly waf_blocks: readonly { readonly category: string; readonly count: number }[];
  readonly top_clients: readonly { readonly client: string; readonly refusals: number }[];
  readonly recent_refusals: readonly RefusalSummary[];
}

const sumOf = (a: readonly number[], from: number): number => {
  let s = 0;
  for (let i = Math.max(0, from); i < a.length; i++) s += a[i] as number;
  return s;
};

/** The categories of a WAF verdict: its `attack-*` tags without the prefix, or `other`. */
export function wafCategories(waf: Readonly<Record<string, unknown>> | null): string[] {
  const tags = waf?.['tags'];
  const out: string[] = [];
  if (Array.isArray(tags)) for (const t of tags) if (typeof t === 'string' && t.startsWith('attack-') && out.length < 8) out.push(t.slice(7));
  return out.length > 0 ? out : ['other'];
}

function summary(r: Refusal): RefusalSummary {
  const rules = r.waf?.['rules'];
  return {
    id: r.id,
    time: r.time,
    method: r.method,
    path: r.path,
    client: r.client,
    tenant: r.tenant,
    status: r.status,
    stage: r.stage,
    code: r.code,
    rules: Array.isArray(rules) ? (rules as string[]).slice(0, 10) : [],
  };
}

/** Whether a refusal is in the view of `tenant` (null: every refusal). */
const inView = (r: Refusal, tenant: string | null): boolean => tenant === null || r.tenant === tenant;

/** The live view of one gateway (kept across reloads: src/admin/console/ reads it). */
export class LiveView {
  private readonly all = new SecondRing();
  private readonly tenants = new Map<string, SecondRing>();
  private readonly byCode = new MinuteCounts();
  private readonly byCategory = new MinuteCounts();
  private readonly byClient = new MinuteCounts();
  private readonly ring: (Refusal | null)[] = new Array(MAX_REFUSALS).fill(null);
  private next = 0;
  private readonly byId = new Map<string, Refusal>();
  /** bumped by each config snapshot compiled (start, reloads): live streams end and reconnect */
  generation = 0;

  /** The observe-phase hook: one finished exchange. */
  readonly observe = (r: AccessRecord): void => {
    const sec = Math.floor(r.time / 1000);
    const refused = r.outcome.decision === 'denied';
    this.all.add(sec, r.status, r.latencyMs, refused);
    if (r.tenant !== null) this.tenantRing(r.tenant).add(sec, r.status, r.latencyMs, refused);
    if (refused) this.refusal(r, sec);
  };

  private tenantRing(tenant: string): SecondRing {
    let ring = this.tenants.get(tenant);
    if (ring === undefined) {
      const key = this.tenants.size < MAX_TENANTS ? tenant : OTHER;
      ring = this.tenants.get(key) ?? new SecondRing();
      this.tenants.set(key, ring);
    }
    return ring;
  }

  private refusal(r: AccessRecord, sec: number): void {
    const o = r.outcome;
    const ann = r.annotations;
    const waf = ann !== null && o.stage === 'waf' && typeof ann['waf'] === 'object' && ann['waf'] !== null ? (ann['waf'] as Record<string, unknown>) : null;
    const annotations: Record<string, unknown> = {};
    if (ann !== null) for (const k in ann) if (k !== 'waf') annotations[k] = ann[k];
    const entry: Refusal = {
      id: r.id,
      time: new Date(r.time).toISOString(),
      method: clip(r.method, 32),
      host: clip(r.host, 256),
      path: clip(r.path),
      query: r.query === '' ? '' : (clip(r.redact.redact(r.query)) as string),
      client: r.clientIp,
      tenant: r.tenant,
      consumer: r.consumer,
      route: r.routeId,
      listener: r.listener,
      status: r.status,
      stage: o.stage,
      code: o.code,
      reason: clip(o.reason),
      errors: o.errors === null ? [] : o.errors.slice(0, MAX_ERRORS),
      waf,
      annotations,
      monitored: r.monitored.slice(0, 10),
      latency_ms: Math.round(r.latencyMs * 1000) / 1000,
    };
    const old = this.ring[this.next];
    if (old && this.byId.get(old.id) === old) this.byId.delete(old.id);
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % MAX_REFUSALS;
    this.byId.set(entry.id, entry);
    const minute = Math.floor(sec / 60);
    const t = r.tenant ?? '';
    this.byCode.add(minute, `${t}${SEP}${o.stage ?? '-'}${SEP}${o.code ?? '-'}`);
    this.byClient.add(minute, `${t}${SEP}${r.clientIp}`);
    if (waf !== null) for (const c of wafCategories(waf)) this.byCategory.add(minute, `${t}${SEP}${c}`);
  }

  /** Newest first: refusals in the view of `tenant` whose id, path, client, tenant, route, stage, code or WAF rules contain `q`. */
  search(q: string, limit: number, tenant: string | null): RefusalSummary[] {
    const needle = q.trim().toLowerCase().slice(0, 200);
    const out: RefusalSummary[] = [];
    for (let i = 1; i <= MAX_REFUSALS && out.length < limit; i++) {
      const r = this.ring[(this.next - i + MAX_REFUSALS) % MAX_REFUSALS];
      if (!r) break;
      if (!inView(r, tenant)) continue;
      if (needle !== '' && !haystack(r).includes(needle)) continue;
      out.push(summary(r));
    }
    return out;
  }

  /** The refusal with this request id, if it is still kept and in the view of `tenant`. */
  refusalById(id: string, tenant: string | null): Refusal | null {
    const r = this.byId.get(id);
    return r !== undefined && inView(r, tenant) ? r : null;
  }

  /** The view at `now` (ms): for every tenant (null), or for one. */
  snapshot(now: number, tenant: string | null, seconds = LIVE_SECONDS): LiveSnapshot {
    const sec = Math.floor(now / 1000);
    const ring = tenant === null ? this.all : (this.tenants.get(tenant) ?? null);
    const series = (ring ?? new SecondRing()).series(sec, seconds, 60);
    const n = series.requests.length;
    const minute = Math.floor(sec / 60);
    // a key is `tenant SEP rest`: the full view sums every tenant, a tenant's view only its own
    const prefix = tenant === null ? null : `${tenant}${SEP}`;
    const pick = (k: string): string | null => (prefix === null ? k.slice(k.indexOf(SEP) + 1) : k.startsWith(prefix) ? k.slice(prefix.length) : null);
    const refusalsBy = [...this.byCode.totals(minute, pick)].map(([k, count]) => {
      const cut = k.indexOf(SEP);
      return cut < 0 ? { stage: OTHER, code: k, count } : { stage: k.slice(0, cut), code: k.slice(cut + 1), count };
    });
    return {
      time: new Date(now).toISOString(),
      tenant,
      totals: {
        requests: ring?.total ?? 0,
        rps: Math.round((sumOf(series.requests, n - 11) - (series.requests[n - 1] ?? 0)) * 10) / 100,
        last_minute: {
          requests: sumOf(series.requests, n - 60),
          s2xx: sumOf(series.s2xx, n - 60),
          s3xx: sumOf(series.s3xx, n - 60),
          s4xx: sumOf(series.s4xx, n - 60),
          s5xx: sumOf(series.s5xx, n - 60),
          refused: sumOf(series.refused, n - 60),
        },
        latency_ms: series.window ?? { p50: null, p95: null, p99: null },
      },
      series,
      refusals_by: refusalsBy.sort((a, b) => b.count - a.count).slice(0, 50),
      waf_blocks: top(this.byCategory.totals(minute, pick), 20).map(([category, count]) => ({ category, count })),
      top_clients: top(this.byClient.totals(minute, pick), 10).map(([client, refusals]) => ({ client, refusals })),
      recent_refusals: this.search('', 20, tenant),
    };
  }
}

function top(m: Map<string, number>, n: number): [string, number][] {
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
}

function haystack(r: Refusal): string {
  const rules = r.waf?.['rules'];
  return [r.id, r.path ?? '', r.client, r.tenant ?? '', r.route ?? '', r.stage ?? '', r.code ?? '', Array.isArray(rules) ? rules.join(' ') : '']
    .join('\n')
    .toLowerCase();
}

/** The live view of a gateway's services (one per gateway, kept across reloads). */
export function liveFor(services: Pick<Services, 'keep'>): LiveView {
  return services.keep('observe.live', () => new LiveView());
}

/**
 * The observer a new config snapshot registers (src/config/snapshot.ts) when the admin listener
 * is on; each call is a new config, which ends the live streams of the old one.
 */
export function liveObserver(services: Pick<Services, 'keep'>): ExchangeObserver {
  const view = liveFor(services);
  view.generation++;
  return view.observe;
}
