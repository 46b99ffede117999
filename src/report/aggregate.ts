/**
 * The pure part of the report: access-log lines and audit entries in, a Report out. Memory is
 * bounded whatever the input: counts keep at most a fixed number of distinct keys each
 * (counts.ts), event lists at most LIST_LIMIT entries, the timeline at most MAX_BUCKETS buckets.
 */
import { CappedCounts, type Count } from './counts.js';
import { CONTROLS } from './controls.js';
import type { AdminAction, AuditChain, BanEvent, ConfigVersion, Report, SourceSummary, TenantRow, TimeBucket } from './types.js';

/** Distinct keys kept per count (codes, stages, routes, categories, rules, actors). */
export const KEY_CAP = 1000;
/** Distinct clients kept in the refused-clients count (an attacker rotating addresses gets `(other)`). */
export const CLIENT_CAP = 10_000;
/** Distinct tenants kept in the per-tenant table. */
export const TENANT_CAP = 1000;
/** Events kept per list (bans, admin actions, config versions); totals stay exact. */
export const LIST_LIMIT = 500;
/** Buckets of the timeline at most. */
export const MAX_BUCKETS = 200;
/** Rows shown per count in the report (the rest summed into `(other)`). */
export const SHOWN = 50;
/** Client addresses remembered for a tenant's report (to attribute IP bans to it). */
const TENANT_IP_CAP = 50_000;

/** Bucket widths tried, smallest first: the timeline uses the first that fits MAX_BUCKETS. */
const WIDTHS = [60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000, 604_800_000];

export function bucketWidth(fromMs: number, toMs: number): number {
  const span = Math.max(1, toMs - fromMs);
  for (const w of WIDTHS) if (span / w <= MAX_BUCKETS) return w;
  return Math.ceil(span / MAX_BUCKETS);
}

export interface AggregateOptions {
  readonly from: Date;
  readonly to: Date;
  /** only this tenant's requests and events */
  readonly tenant?: string | undefined;
  /** route id → owning tenant (from the config's `tenants`): refusals before authentication carry no tenant */
  readonly routeTenants?: ReadonlyMap<string, string> | undefined;
  /** consumer id → tenant (from the config's `consumers`): bans of `consumer:<id>` */
  readonly consumerTenants?: ReadonlyMap<string, string> | undefined;
}

type Obj = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** An auth failure: a refusal with an authentication code (an auth backend outage is not one). */
export const isAuthFailure = (code: string): boolean => code.startsWith('PC_ERR_AUTH_') && code !== 'PC_ERR_AUTH_UNAVAILABLE';

/** The attack categories of a WAF annotation: its `attack-*` tags, without the prefix. */
function wafCategories(waf: Obj): string[] {
  const tags = Array.isArray(waf['tags']) ? waf['tags'] : [];
  const out: string[] = [];
  for (const t of tags) if (typeof t === 'string' && t.startsWith('attack-') && out.length < 16) out.push(t.slice(7));
  return out.length > 0 ? out : ['uncategorised'];
}

interface TenantCounts {
  requests: number;
  refused: number;
  authFailures: number;
  wafBlocks: number;
}

export class ReportAggregator {
  private readonly fromIso: string;
  private readonly toIso: string;
  private readonly fromMs: number;
  private readonly bucketMs: number;
  private readonly requestsByBucket: number[];
  private readonly refusedByBucket: number[];
  private requests = 0;
  private allowed = 0;
  private refused = 0;
  private responded = 0;
  private readonly statusClass = new CappedCounts(8);
  private readonly authByCode = new CappedCounts(KEY_CAP);
  private readonly authByRoute = new CappedCounts(KEY_CAP);
  private readonly authByTenant = new CappedCounts(KEY_CAP);
  private readonly refusalsByStage = new CappedCounts(KEY_CAP);
  private readonly refusalsByCode = new CappedCounts(KEY_CAP);
  private readonly refusalsByStageCode = new CappedCounts(KEY_CAP);
  private readonly wafByCategory = new CappedCounts(KEY_CAP);
  private readonly wafByRule = new CappedCounts(KEY_CAP);
  private wafBlocks = 0;
  private wafMonitored = 0;
  private readonly refusedClients = new CappedCounts(CLIENT_CAP);
  private readonly tenantRows = new Map<string, TenantCounts>();
  private tenantsCapped = false;
  /** the filtered tenant's client addresses (bounded) */
  private readonly tenantIps = new Set<string>();
  private bansPlaced = 0;
  private bansLifted = 0;
  private throttles = 0;
  private readonly banEvents: BanEvent[] = [];
  private bansCut = false;
  private adminTotal = 0;
  private readonly adminByAction = new CappedCounts(KEY_CAP);
  private readonly adminByActor = new CappedCounts(KEY_CAP);
  private readonly adminEntries: AdminAction[] = [];
  private adminCut = false;
  private configBefore: ConfigVersion | null = null;
  private readonly configVersions: ConfigVersion[] = [];
  private configCut = false;

