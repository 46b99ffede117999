/**
 * The response cache stage (RFC 9111 shared cache, RFC 5861, RFC 9211): after every check of the
 * request (last of the inspect phase), a stored response answers a GET or HEAD; a miss goes
 * upstream once per key (request coalescing, across instances with Redis) and the response is
 * tapped on its way to the client and stored when RFC 9111 allows; a stale entry with a validator
 * is revalidated with a conditional request and a 304 refreshes it; a failed upstream may be
 * answered with a stale entry (stale-if-error); unsafe methods invalidate the URL's entries.
 * The decisions are in decide.ts, the stores in store/.
 */
import { Buffer } from 'node:buffer';
import { setTimeout as sleep } from 'node:timers/promises';
import { configErrorAt } from '../../config/errors.js';
import { deny, respond, type BodyTap, type Decision, type Respond } from '../../core/decision.js';
import type { RouteConfig } from '../../core/config.js';
import type { RequestContext, ResponseMeta, RouteStage, StageInstance, StageModule } from '../../core/stage.js';
import type { Logger, Services } from '../../core/services.js';
import { limitHeapGrowth } from '../../core/heap.js';
import type { RedisStore } from '../../store/redis.js';
import { isPublicRoute } from '../auth/public.js';
import {
  ageHeader,
  answersNotModified,
  type CacheSettings,
  type CacheStatusParts,
  cacheStatus,
  candidateEtags,
  conditionalHeaders,
  freshen,
  freshenFromHead,
  invalidations,
  type LookupResult,
  lookup,
  matchVariant,
  notModifiedHeaders,
  onlyIfCachedFails,
  type RequestDirectives,
  readRequest,
  selectCandidate,
  staleIfErrorAllowed,
  storable,
  storedHeaders,
  validatorsMatch,
  varyOf,
} from './decide.js';
import { normaliseValue } from './fields.js';
import { cacheGlobalSchema, cacheRouteSchema } from './schema.js';
import { primaryKey } from './store/entry.js';
import { MemoryCacheStore } from './store/memory.js';
import { RedisCacheStore } from './store/redis.js';
import { waitForFill } from './store/wait.js';
import type { CacheStore, Headers, StoredResponse } from './types.js';

const STAGE_ID = 'cache';
/** Entries are also tagged with their URL under this prefix: invalidating a URL is a purge by tag, whatever the partition. */
export const URL_TAG = 'url ';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** Most tags read from one response's tag header. */
const MAX_TAGS = 32;
/** Most fills waited on at once in one process (a bound on the coalescing map). */
const MAX_FILLS = 10_000;

export interface GlobalCache {
  readonly store: 'memory' | 'redis';
  readonly max_bytes: number;
  readonly max_entry_bytes: number;
  readonly max_variants: number;
  readonly heuristic: boolean;
  readonly heuristic_max_ms: number;
  readonly keep_stale_ms: number;
  readonly stale_if_error_ms: number;
  readonly lock_ms: number;
  readonly tag_header: string | null;
  readonly status_header: boolean;
}

type RouteCache =
  | 'on'
  | 'off'
  | {
      readonly ttl_ms?: number;
      readonly max_ttl_ms?: number;
      readonly key?: readonly string[];
      readonly heuristic?: boolean;
      readonly stale_if_error_ms?: number;
    }
  | undefined;

type KeyPart = { readonly kind: 'tenant' } | { readonly kind: 'consumer' } | { readonly kind: 'header'; readonly name: string };

const DEFAULT_KEY: readonly string[] = ['tenant', 'consumer'];

/** V8's old-generation growing factor with a memory cache: 1.2 (measured: bench cache-memory; why in src/core/heap.ts). */
const HEAP_GROWING_PERCENT = 20;

function keyParts(names: readonly string[]): KeyPart[] {
  return names.map((n) => (n === 'tenant' ? { kind: 'tenant' } : n === 'consumer' ? { kind: 'consumer' } : { kind: 'header', name: n.slice(7).toLowerCase() }));
}

/** A fill in progress in this process: requests for the same key wait for it. */
class Fill {
  private promise: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private over = false;

