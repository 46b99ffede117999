/**
 * The abuse engine of one gateway (one Services): feeds the detectors from finished exchanges,
 * places bans and throttles in the state store, keeps a local copy of the shared verdict list
 * (following the store's journal of changes, polled every `sync_interval_ms`) so that the
 * per-request check is a local map lookup, and answers the admin API.
 *
 * Store keys (prefix `abuse.key_prefix`):
 *   n:<detector>:<client>:<bucket>          counters (ttl 2 windows)
 *   m:<detector>:<client>:<bucket>:<hash>   distinct markers for scanning / enumeration (once)
 *   o:<client>                              offence counter for ban escalation (ttl ban.memory_ms)
 *   v:ban:<client>, v:throttle:<client>     verdicts, JSON (ttl until expiry)
 *   a:<client>                              one-instance guard when acting (once, 5 s)
 *   t:<client>:<bucket>                     throttle counters
 *   jid, j:<id>                             journal of verdict changes (ids, entries; ttl 10 min)
 */
import type { Services } from '../../core/services.js';
import type { Deny } from '../../core/decision.js';
import { deny } from '../../core/decision.js';
import type { AbuseConfig, DetectorConfig, DetectorName, IpListsConfig } from './schema.js';
import { DETECTORS } from './schema.js';
import { IpList } from './ip-match.js';
import { ClientKeys, DEFAULT_PREFIXES, clientKey, normaliseIp, type ClientPrefixes } from '../../core/ip.js';
import {
  banDurationMs,
  bucketOf,
  classify,
  countRate,
  newBaseline,
  parseVerdict,
  planActions,
  rateScore,
  retryAfterSeconds,
  rollMemo,
  slidingEstimate,
  triggered,
  type Exchange,
  type MutableBaseline,
  type Plan,
  type Signals,
  type Trigger,
  type Verdict,
  type WindowMemo,
} from './decide.js';
import { GenerationalMap } from '../../store/lru.js';

/** A finished exchange as the engine reads it. */
export interface FinishedExchange extends Exchange {
  readonly ip: string;
  readonly consumer: string | null;
  /** the principal's tenant (carried by the consumer's verdicts and the recent-denials list) */
  readonly tenant: string | null;
  readonly requestId: string;
  readonly method: string;
  readonly stage: string | null;
}

/** Compiled settings of one config snapshot. */
export interface AbuseSettings {
  readonly config: AbuseConfig;
  readonly allowIps: IpList;
  readonly allowConsumers: ReadonlySet<string>;
  readonly ipLists: { readonly mode: IpListsConfig['mode']; readonly allow: IpList; readonly deny: IpList };
  /** the client key of an address (`client_ip` prefixes, shared with the rate limits) */
  readonly keys: ClientKeys;
}

export function compileSettings(config: AbuseConfig, ipLists: IpListsConfig, prefixes: ClientPrefixes = DEFAULT_PREFIXES): AbuseSettings {
  return {
    config,
    keys: new ClientKeys(prefixes),
    allowIps: new IpList(config.allow.ips),
    allowConsumers: new Set(config.allow.consumers),
    ipLists: { mode: ipLists.mode, allow: new IpList(ipLists.allow), deny: new IpList(ipLists.deny) },
  };
}

/** An alert raised by a detector or an action, handed to the alert sinks. */
export interface AbuseAlert {
  readonly name: string;
  readonly client: string;
  readonly detector: string;
  readonly action: string;
  readonly value: number;
  readonly until: number | null;
  readonly mode: 'enforce' | 'monitor';
}

/** One refused request, for the admin API's recent-denials list. */
export interface DenialEvent {
  readonly time: number;
  readonly request_id: string;
  readonly client_ip: string;
  readonly consumer: string | null;
  /** the principal's tenant: a tenant token sees its own tenant's refusals only */
  readonly tenant: string | null;
  readonly method: string;
  readonly path: string;
  readonly route: string | null;
  readonly status: number;
  readonly code: string | null;
  readonly stage: string | null;
}