  constructor(private readonly opts: AggregateOptions) {
    this.fromIso = opts.from.toISOString();
    this.toIso = opts.to.toISOString();
    this.fromMs = opts.from.getTime();
    this.bucketMs = bucketWidth(this.fromMs, opts.to.getTime());
    const n = Math.max(1, Math.ceil((opts.to.getTime() - this.fromMs) / this.bucketMs));
    this.requestsByBucket = new Array<number>(n).fill(0);
    this.refusedByBucket = new Array<number>(n).fill(0);
  }

  /** Whether an ISO time (as the logs write it) is in [from, to). Times are compared as text: both are toISOString() forms. */
  inPeriod(time: string): boolean {
    return time >= this.fromIso && time < this.toIso;
  }

  /** The tenant a line counts for: its principal's, else the owner of its route. */
  private tenantOf(line: Obj): string | null {
    const t = str(line['tenant']);
    if (t !== null) return t;
    const route = str(line['route_id']);
    return route !== null ? (this.opts.routeTenants?.get(route) ?? null) : null;
  }

  /** One access-log line (parsed). Returns whether it was counted (in the period and the tenant). */
  addAccess(line: Obj): boolean {
    const time = str(line['time']);
    if (time === null || !this.inPeriod(time)) return false;
    const tenant = this.tenantOf(line);
    const only = this.opts.tenant;
    if (only !== undefined && tenant !== only) return false;
    const ip = str(line['client_ip']) ?? '(unknown)';
    if (only !== undefined && this.tenantIps.size < TENANT_IP_CAP) this.tenantIps.add(ip);
    this.requests++;
    const b = Math.floor((Date.parse(time) - this.fromMs) / this.bucketMs);
    if (b >= 0 && b < this.requestsByBucket.length) this.requestsByBucket[b]!++;
    const status = typeof line['status'] === 'number' ? line['status'] : 0;
    this.statusClass.add(status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other');
    const tc = tenant !== null ? this.tenantCounts(tenant) : null;
    if (tc) tc.requests++;
    const d = line['decision'];
    const waf = line['waf'];
    if (isObj(waf) && waf['blocked'] === true && !(isObj(d) && d['code'] === 'PC_ERR_WAF_BLOCKED')) this.wafMonitored++;
    if (!isObj(d)) {
      this.allowed++;
      return true;
    }
    if (d['responded'] === true) {
      this.responded++;
      return true;
    }
    this.refused++;
    if (b >= 0 && b < this.refusedByBucket.length) this.refusedByBucket[b]!++;
    const stage = str(d['stage']) ?? '(none)';
    const code = str(d['code']) ?? '(none)';
    this.refusalsByStage.add(stage);
    this.refusalsByCode.add(code);
    this.refusalsByStageCode.add(`${stage} ${code}`);
    this.refusedClients.add(ip);
    if (tc) tc.refused++;
    if (isAuthFailure(code)) {
      this.authByCode.add(code);
      this.authByRoute.add(str(line['route_id']) ?? '(no route)');
      this.authByTenant.add(tenant ?? '(none)');
      if (tc) tc.authFailures++;
    }
    if (code === 'PC_ERR_WAF_BLOCKED') {
      this.wafBlocks++;
      if (tc) tc.wafBlocks++;
      if (isObj(waf)) {
        for (const c of wafCategories(waf)) this.wafByCategory.add(c);
        const rules = Array.isArray(waf['rules']) ? waf['rules'] : [];
        for (const r of rules.slice(0, 16)) if (typeof r === 'string') this.wafByRule.add(r);
      } else this.wafByCategory.add('uncategorised');
    }
    return true;
  }

  private tenantCounts(t: string): TenantCounts | null {
    let c = this.tenantRows.get(t);
    if (c === undefined) {
      if (this.tenantRows.size >= TENANT_CAP) {
        this.tenantsCapped = true;
        return null;
      }
      c = { requests: 0, refused: 0, authFailures: 0, wafBlocks: 0 };
      this.tenantRows.set(t, c);
    }
    return c;
  }

  /** Whether an audit entry concerns the filtered tenant (always, without a filter). */
  private auditConcerns(data: Obj): boolean {
    const only = this.opts.tenant;
    if (only === undefined) return true;
    if (data['tenant'] === only) return true;
    const client = str(data['client']);
    if (client === null) return false;
    if (client.startsWith('consumer:')) return this.opts.consumerTenants?.get(client.slice(9)) === only;
    return this.tenantIps.has(client);
  }

  /**
   * One audit entry (parsed; the chain is verified elsewhere). Entries before the period only set
   * the configuration in force when it began; call after the access logs when filtering by tenant
   * (IP bans are attributed to a tenant by the addresses seen in its traffic).
   */
  addAudit(entry: { time: string; event: string; data: Obj }): boolean {
    const { time, event, data } = entry;
    const isConfig = event === 'config_loaded' || event === 'config_reloaded' || event === 'config_rejected';
    if (time < this.fromIso) {
      if (isConfig && event !== 'config_rejected') this.configBefore = { ...configVersion(time, event, data), inForceAtStart: true };
      return false;
    }
    if (time >= this.toIso) return false;
    if (isConfig) {
      if (this.configVersions.length < LIST_LIMIT) this.configVersions.push(configVersion(time, event, data));
      else this.configCut = true;
      return true;
    }
    if (!this.auditConcerns(data)) return false;
    const by = str(data['by']);
    if (event === 'ban_placed' || event === 'throttle_placed' || event === 'ban_lifted') {
      if (event === 'ban_placed') this.bansPlaced++;
      else if (event === 'throttle_placed') this.throttles++;
      else this.bansLifted++;
      if (this.banEvents.length < LIST_LIMIT) {
        this.banEvents.push({
          time,
          event,
          client: str(data['client']) ?? '(unknown)',
          kind: event === 'throttle_placed' ? 'throttle' : 'ban',
          source: str(data['source']),
          reason: str(data['reason']),
          until: str(data['until']),
          by,
        });
      } else this.bansCut = true;
    }
    if (event.startsWith('admin_')) {
      this.adminTotal++;
      this.adminByAction.add(event);
      this.adminByActor.add(by ?? '(unknown)');
      if (this.adminEntries.length < LIST_LIMIT) {
        const { by: _by, ...rest } = data;
        const detail = JSON.stringify(rest);
        this.adminEntries.push({ time, event, by, detail: detail.length > 300 ? `${detail.slice(0, 300)}...` : detail });
      } else this.adminCut = true;
    }
    return true;
  }

  finish(sources: Report['sources'], auditChain: AuditChain, now: Date): Report {
    const truncated: string[] = [];
    const mark = (name: string, cut: boolean): void => {
      if (cut) truncated.push(name);
    };
    mark('authFailures', this.authByCode.capped || this.authByRoute.capped || this.authByTenant.capped);
    mark('refusals', this.refusalsByStage.capped || this.refusalsByCode.capped || this.refusalsByStageCode.capped);
    mark('waf', this.wafByCategory.capped || this.wafByRule.capped);
    mark('topRefusedClients', this.refusedClients.capped);
    mark('bans', this.bansCut);
    mark('adminActions', this.adminCut || this.adminByAction.capped || this.adminByActor.capped);
    mark('configVersions', this.configCut);
    mark('tenants', this.tenantsCapped);
    const timeline: TimeBucket[] = this.requestsByBucket.map((requests, i) => ({
      start: new Date(this.fromMs + i * this.bucketMs).toISOString(),
      requests,
      refused: this.refusedByBucket[i] ?? 0,
    }));
    const tenants: TenantRow[] = [...this.tenantRows]
      .map(([tenant, c]) => ({ tenant, ...c }))
      .sort((a, b) => b.requests - a.requests || (a.tenant < b.tenant ? -1 : 1));
    const byStageAndCode = this.refusalsByStageCode.top(SHOWN).map((c: Count) => {
      const i = c.key.indexOf(' ');
      return i < 0 ? { stage: c.key, code: '', count: c.count } : { stage: c.key.slice(0, i), code: c.key.slice(i + 1), count: c.count };
    });
    return {
      version: 1,
      generatedAt: now.toISOString(),
      period: { from: this.fromIso, to: this.toIso },
      tenant: this.opts.tenant ?? null,
      sources,
      traffic: {
        requests: this.requests,
        allowed: this.allowed,
        refused: this.refused,
        responded: this.responded,
        byStatusClass: this.statusClass.top().sort((a, b) => (a.key < b.key ? -1 : 1)),
        bucketMs: this.bucketMs,
        timeline,
      },
      authFailures: {
        total: this.authByCode.sum,
        byCode: this.authByCode.top(SHOWN),
        byRoute: this.authByRoute.top(SHOWN),
        byTenant: this.authByTenant.top(SHOWN),
      },
      refusals: { total: this.refused, byStage: this.refusalsByStage.top(SHOWN), byCode: this.refusalsByCode.top(SHOWN), byStageAndCode },
      waf: { total: this.wafBlocks, byCategory: this.wafByCategory.top(SHOWN), byRule: this.wafByRule.top(SHOWN), monitored: this.wafMonitored },
      topRefusedClients: this.refusedClients.top(20),
      bans: { placed: this.bansPlaced, lifted: this.bansLifted, throttles: this.throttles, events: this.banEvents },
      adminActions: { total: this.adminTotal, byAction: this.adminByAction.top(SHOWN), byActor: this.adminByActor.top(SHOWN), entries: this.adminEntries },
      configVersions: this.configBefore !== null ? [this.configBefore, ...this.configVersions] : [...this.configVersions],
      auditChain,
      tenants,
      controls: CONTROLS,
      truncated,
    };
  }
}

function configVersion(time: string, event: string, data: Obj): ConfigVersion {
  const error = str(data['error']);
  return {
    time,
    event,
    hash: str(data['hash']),
    file: str(data['file']),
    trigger: str(data['trigger']),
    processUser: str(data['process_user']),
    error: error !== null && error.length > 300 ? `${error.slice(0, 300)}...` : error,
    inForceAtStart: false,
  };
}

/** An empty source summary, counted into by the reader. */
export function sourceSummary(path: string): SourceSummary & { lines: number; used: number; unreadable: number; oversized: number } {
  return { path, lines: 0, used: 0, unreadable: 0, oversized: 0 };
}