  /** Resolves when the fill is over; made only when a request waits (most fills have no waiter). */
  get done(): Promise<void> {
    if (this.over) return Promise.resolve();
    this.promise ??= new Promise<void>((r) => {
      this.wake = r;
    });
    return this.promise;
  }

  resolve(): void {
    this.over = true;
    this.wake?.();
  }
}

/** The cache's state of one request that went upstream (a miss or a revalidation). */
interface Pending {
  readonly primary: string;
  readonly url: string;
  readonly req: RequestDirectives;
  /** the stored response being revalidated, or a stale one kept for stale-if-error */
  readonly entry: StoredResponse | null;
  readonly requestTime: number;
  readonly fwd: NonNullable<CacheStatusParts['fwd']>;
  readonly collapsed: boolean;
  /** the upstream request's validators are the entry's alone: a 304 without validators answers for it */
  readonly ownConditional: boolean;
  /** no variant matched: the stored variants whose ETags the request carried (RFC 9111 §4.3.1) */
  readonly candidates: readonly StoredResponse[] | null;
  fill: Fill | null;
  release: (() => Promise<void>) | null;
  done: boolean;
  /** a store write is in flight: the fill ends when it does, not when the client's response ends */
  storing: boolean;
}

/** What every cached route of one store shares; kept across reloads with its store. */
export interface Shared {
  readonly store: CacheStore;
  readonly fills: Map<string, Fill>;
  readonly metrics: CacheMetrics;
}

interface CacheMetrics {
  readonly requests: { inc(labels: { route: string; result: string }): void };
  readonly stored: { inc(labels: { route: string }): void };
  readonly evictions: { inc(labels: { reason: string }, n?: number): void };
  readonly bytes: { set(v: number): void };
  readonly entries: { set(v: number): void };
  readonly errors: { inc(labels: { op: string }): void };
}

function isThenable<T>(v: unknown): v is PromiseLike<T> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

function metricsOf(services: Services): CacheMetrics {
  const m = services.metrics;
  return {
    requests: m.counter('portcullis_cache_requests_total', 'Cacheable requests by route and result (hit, stale, miss, revalidated, collapsed, bypass).', [
      'route',
      'result',
    ]),
    stored: m.counter('portcullis_cache_stored_total', 'Responses stored by the cache, by route.', ['route']),
    evictions: m.counter('portcullis_cache_evictions_total', 'Entries evicted from the memory cache store, by reason (capacity, variants, expired).', [
      'reason',
    ]),
    bytes: m.gauge('portcullis_cache_bytes', 'Bytes held by the memory cache store.'),
    entries: m.gauge('portcullis_cache_entries', 'URLs and partitions held by the memory cache store.'),
    errors: m.counter('portcullis_cache_store_errors_total', 'Cache store operations that failed (the request then passes uncached), by operation.', ['op']),
  };
}

/** The store of a config: kept across reloads while its settings are unchanged, replaced (and the old one closed) when they change. */
export function sharedFor(services: Services, g: GlobalCache, keyPrefix: string): Shared {
  const holder = services.keep('stages.cache', (): { key: string; shared: Shared | null } => ({ key: '', shared: null }));
  const key =
    g.store === 'redis' ? `redis:${keyPrefix}:${g.max_entry_bytes}:${g.max_variants}` : `memory:${g.max_bytes}:${g.max_entry_bytes}:${g.max_variants}`;
  if (holder.shared !== null && holder.key === key) return holder.shared;
  let store: CacheStore;
  const metrics = metricsOf(services);
  // check() makes cache.store redis need state.store redis; only `portcullis validate`, which runs
  // the stages on a memory state store, gets here with a Redis cache and no Redis
  const state = services.store;
  if (g.store === 'redis' && state.kind === 'redis') {
    store = new RedisCacheStore({ client: (state as RedisStore).client, keyPrefix, maxEntryBytes: g.max_entry_bytes, maxVariants: g.max_variants });
  } else {
    // the store's blocks are off the V8 heap; what churn leaves on it is bounded by V8's growing factor (src/core/heap.ts)
    if (!limitHeapGrowth(HEAP_GROWING_PERCENT)) services.logger.warn({ event: 'heap_growth_not_limited', v8: process.versions.v8 });
    store = new MemoryCacheStore({
      maxBytes: g.max_bytes,
      maxEntryBytes: g.max_entry_bytes,
      maxVariants: g.max_variants,
      onEvict: (count, _bytes, reason) => metrics.evictions.inc({ reason }, count),
    });
  }
  const old = holder.shared;
  holder.key = key;
  holder.shared = { store, fills: new Map(), metrics };
  // requests of the old snapshot may still use the old store: it closes once they are done with it
  if (old !== null) setTimeout(() => void old.store.close().catch(() => undefined), 60_000).unref();
  return holder.shared;
}

