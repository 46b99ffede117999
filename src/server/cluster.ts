/**
 * `workers: N`: a primary process supervises N workers that share the traffic ports
 * (node:cluster hands connections out round robin). Limits stay global: with the memory store
 * the primary owns the one store and the workers ask it over IPC (src/store/cluster.ts); with
 * Redis every worker talks to Redis. The primary serves /healthz, /readyz and /metrics
 * aggregated over the workers on the admin port, and forwards the rest of the admin API to
 * worker 1. SIGHUP is relayed to the workers; SIGTERM/SIGINT drain them; a worker that dies is
 * replaced.
 */
import cluster, { type Worker } from 'node:cluster';
import * as http from 'node:http';
import client from 'prom-client';
import type { Logger } from '../core/services.js';
import type { LoadedConfig } from '../config/load.js';
import { Gateway } from '../gateway.js';
import { createLogger } from '../observe/logger.js';
import { MemoryStore } from '../store/memory.js';
import { ClusterStore, serveClusterStore } from '../store/cluster.js';
import { createServices } from '../create-services.js';
import { adminIdentity, adminPolicy, asksOtherTenant, decideAdminAccess, metricsView, type AdminPolicy } from '../admin/access.js';
import { forbidTenant, refuseAdmin } from '../admin/server.js';
import type { CanonicalConfig } from '../core/config.js';
import { CLOSE_MS, WATCHDOG_SLACK_MS } from './stop.js';

const MSG = '__portcullisCluster';
type Msg = { [MSG]: 1; kind: 'reload' | 'stop' | 'admin-port' | 'ready' | 'admin-policy'; port?: number; admin?: CanonicalConfig['admin'] };
const isMsg = (m: unknown): m is Msg => typeof m === 'object' && m !== null && (m as Record<string, unknown>)[MSG] === 1;

