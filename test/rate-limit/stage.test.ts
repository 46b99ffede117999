import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { LimitStage, Runtime } from '../../src/stages/rate-limit/index.js';
import { globalPlan, routePlan } from '../../src/stages/rate-limit/compile.js';
import { Metrics } from '../../src/observe/metrics.js';
import { MemoryStore } from '../../src/store/memory.js';
import { StoreUnavailableError, type Lease, type LimitCheck, type LimitResult, type StateStore } from '../../src/core/state.js';
import type { Services } from '../../src/core/services.js';
import type { CanonicalConfig, RouteConfig } from '../../src/core/config.js';
import type { RequestContext } from '../../src/core/stage.js';

/** A shared store whose decisions the test controls. */
class FakeShared implements StateStore {
  readonly kind = 'redis' as const;
  up = true;
  fail = false;
  released: Lease[] = [];
  readonly inner = new MemoryStore({ maxEntries: 100 });
  pending: (() => void)[] = [];
  hold = false;
  limit(checks: readonly LimitCheck[], now: number): Promise<LimitResult> {
    if (this.fail) return Promise.reject(new StoreUnavailableError('down'));
    const r = this.inner.limitSync(checks, now);
    if (!this.hold) return Promise.resolve(r);
    return new Promise((resolve) => this.pending.push(() => resolve({ ...r, lease: r.lease && { id: 'L1', keys: r.lease.keys } })));
  }
  release(lease: Lease): void {
    this.released.push(lease);
  }
  healthy(): boolean {
    return this.up;
  }
  once = () => Promise.resolve(true);
  incr = () => Promise.resolve(1);
  set = () => Promise.resolve();
  get = () => Promise.resolve(null);
  del = () => Promise.resolve();
  scan = () => Promise.resolve([]);
  close = () => Promise.resolve();
}

function setup(limits: unknown[]): { stage: LimitStage; store: FakeShared; services: Services } {
  const store = new FakeShared();
  const kept = new Map<string, unknown>();
  const services: Services = {
    logger: pino({ level: 'silent' }),
    metrics: new Metrics(),
    store,
    audit: () => undefined,
    keep<T>(k: string, make: () => T): T {
      if (!kept.has(k)) kept.set(k, make());
      return kept.get(k) as T;
    },
    clock: () => Date.UTC(2026, 10, 28, 12),
  };
  const route = { id: 'r', match: { prefix: '/' }, upstream: 'u', rate_limit: limits } as unknown as RouteConfig;
  const config = { routes: [route], upstreams: { u: {} } } as unknown as CanonicalConfig;
  const g = globalPlan(config);
  const p = routePlan(g, route);
  const stage = new LimitStage(new Runtime(services), g, 'r', 'limit.rate', 'limits', [...p.preAuth, ...p.limits], false, null);
  return { stage, store, services };
}

function ctx(closed = false): RequestContext & { cleanupFns: (() => void)[] } {
  const cleanupFns: (() => void)[] = [];
  return {
    clientIp: '10.0.0.1',
    method: 'GET',
    principal: null,
    responseHeaders: {},
    res: { closed },
    header: () => undefined,
    onCleanup: (fn: () => void) => cleanupFns.push(fn),
    recordMonitor: () => undefined,
    cleanupFns,
  } as unknown as RequestContext & { cleanupFns: (() => void)[] };
}

test('a concurrency slot granted after the client left is released at once', async () => {
  const { stage, store } = setup([{ name: 'c', key: ['ip'], concurrency: 2 }]);
  store.hold = true;
  const c = ctx();
  const p = stage.run(c) as Promise<unknown>;
  (c.res as { closed: boolean }).closed = true; // the client disconnects while Redis decides
  store.pending.shift()!();
  assert.equal(await p, undefined);
  assert.equal(store.released.length, 1);
  assert.equal(c.cleanupFns.length, 0);
});

test('a concurrency slot is released exactly once when the exchange ends', async () => {
  const { stage, store } = setup([{ name: 'c', key: ['ip'], concurrency: 2 }]);
  const c = ctx();
  assert.equal(await stage.run(c), undefined);
  assert.equal(store.released.length, 0);
  for (const f of c.cleanupFns) f();
  for (const f of c.cleanupFns) f();
  assert.equal(store.released.length, 1);
});

test('an unreachable store sends fail-open limits to local limits and fail-closed limits to 503', async () => {
  const open = setup([{ name: 'o', key: ['ip'], rate: '1/min', burst: 2 }]);
  open.store.up = false;
  assert.equal(await open.stage.run(ctx()), undefined);
  assert.equal(await open.stage.run(ctx()), undefined);
  const third = await open.stage.run(ctx());
  assert.equal(third !== undefined && 'code' in third ? third.code : undefined, 'PC_ERR_RATE_LIMITED', 'the local limit still applies');

  const closed = setup([
    { name: 'o', key: ['ip'], rate: '1/min', burst: 2 },
    { name: 'c', key: ['route'], rate: '1/min', burst: 2, on_store_failure: 'closed' },
  ]);
  closed.store.fail = true; // healthy() says yes, the command fails
  const d = await closed.stage.run(ctx());
  assert.equal(d !== undefined && 'code' in d ? d.code : undefined, 'PC_ERR_LIMIT_UNAVAILABLE');
  assert.equal(d?.headers?.['retry-after'], '1');
  const metrics = await closed.services.metrics.render();
  assert.match(metrics, /portcullis_ratelimit_store_fallbacks_total\{policy="closed"\} 1/);
});

test('a monitor limit that would refuse records a monitor event and lets the request through', async () => {
  const { stage } = setup([{ name: 'm', key: ['ip'], rate: '1/min', burst: 1, mode: 'monitor' }]);
  const events: string[] = [];
  const mk = () => Object.assign(ctx(), { recordMonitor: (_s: string, d: { code: string }) => events.push(d.code) });
  assert.equal(await stage.run(mk()), undefined);
  assert.equal(await stage.run(mk()), undefined);
  assert.deepEqual(events, ['PC_ERR_RATE_LIMITED']);
});