/** The request's URL as entries name it: host, canonical path and query (`host/path?query`). */
function urlOf(ctx: RequestContext): string {
  return ctx.query === '' ? `${ctx.host}${ctx.path}` : `${ctx.host}${ctx.path}?${ctx.query}`;
}

/** Whether the request carries credentials (RFC 9111 §3.5 and its spirit: cookies and client certificates too). */
function credentialed(ctx: RequestContext): boolean {
  if (ctx.principal !== null) return true;
  const h = ctx.req.headers;
  return h.authorization !== undefined || h.cookie !== undefined || ctx.tlsSocket?.getPeerCertificate?.()?.raw !== undefined;
}

function tagsOf(h: Headers, name: string | null): string[] {
  if (name === null) return [];
  const v = normaliseValue(h[name]);
  if (v === null) return [];
  const out: string[] = [];
  for (const t of v.split(/[\s,]+/)) if (t !== '' && t.length <= 256 && out.length < MAX_TAGS && !out.includes(t)) out.push(t);
  return out;
}

class CacheStage implements RouteStage {
  readonly id = STAGE_ID;
  readonly phase = 'inspect' as const;
  readonly mode = 'enforce' as const;
  /** requests that went upstream, until their response ends (ctx.onCleanup): a Map is cheaper per request than a WeakMap */
  private readonly pending = new Map<RequestContext, Pending>();
  private readonly unsafe = new WeakMap<RequestContext, string>();
  private readonly store: CacheStore;

  constructor(
    private readonly routeId: string,
    private readonly shared: Shared,
    private readonly g: GlobalCache,
    private readonly settings: CacheSettings,
    private readonly parts: readonly KeyPart[],
    private readonly services: Services,
    private readonly logger: Logger,
  ) {
    this.store = shared.store;
  }

  run(ctx: RequestContext): Decision | Promise<Decision> {
    const method = ctx.method;
    if (method !== 'GET' && method !== 'HEAD') {
      if (!SAFE_METHODS.has(method)) this.unsafe.set(ctx, urlOf(ctx));
      return undefined;
    }
    const url = urlOf(ctx);
    const primary = primaryKey(url, this.partition(ctx));
    let got: readonly StoredResponse[] | Promise<readonly StoredResponse[]>;
    try {
      got = this.store.get(primary);
    } catch (e) {
      return this.bypass(ctx, 'get', e);
    }
    if (isThenable<readonly StoredResponse[]>(got)) {
      return Promise.resolve(got).then(
        (v) => this.withVariants(ctx, url, primary, v, false),
        (e: unknown) => this.bypass(ctx, 'get', e),
      );
    }
    return this.withVariants(ctx, url, primary, got, false);
  }

  /** The key's part after the URL: the configured parts, in order. */
  private partition(ctx: RequestContext): string {
    let out = '';
    for (const p of this.parts) {
      if (p.kind === 'tenant') out += `t=${ctx.principal?.tenant ?? ''}\u0001`;
      else if (p.kind === 'consumer') out += `c=${ctx.principal?.consumer ?? ''}\u0001`;
      else out += `h=${normaliseValue(ctx.req.headers[p.name]) ?? ''}\u0001`;
    }
    return out;
  }