export async function runPrimary(loaded: LoadedConfig, logger: Logger = createLogger('stderr', 'gateway')): Promise<void> {
  const cfg = loaded.config;
  const n = cfg.workers;
  let stopping = false;
  let workerAdminPort: number | null = null;
  // the admin access policy of the config worker 0 runs (it sends it at start and after each reload)
  let policy: AdminPolicy = adminPolicy(cfg.admin);
  const ready = new Set<number>();
  const memory = cfg.state.store === 'redis' ? null : new MemoryStore({ maxEntries: cfg.state.memory.max_entries });
  const stopServing = memory ? serveClusterStore(memory) : null;
  const aggregator = new client.AggregatorRegistry();
  const fork = (index: number): Worker => {
    const w = cluster.fork({ PORTCULLIS_WORKER_INDEX: String(index) });
    w.on('message', (m: unknown) => {
      if (isMsg(m) && m.kind === 'admin-port' && m.port) workerAdminPort = m.port;
      if (isMsg(m) && m.kind === 'ready') ready.add(index);
      if (isMsg(m) && m.kind === 'admin-policy' && m.admin) policy = adminPolicy(m.admin);
    });
    w.on('exit', (code, signal) => {
      ready.delete(index);
      if (stopping) return;
      logger.error({ event: 'worker_exited', worker: index, code, signal });
      setTimeout(() => !stopping && fork(index), 500).unref();
    });
    return w;
  };
  for (let i = 0; i < n; i++) fork(i);

  let admin: http.Server | null = null;
  if (cfg.admin.enabled) {
    admin = http.createServer((req, res) => {
      const url = req.url ?? '/';
      const path = url.split('?')[0] as string;
      const query = new URLSearchParams(url.slice(path.length + 1));
      const access = decideAdminAccess(policy, req.method, path, req.headers.authorization);
      if (access === 'denied') return refuseAdmin(res);
      const who = access === 'granted' ? adminIdentity(policy, req.headers.authorization) : null;
      if (asksOtherTenant(who, query)) return forbidTenant(res);
      if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      if (path === '/readyz') {
        const ok = !stopping && ready.size === n;
        return void res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(ok ? '{"status":"ready"}' : '{"status":"not ready"}');
      }
      if (path === '/metrics') {
        aggregator.clusterMetrics().then(
          (text) => {
            const view = metricsView(who, query.get('tenant'), text);
            if (view === 'forbidden') return forbidTenant(res);
            res.writeHead(200, { 'content-type': aggregator.contentType }).end(view);
          },
          (e: unknown) => {
            logger.warn({ event: 'metrics_aggregation_failed', err: e instanceof Error ? e.message : String(e) });
            res.writeHead(503).end();
          },
        );
        return;
      }
      if (workerAdminPort === null) return void res.writeHead(503).end();
      const up = http.request({ host: '127.0.0.1', port: workerAdminPort, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
      req.pipe(up);
    });
    await new Promise<void>((resolve) => admin!.listen(cfg.admin.port, cfg.admin.address, resolve));
  }
  logger.info({ event: 'primary_started', workers: n, store: memory ? 'memory (primary)' : 'redis' });

  const broadcast = (kind: Msg['kind']): void => {
    for (const w of Object.values(cluster.workers ?? {})) w?.send({ [MSG]: 1, kind } satisfies Msg);
  };
  process.on('SIGHUP', () => broadcast('reload'));
  // the primary's deadline: the workers' own stop deadline (grace_ms + CLOSE_MS), plus slack for
  // their exit; workers still running then are killed and named; a second signal does that at once
  const stopDeadlineMs = cfg.shutdown.grace_ms + CLOSE_MS + WATCHDOG_SLACK_MS;
  const forceExit = (why: string): void => {
    const left = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    logger.error({ event: 'stop_incomplete', reason: why, unfinished: left.map((w) => `worker pid ${w.process.pid}`) });
    for (const w of left) w.process.kill('SIGKILL');
    logger.flush?.();
    process.exit(1);
  };
  let unclean = false;
  const stop = (): void => {
    if (stopping) {
      forceExit('second signal');
      return;
    }
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.on('exit', (code) => (unclean ||= code !== 0));
    broadcast('stop');
    setTimeout(() => forceExit('deadline'), stopDeadlineMs).unref();
    const check = setInterval(() => {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        clearInterval(check);
        stopServing?.();
        admin?.close();
        void memory?.close();
        logger.info({ event: unclean ? 'stopped_unclean' : 'stopped' });
        logger.flush?.();
        process.exit(unclean ? 1 : 0);
      }
    }, 50);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

export async function runWorker(file: string): Promise<Gateway> {
  const index = Number(process.env.PORTCULLIS_WORKER_INDEX ?? 0);
  const { loadConfigFile } = await import('../config/load.js');
  const { STAGES } = await import('../stages/index.js');
  const loaded = loadConfigFile(file, STAGES);
  const logger = createLogger('stderr', 'gateway').child({ worker: index });
  const services = await createServices(loaded.config, logger, loaded.baseDir);
  if (loaded.config.state.store !== 'redis') {
    await services.store.close();
    services.store = new ClusterStore({ timeoutMs: 1500 });
  }
  client.AggregatorRegistry.setRegistries([services.metrics.registry]);
  new client.AggregatorRegistry(); // registers the worker side of metrics aggregation
  // only worker 0 serves the admin API, on a private port the primary forwards to; it tells the
  // primary the admin access policy of every config it runs (the primary checks /metrics itself)
  const sendPolicy = (c: CanonicalConfig): void => void process.send?.({ [MSG]: 1, kind: 'admin-policy', admin: c.admin } satisfies Msg);
  const gw = await Gateway.start({
    file,
    services,
    handleSignals: false,
    ...(index === 0 ? { adminPortOverride: 0, adminAddressOverride: '127.0.0.1', onReload: sendPolicy } : { adminDisabled: true }),
  });
  if (index === 0) sendPolicy(gw.config);
  if (index === 0 && gw.adminPort() !== null) process.send?.({ [MSG]: 1, kind: 'admin-port', port: gw.adminPort() ?? 0 } satisfies Msg);
  process.send?.({ [MSG]: 1, kind: 'ready' } satisfies Msg);
  process.on('message', (m: unknown) => {
    if (!isMsg(m)) return;
    if (m.kind === 'reload') void gw.reload(undefined, 'signal');
    if (m.kind === 'stop') void gw.stopAndExit();
  });
  // the primary relays signals; a terminal's Ctrl-C reaches every process of the group
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => {
    if (gw.shuttingDown()) process.exit(1); // a second SIGTERM: at once
    void gw.stopAndExit();
  });
  return gw;
}

export { cluster };