const VERDICT_SCAN_MAX = 10000;
/** most verdicts held locally (a full reload holds at most VERDICT_SCAN_MAX) */
const MAX_VERDICTS = 50000;
const COUNTER_TTL_MS = 30 * 24 * 3600 * 1000;
/** journal entries live this long; an instance further behind reloads the whole list */
const JOURNAL_TTL_MS = 10 * 60 * 1000;
/** more unseen journal entries than this: reload the whole list instead */
const JOURNAL_MAX_GAP = 500;
/** a journal entry whose id was taken but that is still missing after this is skipped by a reload */
const JOURNAL_MISSING_MS = 1000;
/** the whole list is reloaded this often anyway (a scan walks the store's whole keyspace) */
const FULL_REFRESH_MS = 5 * 60 * 1000;
const RECENT_MAX = 1000;
const COUNT_DETECTORS = ['auth_failures', 'waf_hits', 'rate_limited', 'errors_5xx', 'http2_floods'] as const;
const DISTINCT_DETECTORS: readonly DetectorName[] = ['scanning', 'enumeration'];

/**
 * A 64-bit FNV-1a hash (two 32-bit lanes) of a path or object id, for distinct counting: cheap,
 * and a collision only makes one id count as seen (it cannot hide a scan of many ids).
 */
export function itemHash(s: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x01000193) ^ (h2 >>> 15);
  }
  return (h1 >>> 0).toString(36) + (h2 >>> 0).toString(36);
}

export class AbuseEngine {
  settings: AbuseSettings | null = null;
  /** receives detector and action alerts (wired to the alert engine) */
  alertSink: ((a: AbuseAlert) => void) | null = null;

  private readonly verdicts = new Map<string, Verdict>();
  /** verdicts placed by this instance in the last LOCAL_KEEP_MS, kept across a concurrent sync */
  private readonly localRecent = new Map<string, { v: Verdict; storedSeq: number }>();
  private seq = 0;
  /** last journal id applied (NaN: the list was never loaded) */
  private journalSeen = Number.NaN;
  private missingSince: number | null = null;
  private lastFull = 0;
  private lastSweep = 0;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private users = 0;
  private memos = new GenerationalMap<string, WindowMemo>(50000);
  private baselines = new GenerationalMap<string, MutableBaseline>(50000);
  private alertCooldown = new GenerationalMap<string, number>(50000);
  private seenLocally = new GenerationalMap<string, true>(100000);
  /** request totals not yet added to the store, by client */
  private readonly pendingTotals = new Map<string, { bucket: number; by: number; since: number }>();
  private readonly recent: DenialEvent[] = [];
  private recentNext = 0;
  private readonly actions;

  constructor(private readonly services: Services) {
    this.actions = services.metrics.counter<'detector' | 'action' | 'mode'>(
      'portcullis_abuse_actions_total',
      'Abuse detector triggers by detector, action (ban, throttle, alert) and mode (enforce, monitor).',
      ['detector', 'action', 'mode'],
    );
  }

  private get prefix(): string {
    return this.settings?.config.key_prefix ?? 'pc:abuse:';
  }

  configure(settings: AbuseSettings): void {
    const prevMax = this.settings?.config.max_tracked_clients;
    this.settings = settings;
    if (prevMax !== settings.config.max_tracked_clients) {
      const max = settings.config.max_tracked_clients;
      this.memos = new GenerationalMap(max * 2);
      this.baselines = new GenerationalMap(max);
      this.alertCooldown = new GenerationalMap(max);
      this.seenLocally = new GenerationalMap(max * 2);
    }
    if (this.users > 0) this.restartTimer();
  }

  /** A snapshot started using the engine: keep the verdict list in sync while any does. */
  acquire(): void {
    this.users++;
    if (!this.timer) this.restartTimer();
  }