  private bypass(ctx: RequestContext, op: string, e: unknown): Decision {
    this.shared.metrics.errors.inc({ op });
    this.shared.metrics.requests.inc({ route: this.routeId, result: 'bypass' });
    this.logger.warn({ event: 'cache_store_error', request_id: ctx.id, op, err: e instanceof Error ? e.message : String(e) });
    if (this.g.status_header) ctx.responseHeaders['cache-status'] = cacheStatus({ fwd: 'bypass', detail: 'store error' });
    return undefined;
  }

  private withVariants(ctx: RequestContext, url: string, primary: string, variants: readonly StoredResponse[], waited: boolean): Decision | Promise<Decision> {
    const reqHeaders = ctx.req.headers as Headers;
    const req = readRequest(reqHeaders);
    const now = this.services.clock();
    const entry = variants.length > 0 ? matchVariant(variants, reqHeaders) : null;
    const r: LookupResult | null = entry === null ? null : lookup(entry, req, now, this.settings);
    if (onlyIfCachedFails(req, r)) {
      this.count(ctx, 'miss');
      return deny('PC_ERR_NOT_CACHED', { reason: 'only-if-cached' });
    }
    if (entry !== null && r !== null && (r.kind === 'fresh' || r.kind === 'stale' || r.kind === 'stale-while-revalidate')) {
      this.count(ctx, waited ? 'collapsed' : r.kind === 'fresh' ? 'hit' : 'stale');
      const swr = r.kind === 'stale-while-revalidate';
      if (swr) this.refresh(ctx, url, primary, entry);
      return this.serve(ctx, entry, now, {
        hit: true,
        ttlS: r.ttlS,
        ...(waited ? { collapsed: true } : {}),
        ...(swr ? { detail: 'stale-while-revalidate' } : {}),
      });
    }
    const fwd: Pending['fwd'] = r !== null && (r.kind === 'revalidate' || r.kind === 'miss') ? r.fwd : variants.length > 0 ? 'vary-miss' : 'uri-miss';
    if (r !== null && r.kind === 'revalidate' && entry !== null) {
      const cond = conditionalHeaders(entry);
      const up = ctx.upstreamHeaders;
      if (cond['if-none-match'] !== undefined) up['if-none-match'] = cond['if-none-match'];
      if (cond['if-modified-since'] !== undefined) up['if-modified-since'] = cond['if-modified-since'];
      // the server evaluates If-None-Match first (RFC 9110 §13.2.2): a client's one left in place decides the 304
      const ownConditional = cond['if-none-match'] !== undefined || (cond['if-modified-since'] !== undefined && reqHeaders['if-none-match'] === undefined);
      this.track(ctx, {
        primary,
        url,
        req,
        entry,
        requestTime: now,
        fwd,
        collapsed: waited,
        ownConditional,
        candidates: null,
        fill: null,
        release: null,
        done: false,
        storing: false,
      });
      return undefined;
    }
    // no variant answers: ask with the stored variants' ETags, a 304 names the one to reuse (§4.3.1)
    let candidates: readonly StoredResponse[] | null = null;
    if (entry === null && variants.length > 0 && reqHeaders['if-none-match'] === undefined && reqHeaders['if-modified-since'] === undefined) {
      const tags = candidateEtags(variants);
      if (tags !== null) {
        ctx.upstreamHeaders['if-none-match'] = tags;
        candidates = variants;
      }
    }
    // a miss: one request fills the entry, the others for the same key wait for it
    const p = this.track(ctx, {
      primary,
      url,
      req,
      entry,
      requestTime: now,
      fwd,
      collapsed: waited,
      ownConditional: false,
      candidates,
      fill: null,
      release: null,
      done: false,
      storing: false,
    });
    if (waited || req.noCache || req.noStore) return undefined;
    const running = this.shared.fills.get(primary);
    if (running !== undefined) return this.awaitFill(ctx, url, primary, running.done);
    this.lead(p);
    if (this.store.kind !== 'redis') return undefined;
    return this.store.lock(primary, this.g.lock_ms).then(
      (release): Decision | Promise<Decision> => {
        if (release !== null) {
          p.release = release;
          return undefined;
        }
        return waitForFill(this.store, primary, { timeoutMs: this.g.lock_ms, ready: (v) => matchVariant(v, reqHeaders) !== null }).then(
          (w): Decision | Promise<Decision> => {
            if (w.kind === 'lock') p.release = w.release;
            if (w.kind !== 'hit') return undefined;
            this.finish(p);
            this.pending.delete(ctx);
            return this.withVariants(ctx, url, primary, w.entries, true);
          },
          (e: unknown) => this.bypass(ctx, 'wait', e),
        );
      },
      (e: unknown) => this.bypass(ctx, 'lock', e),
    );
  }

  /**
   * Stale-while-revalidate (RFC 5861 §3): refreshes `entry` in the background with a conditional
   * request, at most one per key (the fill map in process, the store's lock across instances): a
   * 304 freshens it, a storable response replaces it, one that may not be stored (no-store,
   * private...) removes it, a 5xx or a failure leaves it as it is.
   */
  private refresh(ctx: RequestContext, url: string, primary: string, entry: StoredResponse): void {
    const route = ctx.route;
    const fills = this.shared.fills;
    if (route === null || fills.has(primary) || fills.size >= MAX_FILLS) return;
    const fill = new Fill();
    fills.set(primary, fill);
    // read from the client's exchange now: the refresh outlives it
    const reqHeaders = { ...(ctx.req.headers as Headers) };
    const cred = credentialed(ctx);
    const requestId = ctx.id;
    const cond = conditionalHeaders(entry);
    const validators: Record<string, string> = {};
    if (cond['if-none-match'] !== undefined) validators['if-none-match'] = cond['if-none-match'];
    if (cond['if-modified-since'] !== undefined) validators['if-modified-since'] = cond['if-modified-since'];
    const forwarder = route.forwarder;
    const requestTime = this.services.clock();
    let release: (() => Promise<void>) | null = null;
    const locked = this.store.kind === 'redis' ? this.store.lock(primary, this.g.lock_ms) : Promise.resolve(null);
    const work = locked
      .then((r) => {
        release = r;
        if (this.store.kind === 'redis' && r === null) return; // another instance refreshes it
        return forwarder.fetch(ctx, { method: 'GET', headers: validators, maxBytes: this.g.max_entry_bytes }).then((res) => {
          const now = this.services.clock();
          let next: StoredResponse | null = null;
          if (res.status === 304) {
            if (!validatorsMatch(entry, res.headers, true)) return;
            next = freshen(entry, res.headers, requestTime, now);
          } else if (res.status >= 500) return;
          const candidate: StoredResponse = next ?? {
            status: res.status,
            headers: storedHeaders(res.headers),
            body: res.body,
            requestTime,
            responseTime: now,
            vary: null,
            tags: [...tagsOf(res.headers, this.g.tag_header), URL_TAG + url],
            url,
          };
          const v = storable(
            {
              method: 'GET',
              status: candidate.status,
              reqHeaders,
              resHeaders: next === null ? res.headers : next.headers,
              credentialed: cred,
              requestTime,
              responseTime: now,
            },
            this.settings,
          );
          const vary = next === null ? varyOf(res.headers, reqHeaders) : next.vary;
          if (!v.store || vary === '*') return Promise.resolve(this.store.delete(primary)).then(() => undefined);
          return Promise.resolve(this.store.put(primary, { ...candidate, vary }, v.keepMs)).then(() => {
            this.shared.metrics.stored.inc({ route: this.routeId });
            this.gauges();
          });
        });
      })
      .catch((e: unknown) => {
        this.shared.metrics.errors.inc({ op: 'refresh' });
        this.logger.warn({ event: 'cache_refresh_failed', request_id: requestId, err: e instanceof Error ? e.message : String(e) });
      });
    void work.finally(() => {
      if (fills.get(primary) === fill) fills.delete(primary);
      fill.resolve();
      const rel = release as (() => Promise<void>) | null;
      if (rel !== null) rel().catch(() => undefined);
    });
  }