  release(): void {
    this.users = Math.max(0, this.users - 1);
    if (this.users === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private restartTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.settings?.config.enabled) {
      this.verdicts.clear();
      return;
    }
    const every = this.settings?.config.sync_interval_ms ?? 250;
    this.timer = setInterval(() => void this.sync(), every);
    this.timer.unref();
    void this.sync();
  }

  /**
   * Brings the local verdict list up to date: reads the journal id counter (one store call), and
   * applies the journal entries written since the last poll (one call each). On start, after a
   * gap, or every FULL_REFRESH_MS, reloads the whole list with a scan instead.
   */
  async sync(now = this.services.clock()): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const startSeq = ++this.seq;
    try {
      const store = this.services.store;
      const top = await store.incr(`${this.prefix}jid`, COUNTER_TTL_MS, 0);
      const seen = this.journalSeen;
      let full = Number.isNaN(seen) || top < seen || top - seen > JOURNAL_MAX_GAP || now - this.lastFull >= FULL_REFRESH_MS;
      if (!full) {
        for (let id = seen + 1; id <= top; id++) {
          const entry = await store.get(`${this.prefix}j:${id}`);
          if (entry === null) {
            // its writer took the id but has not stored it yet, or it expired
            this.missingSince ??= now;
            if (now - this.missingSince >= JOURNAL_MISSING_MS) full = true;
            break;
          }
          this.missingSince = null;
          this.applyJournal(entry, now);
          this.journalSeen = id;
        }
      }
      if (full) {
        const rows = await store.scan(`${this.prefix}v:`, VERDICT_SCAN_MAX);
        this.verdicts.clear();
        for (const r of rows) {
          const verdict = parseVerdict(r.value);
          if (verdict && verdict.until > now) this.verdicts.set(`${verdict.kind}:${verdict.client}`, verdict);
        }
        // verdicts placed here but not yet stored when the scan began may be missing from it: keep them
        for (const [k, e] of this.localRecent) {
          if (e.storedSeq >= startSeq && !this.verdicts.has(k) && e.v.until > now) this.verdicts.set(k, e.v);
        }
        this.journalSeen = top;
        this.missingSince = null;
        this.lastFull = now;
      }
      for (const [k, e] of this.localRecent) if (e.storedSeq < startSeq) this.localRecent.delete(k);
      if (this.verdicts.size > 1000 && now - this.lastSweep > 10000) {
        this.sweep(now);
        this.lastSweep = now;
      }
    } catch (e) {
      // keep the last known list: a store outage must not lift bans
      this.services.logger.debug({ err: (e as Error).message }, 'abuse: verdict sync failed');
    } finally {
      this.polling = false;
    }
  }

  private applyJournal(text: string, now: number): void {
    let e: { op?: unknown; kind?: unknown; client?: unknown; verdict?: unknown; at?: unknown };
    try {
      e = JSON.parse(text) as typeof e;
    } catch {
      return;
    }
    if (e.op === 'put') {
      const v = parseVerdict(JSON.stringify(e.verdict ?? null));
      if (v && v.until > now) {
        if (this.verdicts.size >= MAX_VERDICTS) this.sweep(now);
        if (this.verdicts.size < MAX_VERDICTS) this.verdicts.set(`${v.kind}:${v.client}`, v);
      }
    } else if (e.op === 'del' && (e.kind === 'ban' || e.kind === 'throttle') && typeof e.client === 'string') {
      const k = `${e.kind}:${e.client}`;
      // a verdict placed after the lift stays
      const cur = this.verdicts.get(k);
      if (cur && (typeof e.at !== 'number' || cur.since <= e.at)) this.verdicts.delete(k);
    }
  }

  /** Drops expired verdicts (they are otherwise dropped when looked up). */
  private sweep(now: number): void {
    for (const [k, v] of this.verdicts) if (v.until <= now) this.verdicts.delete(k);
  }

  /** Appends a change to the shared journal that every instance applies. */
  private async journal(entry: Record<string, unknown>): Promise<void> {
    const store = this.services.store;
    const id = await store.incr(`${this.prefix}jid`, COUNTER_TTL_MS, 1);
    await store.set(`${this.prefix}j:${id}`, JSON.stringify(entry), JOURNAL_TTL_MS);
  }

  // ---------------------------------------------------------------- per-request checks

  activeVerdict(kind: 'ban' | 'throttle', client: string, now: number): Verdict | null {
    const v = this.verdicts.get(`${kind}:${client}`);
    if (!v) return null;
    if (v.until <= now) {
      this.verdicts.delete(`${kind}:${client}`);
      return null;
    }
    return v;
  }

  isAllowListed(s: AbuseSettings, ip: string, consumer: string | null): boolean {
    return s.allowIps.has(ip) || (consumer !== null && s.allowConsumers.has(consumer));
  }

  /** Global IP lists, then bans and throttles of the client's address. Sync unless throttled. */
  checkIp(s: AbuseSettings, rawIp: string, now: number, record: (d: Deny) => void): Deny | undefined | Promise<Deny | undefined> {
    const ip = normaliseIp(rawIp);
    const lists = s.ipLists;
    if (lists.mode !== 'off' && (lists.deny.size > 0 || lists.allow.size > 0)) {
      const refused = lists.deny.has(ip) || (lists.allow.size > 0 && !lists.allow.has(ip));
      if (refused) {
        const d = deny('PC_ERR_IP_DENIED', { reason: lists.deny.has(ip) ? 'global deny list' : 'not in global allow list' });
        if (lists.mode === 'enforce') return d;
        record(d);
      }
    }
    if (!s.config.enabled || this.verdicts.size === 0 || s.allowIps.has(ip)) return undefined;
    return this.checkClientKey(s, s.keys.of(ip), now);
  }

  /** Bans and throttles of a consumer (after authentication). */
  checkConsumer(s: AbuseSettings, consumer: string, now: number): Deny | undefined | Promise<Deny | undefined> {
    if (!s.config.enabled || this.verdicts.size === 0 || s.allowConsumers.has(consumer)) return undefined;
    return this.checkClientKey(s, `consumer:${consumer}`, now);
  }

  private checkClientKey(s: AbuseSettings, client: string, now: number): Deny | undefined | Promise<Deny | undefined> {
    const ban = this.activeVerdict('ban', client, now);
    if (ban) {
      return deny('PC_ERR_CLIENT_BANNED', {
        headers: { 'retry-after': String(retryAfterSeconds(ban.until, now)) },
        reason: `banned by ${ban.source}`,
      });
    }
    const thr = this.activeVerdict('throttle', client, now);
    if (!thr) return undefined;
    const t = s.config.throttle;
    const bucket = bucketOf(now, t.window_ms);
    return this.services.store.incr(`${this.prefix}t:${client}:${bucket}`, t.window_ms, 1).then(
      (n) =>
        n <= t.limit
          ? undefined
          : deny('PC_ERR_THROTTLED', {
              headers: { 'retry-after': String(retryAfterSeconds((bucket + 1) * t.window_ms, now)) },
              reason: `throttled by ${thr.source}`,
            }),
      // fail closed: the client is already under a throttle
      () => deny('PC_ERR_THROTTLED', { reason: 'throttle store unavailable' }),
    );
  }

  // ---------------------------------------------------------------- the detector feed

  /** Records a finished exchange; detector work continues in the background. */
  observe(x: FinishedExchange, now: number): Promise<void> | null {
    if (x.decision === 'denied' || x.status >= 400) this.remember(x, now);
    const s = this.settings;
    if (!s || !s.config.enabled) return null;
    const sig = classify(x);
    if (!sig.counted) return null;
    const ip = normaliseIp(x.ip);
    if (this.isAllowListed(s, ip, x.consumer)) return null;
    const a = this.feed(s, s.keys.of(ip), sig, x, now, null);
    const b = x.consumer !== null ? this.feed(s, `consumer:${x.consumer}`, sig, x, now, x.tenant) : null;
    // the common case (nothing to ask the store) stays synchronous
    if (a === null && b === null) return null;
    return Promise.all([a, b])
      .then(() => undefined)
      .catch((e: unknown) => {
        this.services.logger.debug({ err: (e as Error).message }, 'abuse: detector feed failed');
      });
  }

  private remember(x: FinishedExchange, now: number): void {
    const ev: DenialEvent = {
      time: now,
      request_id: x.requestId,
      client_ip: x.ip,
      consumer: x.consumer,
      tenant: x.tenant,
      method: x.method,
      path: x.path.length > 256 ? `${x.path.slice(0, 256)}...` : x.path,
      route: x.routeId,
      status: x.status,
      code: x.code,
      stage: x.stage,
    };
    if (this.recent.length < RECENT_MAX) this.recent.push(ev);
    else this.recent[this.recentNext] = ev;
    this.recentNext = (this.recentNext + 1) % RECENT_MAX;
  }

  /** Refused or failed exchanges, oldest first, at most `limit`, newer than `since`. */
  recentDenials(since: number, limit: number): DenialEvent[] {
    const ordered = this.recent.length < RECENT_MAX ? this.recent : [...this.recent.slice(this.recentNext), ...this.recent.slice(0, this.recentNext)];
    const out = ordered.filter((e) => e.time >= since);
    return out.slice(Math.max(0, out.length - limit));
  }

  private async count(det: DetectorName, cfg: DetectorConfig, client: string, now: number, by = 1): Promise<number> {
    const bucket = bucketOf(now, cfg.window_ms);
    const key = `${det}:${client}`;
    const v = await this.services.store.incr(`${this.prefix}n:${key}:${bucket}`, cfg.window_ms * 2, by);
    const memo = rollMemo(this.memos.get(key), bucket, v);
    this.memos.set(key, memo);
    return slidingEstimate(memo, now, cfg.window_ms);
  }

  /**
   * Counts one request toward the client's total (the errors_4xx denominator) and returns the
   * sliding estimate. Totals are flushed to the store every 16 requests, at a bucket change, or
   * after the sync interval, so that ordinary traffic costs few store round trips.
   */
  private addTotal(cfg: DetectorConfig, client: string, now: number): number {
    const bucket = bucketOf(now, cfg.window_ms);
    const key = `${client}:all`;
    let p = this.pendingTotals.get(key);
    if (p && p.bucket !== bucket) {
      this.flushTotal(cfg, key, p);
      p = undefined;
    }
    if (!p) {
      if (this.pendingTotals.size >= (this.settings?.config.max_tracked_clients ?? 50000)) {
        const first = this.pendingTotals.entries().next();
        if (!first.done) this.flushTotal(cfg, first.value[0], first.value[1]);
      }
      p = { bucket, by: 0, since: now };
      this.pendingTotals.set(key, p);
    }
    p.by++;
    const memo = this.memos.get(`errors_4xx:${key}`);
    const estimate = (memo ? slidingEstimate(memo, now, cfg.window_ms) : 0) + p.by;
    if (p.by >= 16 || now - p.since >= (this.settings?.config.sync_interval_ms ?? 250)) this.flushTotal(cfg, key, p);
    return estimate;
  }

  private flushTotal(cfg: DetectorConfig, key: string, p: { bucket: number; by: number }): void {
    if (this.pendingTotals.get(key) === p) this.pendingTotals.delete(key);
    if (p.by === 0) return;
    const memoKey = `errors_4xx:${key}`;
    // the local memo counts the batch at once, so estimates do not dip while the store answers
    const cur = this.memos.get(memoKey);
    this.memos.set(memoKey, rollMemo(cur, p.bucket, (cur && cur.bucket === p.bucket ? cur.cur : 0) + p.by));
    this.services.store.incr(`${this.prefix}n:${memoKey}:${p.bucket}`, cfg.window_ms * 2, p.by).then(
      (v) => this.memos.set(memoKey, rollMemo(this.memos.get(memoKey), p.bucket, v)),
      () => undefined,
    );
  }

  /** Feeds one client's detectors; null when nothing needed the store (the common case). */
  private feed(s: AbuseSettings, client: string, sig: Signals, x: FinishedExchange, now: number, tenant: string | null): Promise<void> | null {
    const d = s.config.detectors;
    const store = this.services.store;
    let jobs: Promise<Trigger | null>[] | null = null;
    const add = (j: Promise<Trigger | null>): void => void (jobs ??= []).push(j);
    if (sig.authFailure || sig.wafHit || sig.rateLimited || sig.serverError || sig.h2Flood) {
      for (const det of COUNT_DETECTORS) {
        const cfg = d[det];
        const hit =
          det === 'auth_failures'
            ? sig.authFailure
            : det === 'waf_hits'
              ? sig.wafHit
              : det === 'rate_limited'
                ? sig.rateLimited
                : det === 'http2_floods'
                  ? sig.h2Flood
                  : sig.serverError;
        if (cfg.mode === 'off' || !hit) continue;
        add(this.count(det, cfg, client, now).then((v) => (triggered(cfg, v) ? { detector: det, value: v, config: cfg } : null)));
      }
    }
    const r4 = d.errors_4xx;
    if (r4.mode !== 'off') {
      // every request adds to the total: batched locally, flushed to the store in small increments
      const total = this.addTotal(r4, client, now);
      if (sig.clientError) {
        add(
          this.count('errors_4xx', r4, client, now).then((errs) => {
            const ratio = total > 0 ? Math.min(1, errs / total) : 0;
            return triggered(r4, ratio, total) ? { detector: 'errors_4xx' as const, value: ratio, config: r4 } : null;
          }),
        );
      }
    }
    for (const det of DISTINCT_DETECTORS) {
      const cfg = d[det];
      if (cfg.mode === 'off') continue;
      const item = det === 'scanning' ? (sig.notFound ? x.path : null) : sig.objectKey !== null && !sig.notFound ? sig.objectKey : null;
      if (item === null) continue;
      const scope = det === 'enumeration' ? `${client}:${x.routeId ?? ''}` : client;
      const bucket = bucketOf(now, cfg.window_ms);
      // ids seen by this instance in this bucket are not asked of the store again
      const local = `${det}:${scope}:${bucket}:${item.length <= 64 ? item : itemHash(item)}`;
      if (this.seenLocally.get(local) !== undefined) continue;
      this.seenLocally.set(local, true);
      add(
        store
          .once(`${this.prefix}m:${det}:${scope}:${bucket}:${itemHash(item)}`, cfg.window_ms * 2)
          .then((fresh) =>
            fresh ? this.count(det, cfg, scope, now).then((v) => (triggered(cfg, v) ? { detector: det, value: v, config: cfg } : null)) : null,
          ),
      );
    }
    const ra = d.rate_anomaly;
    if (ra.mode !== 'off') {
      let b = this.baselines.get(client);
      if (b === undefined) {
        b = newBaseline(now, ra.window_ms);
        this.baselines.set(client, b);
      } else countRate(b, now, ra.window_ms);
      const score = rateScore(b, ra);
      if (triggered(ra, score)) add(Promise.resolve({ detector: 'rate_anomaly' as const, value: score, config: ra }));
    }
    if (jobs === null) return null;
    return Promise.all(jobs as Promise<Trigger | null>[]).then(async (results) => {
      const triggers = results.filter((t): t is Trigger => t !== null);
      if (triggers.length === 0) return;
      const plans = planActions(triggers, {
        allowListed: false,
        banned: this.activeVerdict('ban', client, now) !== null,
        throttled: this.activeVerdict('throttle', client, now) !== null,
      });
      for (const p of plans) await this.execute(s, client, p, now, tenant);
    });
  }

  private async execute(s: AbuseSettings, client: string, p: Plan, now: number, tenant: string | null): Promise<void> {
    const log = this.services.logger;
    if (p.kind === 'would') {
      this.actions.inc({ detector: p.detector, action: p.action, mode: 'monitor' });
      if (this.cooled(`would:${p.detector}:${client}`, now, s.config.alert_cooldown_ms)) {
        log.warn({ event: 'abuse.monitor', client, detector: p.detector, action: p.action, value: p.value }, 'abuse detector would act (monitor mode)');
        this.alert({ name: `abuse.${p.detector}`, client, detector: p.detector, action: p.action, value: p.value, until: null, mode: 'monitor' });
      }
      return;
    }
    if (p.kind === 'alert') {
      this.actions.inc({ detector: p.detector, action: 'alert', mode: 'enforce' });
      if (this.cooled(`alert:${p.detector}:${client}`, now, s.config.alert_cooldown_ms)) {
        log.warn({ event: 'abuse.alert', client, detector: p.detector, value: p.value }, 'abuse detector triggered');
        this.alert({ name: `abuse.${p.detector}`, client, detector: p.detector, action: 'alert', value: p.value, until: null, mode: 'enforce' });
      }
      return;
    }
    // ban or throttle: claim the action locally first (concurrent evaluations), then across instances
    if (this.activeVerdict(p.kind, client, now)) return;
    const placeholder: Verdict = { kind: p.kind, client, until: now + 2000, since: now, reason: '', source: p.detector, offence: 0, by: null };
    this.setLocal(placeholder);
    // the guard outlives one sync interval, so that other instances see the verdict before it expires
    const mine = await this.services.store.once(`${this.prefix}a:${p.kind}:${client}`, 1000);
    if (!mine) {
      // another instance is placing it; the sync brings it here
      if (this.verdicts.get(`${p.kind}:${client}`) === placeholder) this.verdicts.delete(`${p.kind}:${client}`);
      this.localRecent.delete(`${p.kind}:${client}`);
      return;
    }
    if (p.kind === 'ban') {
      const offence = await this.services.store.incr(`${this.prefix}o:${client}`, s.config.ban.memory_ms, 1);
      const dur = banDurationMs(offence, s.config.ban);
      await this.place(
        { kind: 'ban', client, until: now + dur, since: now, reason: `${p.detector} reached ${round(p.value)}`, source: p.detector, offence, by: null, tenant },
        now,
      );
      await this.resetCounters(s, client, now);
    } else {
      await this.place(
        {
          kind: 'throttle',
          client,
          until: now + s.config.throttle.duration_ms,
          since: now,
          reason: `${p.detector} reached ${round(p.value)}`,
          source: p.detector,
          offence: 1,
          by: null,
          tenant,
        },
        now,
      );
    }
    this.actions.inc({ detector: p.detector, action: p.kind, mode: 'enforce' });
  }

  private cooled(key: string, now: number, cooldown: number): boolean {
    const last = this.alertCooldown.get(key);
    if (last !== undefined && now - last < cooldown) return false;
    this.alertCooldown.set(key, now);
    return true;
  }

  private alert(a: AbuseAlert): void {
    try {
      this.alertSink?.(a);
    } catch {
      /* a sink must not break the feed */
    }
  }

  private async resetCounters(s: AbuseSettings, client: string, now: number): Promise<void> {
    const store = this.services.store;
    const dels: Promise<void>[] = [];
    for (const det of DETECTORS) {
      const cfg = s.config.detectors[det];
      const b = bucketOf(now, cfg.window_ms);
      for (const scope of det === 'errors_4xx' ? [client, `${client}:all`] : [client]) {
        this.memos.delete(`${det}:${scope}`);
        dels.push(store.del(`${this.prefix}n:${det}:${scope}:${b}`), store.del(`${this.prefix}n:${det}:${scope}:${b - 1}`));
      }
    }
    this.baselines.delete(client);
    await Promise.all(dels);
  }

  private setLocal(v: Verdict): { storedSeq: number } {
    const k = `${v.kind}:${v.client}`;
    this.verdicts.set(k, v);
    if (this.localRecent.size >= 10000) this.localRecent.clear();
    const e = { v, storedSeq: Number.POSITIVE_INFINITY };
    this.localRecent.set(k, e);
    return e;
  }

  /** Stores a verdict, bumps the shared version, audits and alerts. */
  async place(v: Verdict, now: number): Promise<void> {
    const store = this.services.store;
    const local = this.setLocal(v);
    await store.set(`${this.prefix}v:${v.kind}:${v.client}`, JSON.stringify(v), Math.max(1, v.until - now));
    local.storedSeq = ++this.seq;
    await this.journal({ op: 'put', verdict: v });
    const data = {
      client: v.client,
      until: new Date(v.until).toISOString(),
      duration_ms: v.until - now,
      reason: v.reason,
      source: v.source,
      offence: v.offence,
      by: v.by,
      ...(v.tenant ? { tenant: v.tenant } : {}),
    };
    this.services.logger.warn({ event: `abuse.${v.kind}`, ...data }, v.kind === 'ban' ? 'client banned' : 'client throttled');
    this.services.audit(v.kind === 'ban' ? 'ban_placed' : 'throttle_placed', data);
    this.alert({ name: `abuse.${v.kind}`, client: v.client, detector: v.source, action: v.kind, value: v.offence, until: v.until, mode: 'enforce' });
  }

  /** Lifts a ban and/or throttle; returns whether something was active. */
  async lift(client: string, by: string | null, now: number): Promise<boolean> {
    const store = this.services.store;
    let found = false;
    for (const kind of ['ban', 'throttle'] as const) {
      const key = `${this.prefix}v:${kind}:${client}`;
      const existing = parseVerdict(await store.get(key)) ?? this.activeVerdict(kind, client, now);
      if (existing && existing.until > now) found = true;
      this.verdicts.delete(`${kind}:${client}`);
      this.localRecent.delete(`${kind}:${client}`);
      await store.del(key);
    }
    await store.del(`${this.prefix}a:ban:${client}`);
    await store.del(`${this.prefix}a:throttle:${client}`);
    for (const kind of ['ban', 'throttle'] as const) await this.journal({ op: 'del', kind, client, at: now });
    if (found) {
      this.services.logger.warn({ event: 'abuse.lift', client, by }, 'ban lifted');
      this.services.audit('ban_lifted', { client, by });
    }
    return found;
  }

  /** The active ban and throttle of one client: from the store, else what this instance enforces. */
  async verdictsOf(client: string, now: number): Promise<Verdict[]> {
    const out: Verdict[] = [];
    for (const kind of ['ban', 'throttle'] as const) {
      let v: Verdict | null;
      try {
        v = parseVerdict(await this.services.store.get(`${this.prefix}v:${kind}:${client}`));
      } catch {
        v = null;
      }
      v ??= this.activeVerdict(kind, client, now);
      if (v !== null && v.until > now) out.push(v);
    }
    return out;
  }

  /** Active verdicts from the store (authoritative), newest first. */
  async list(now: number): Promise<Verdict[]> {
    const out: Verdict[] = [];
    try {
      const rows = await this.services.store.scan(`${this.prefix}v:`, VERDICT_SCAN_MAX);
      for (const r of rows) {
        const v = parseVerdict(r.value);
        if (v && v.until > now) out.push(v);
      }
    } catch {
      // the store is unreachable: what this instance enforces
      for (const v of this.verdicts.values()) if (v.until > now && v.offence >= 0 && v.reason !== '') out.push(v);
    }
    return out.sort((a, b) => b.since - a.since);
  }

  /** Normalises what an admin typed into a client key: an IP (grouped by the `client_ip` prefixes) or `consumer:<id>`. */
  clientKey(input: string): string | null {
    if (input.startsWith('consumer:')) return input.length > 9 && input.length <= 265 ? input : null;
    const slash = input.indexOf('/');
    const ip = normaliseIp(slash >= 0 ? input.slice(0, slash) : input);
    if (ip === '') return null;
    return clientKey(ip, this.settings?.keys.prefixes ?? DEFAULT_PREFIXES);
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