  /** Waits (at most lock_ms) for another request's fill of the same key, then looks again. */
  private awaitFill(ctx: RequestContext, url: string, primary: string, done: Promise<void>): Promise<Decision> {
    const ac = new AbortController();
    return Promise.race([done, sleep(this.g.lock_ms, undefined, { signal: ac.signal }).catch(() => undefined)]).then(() => {
      ac.abort();
      const p = this.pending.get(ctx);
      if (p !== undefined) this.pending.delete(ctx);
      let got: readonly StoredResponse[] | Promise<readonly StoredResponse[]>;
      try {
        got = this.store.get(primary);
      } catch (e) {
        return this.bypass(ctx, 'get', e);
      }
      return Promise.resolve(got).then(
        (v) => this.withVariants(ctx, url, primary, v, true),
        (e: unknown) => this.bypass(ctx, 'get', e),
      );
    });
  }

  private track(ctx: RequestContext, full: Pending): Pending {
    this.pending.set(ctx, full);
    // the client's response may end before the entry is written (Redis): then the write ends the fill
    ctx.onCleanup(() => {
      this.pending.delete(ctx);
      if (!full.storing) this.finish(full);
    });
    return full;
  }

  /** This request fills the key: others wait for it. */
  private lead(p: Pending): void {
    const fills = this.shared.fills;
    if (fills.size >= MAX_FILLS) return;
    const fill = new Fill();
    fills.set(p.primary, fill);
    p.fill = fill;
  }

  /** The request's fill is over (stored, not storable, failed or abandoned): waiters look again. */
  private finish(p: Pending): void {
    if (p.done) return;
    p.done = true;
    const f = p.fill;
    if (f !== null) {
      if (this.shared.fills.get(p.primary) === f) this.shared.fills.delete(p.primary);
      f.resolve();
    }
    const release = p.release;
    if (release !== null) release().catch(() => undefined);
  }

  private count(_ctx: RequestContext, result: string): void {
    this.shared.metrics.requests.inc({ route: this.routeId, result });
  }

  /** A stored response as the answer (or 304 when the client's own validators match it). */
  private serve(ctx: RequestContext, entry: StoredResponse, now: number, status: CacheStatusParts, reason = 'cache hit'): Respond {
    ctx.annotations[STAGE_ID] = { status: status.hit === true ? 'hit' : (status.fwd ?? 'miss') };
    // Age and Cache-Status go with the stage response headers, which the pipeline writes after (and
    // over) the stored ones: the stored headers are handed over as they are, not copied per hit
    const extra = ctx.responseHeaders;
    extra['age'] = ageHeader(entry, now);
    if (this.g.status_header) extra['cache-status'] = cacheStatus(status);
    if (answersNotModified(entry, ctx.req.headers as Headers)) return respond(304, { headers: notModifiedHeaders(entry), reason });
    return respond(entry.status, { headers: entry.headers, body: entry.body, reason });
  }

  onResponse(ctx: RequestContext, res: ResponseMeta): Respond | BodyTap | undefined {
    const unsafeUrl = this.unsafe.get(ctx);
    if (unsafeUrl !== undefined) {
      for (const u of invalidations(ctx.method, res.status, unsafeUrl, res.headers)) {
        this.store.purgeTag(URL_TAG + u).catch((e: unknown) => this.bypass(ctx, 'invalidate', e));
      }
      return undefined;
    }
    const p = this.pending.get(ctx);
    if (p === undefined) return undefined;
    const now = this.services.clock();
    const reqHeaders = ctx.req.headers as Headers;
    const status = res.status;
    if (p.entry !== null && status === 304 && validatorsMatch(p.entry, res.headers, p.ownConditional)) {
      const fresh = freshen(p.entry, res.headers, p.requestTime, now);
      this.restore(ctx, p, fresh);
      this.count(ctx, 'revalidated');
      return this.serve(ctx, fresh, now, { fwd: 'stale', fwdStatus: 304, stored: true }, 'cache revalidated');
    }
    if (p.candidates !== null && status === 304) {
      const chosen = selectCandidate(p.candidates, res.headers);
      const vary = chosen === null ? '*' : varyOf(chosen.headers, reqHeaders);
      if (chosen !== null && vary !== '*') {
        // the origin chose a stored variant for this request: stored again under this request's Vary values
        const fresh: StoredResponse = { ...freshen(chosen, res.headers, p.requestTime, now), vary };
        this.restore(ctx, p, fresh);
        this.count(ctx, 'revalidated');
        return this.serve(ctx, fresh, now, { fwd: p.fwd, fwdStatus: 304, stored: true }, 'cache revalidated');
      }
    }
    if (ctx.method === 'HEAD') {
      if (p.entry !== null && status === 200) {
        const e = freshenFromHead(p.entry, res.headers, p.requestTime, now);
        if (e === null) this.drop(ctx, p);
        else {
          // the stored GET response, updated by the HEAD's fields (§4.3.5), answers the HEAD
          this.restore(ctx, p, e);
          return this.serve(ctx, e, now, { fwd: p.fwd, fwdStatus: status, stored: true }, 'cache updated by HEAD');
        }
      }
      this.markStatus(res, { fwd: p.fwd, fwdStatus: status });
      this.finish(p);
      return undefined;
    }
    if (p.entry !== null && status >= 500 && staleIfErrorAllowed(p.entry, p.req, status, now, this.settings)) {
      this.finish(p);
      this.count(ctx, 'stale');
      return this.serve(ctx, p.entry, now, { fwd: 'stale', fwdStatus: status }, 'cache stale-if-error');
    }
    const verdict = storable(
      { method: 'GET', status, reqHeaders, resHeaders: res.headers, credentialed: credentialed(ctx), requestTime: p.requestTime, responseTime: now },
      this.settings,
    );
    this.count(ctx, p.collapsed ? 'collapsed' : 'miss');
    ctx.annotations[STAGE_ID] = { status: p.fwd, stored: verdict.store, ...(verdict.store ? {} : { reason: verdict.reason }) };
    if (!verdict.store) {
      // a stored entry that a new response says must not be stored goes (no-store, private ...)
      if (p.entry !== null && status < 500) this.drop(ctx, p);
      this.markStatus(res, { fwd: p.fwd, fwdStatus: status, detail: verdict.reason });
      this.finish(p);
      return undefined;
    }
    const vary = varyOf(res.headers, reqHeaders);
    if (vary === '*') {
      this.finish(p);
      return undefined;
    }
    const headers = storedHeaders(res.headers);
    const tags = tagsOf(res.headers, this.g.tag_header);
    tags.push(URL_TAG + p.url);
    this.markStatus(res, { fwd: p.fwd, fwdStatus: status, stored: true });
    const max = this.g.max_entry_bytes;
    const chunks: Buffer[] = [];
    let size = 0;
    return {
      kind: 'tap',
      chunk: (b) => {
        size += b.length;
        if (size > max) {
          chunks.length = 0;
          this.finish(p);
          return false;
        }
        // a copy: undici's chunk is a view of the socket's read buffer, and holding it until the
        // response ends kept those buffers alive into V8's old generation (bench cache-memory)
        chunks.push(Buffer.from(b));
        return true;
      },
      end: () => {
        const entry: StoredResponse = {
          status,
          headers,
          body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size),
          requestTime: p.requestTime,
          responseTime: now,
          vary,
          tags,
          url: p.url,
        };
        this.put(ctx, p, entry, verdict.keepMs);
      },
      abort: () => this.finish(p),
    };
  }

  onUpstreamFailure(ctx: RequestContext, reason: string): Respond | undefined {
    const p = this.pending.get(ctx);
    if (p === undefined) return undefined;
    this.finish(p);
    if (p.entry === null) return undefined;
    const now = this.services.clock();
    const m = /^upstream status (\d{3})$/.exec(reason);
    const cause = m === null ? 'connection' : Number(m[1]);
    if (!staleIfErrorAllowed(p.entry, p.req, cause, now, this.settings)) return undefined;
    this.count(ctx, 'stale');
    return this.serve(
      ctx,
      p.entry,
      now,
      { fwd: 'stale', ...(typeof cause === 'number' ? { fwdStatus: cause } : { detail: 'upstream unreachable' }) },
      'cache stale-if-error',
    );
  }

  private markStatus(res: ResponseMeta, parts: CacheStatusParts): void {
    if (this.g.status_header) res.headers['cache-status'] = cacheStatus(parts);
  }

  /** Stores a refreshed entry (after a 304 or a HEAD) for as long as the response allows. */
  private restore(ctx: RequestContext, p: Pending, e: StoredResponse): void {
    const v = storable(
      {
        method: 'GET',
        status: e.status,
        reqHeaders: ctx.req.headers as Headers,
        resHeaders: e.headers,
        credentialed: credentialed(ctx),
        requestTime: e.requestTime,
        responseTime: e.responseTime,
      },
      this.settings,
    );
    if (v.store) this.put(ctx, p, e, v.keepMs);
    else this.drop(ctx, p);
  }

  private put(ctx: RequestContext, p: Pending, entry: StoredResponse, ttlMs: number): void {
    const done = (): void => {
      this.shared.metrics.stored.inc({ route: this.routeId });
      this.gauges();
      this.finish(p);
    };
    try {
      const r = this.store.put(p.primary, entry, ttlMs);
      if (isThenable<void>(r)) {
        p.storing = true;
        Promise.resolve(r).then(done, (e: unknown) => {
          this.bypass(ctx, 'put', e);
          this.finish(p);
        });
      } else done();
    } catch (e) {
      this.bypass(ctx, 'put', e);
      this.finish(p);
    }
  }

  private drop(ctx: RequestContext, p: Pending): void {
    Promise.resolve()
      .then(() => this.store.delete(p.primary))
      .catch((e: unknown) => this.bypass(ctx, 'delete', e));
  }

  private gauges(): void {
    if (this.store.kind !== 'memory') return;
    const s = this.store.stats();
    this.shared.metrics.bytes.set(s.bytes);
    this.shared.metrics.entries.set(s.entries);
  }
}

function routeSettings(g: GlobalCache, rc: Exclude<RouteCache, 'off' | undefined>): CacheSettings {
  const r = rc === 'on' ? {} : rc;
  return {
    heuristic: r.heuristic ?? g.heuristic,
    heuristicMaxMs: g.heuristic_max_ms,
    defaultTtlMs: r.ttl_ms ?? null,
    maxTtlMs: r.max_ttl_ms ?? null,
    keepStaleMs: g.keep_stale_ms,
    staleIfErrorMs: r.stale_if_error_ms ?? g.stale_if_error_ms,
  };
}

export const cacheStage: StageModule = {
  id: STAGE_ID,
  phase: 'inspect',
  order: 1000, // last before the upstream: a hit has passed every check of the request
  schema: { global: { cache: cacheGlobalSchema() }, route: { cache: cacheRouteSchema() } },

  check(config, env) {
    if ((config['cache'] as GlobalCache).store === 'redis' && config.state.store !== 'redis')
      throw configErrorAt(env.file, ['cache', 'store'], "cache.store 'redis' needs the state store on Redis (state: { store: redis, ... })");
    config.routes.forEach((route, i) => {
      const rc = route['cache'] as RouteCache;
      if (rc === undefined || rc === 'off' || rc === 'on' || rc.key === undefined) return;
      if (!isPublicRoute(route) && !rc.key.includes('tenant') && !rc.key.includes('consumer'))
        throw configErrorAt(
          env.file,
          ['routes', i, 'cache', 'key'],
          "an authenticated route's cache key must include tenant or consumer: a response stored for one principal would be served to another",
        );
    });
  },

  create(env): StageInstance {
    const g = env.config['cache'] as GlobalCache;
    const cached = env.config.routes.filter((r) => r['cache'] !== undefined && r['cache'] !== 'off');
    if (cached.length === 0) return { forRoute: () => null };
    const shared = sharedFor(env.services, g, env.config.state.redis.key_prefix);
    return {
      forRoute(route: RouteConfig): RouteStage | null {
        const rc = route['cache'] as RouteCache;
        if (rc === undefined || rc === 'off') return null;
        const names = rc === 'on' || rc.key === undefined ? DEFAULT_KEY : rc.key;
        return new CacheStage(route.id, shared, g, routeSettings(g, rc), keyParts(names), env.services, env.services.logger);
      },
    };
  },
};
